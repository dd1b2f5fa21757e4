// MobileNetV2 — "Inverted Residuals and Linear Bottlenecks" (Sandler et al., 2018);
// MobileNetV3 — "Searching for MobileNetV3" (Howard et al., 2019).
// Mirror torchvision/models/mobilenetv2.py and mobilenetv3.py (V3's BatchNorm:
// eps 1e-3, momentum 0.01; SE squeeze = make_divisible(expanded / 4, 8) with hardsigmoid).
import NN
import Torch

final class MobileNetV2Block: Module {
    let conv: Sequential
    let useResidual: Bool

    init(_ inp: Int, _ oup: Int, stride: Int, expandRatio: Int) {
        let hidden = inp * expandRatio
        useResidual = stride == 1 && inp == oup
        var layers: [Module] = []
        if expandRatio != 1 { layers.append(ConvNormActivation(inp, hidden, kernelSize: 1, activation: .relu6)) }
        layers.append(ConvNormActivation(hidden, hidden, stride: stride, groups: hidden, activation: .relu6))
        layers.append(Conv2d(hidden, oup, kernelSize: 1, bias: false))
        layers.append(BatchNorm2d(oup))
        conv = Sequential(layers)
    }

    override func callAsFunction(_ x: Tensor) -> Tensor { useResidual ? x + conv(x) : conv(x) }
}

public final class MobileNetV2: ImageClassifier {
    let features: Sequential
    let classifier: Sequential

    public init(numClasses: Int = 1000, widthMultiplier: Double = 1, dropout: Double = 0.2) {
        let setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                       [6, 320, 1, 1]]
        var input = makeDivisible(32 * widthMultiplier, 8)
        let last = makeDivisible(1280 * max(1, widthMultiplier), 8)
        var layers: [Module] = [ConvNormActivation(3, input, stride: 2, activation: .relu6)]
        for row in setting {
            let (t, c, n, s) = (row[0], row[1], row[2], row[3])
            let output = makeDivisible(Double(c) * widthMultiplier, 8)
            for i in 0..<n {
                layers.append(MobileNetV2Block(input, output, stride: i == 0 ? s : 1, expandRatio: t))
                input = output
            }
        }
        layers.append(ConvNormActivation(input, last, kernelSize: 1, activation: .relu6))
        features = Sequential(layers)
        classifier = Sequential(Dropout(p: dropout), Linear(last, numClasses))
        super.init()
        initialiseMobileNet(self)
    }

    public override var classifierKey: String { "classifier.1" }
    public override var firstConvKey: String { "features.0.0" }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        Functional.adaptiveAvgPool2d(features(x), outputSize: (1, 1)).flatten(startDim: 1)
    }
    public override func head(_ features: Tensor) -> Tensor { classifier(features) }
    public override func replaceClassifier(with head: Module) { classifier.replace(1, with: head) }
}

/// One row of MobileNetV3's architecture table.
struct MobileNetV3Config {
    let input: Int, kernel: Int, expanded: Int, output: Int, useSE: Bool, hardswish: Bool, stride: Int
    init(_ input: Int, _ kernel: Int, _ expanded: Int, _ output: Int, _ useSE: Bool, _ activation: String,
         _ stride: Int) {
        (self.input, self.kernel, self.expanded, self.output) = (input, kernel, expanded, output)
        (self.useSE, self.hardswish, self.stride) = (useSE, activation == "HS", stride)
    }
}

final class MobileNetV3Block: Module {
    let block: Sequential
    let useResidual: Bool

    init(_ c: MobileNetV3Config) {
        useResidual = c.stride == 1 && c.input == c.output
        let act: Activation.Kind = c.hardswish ? .hardswish : .relu
        var layers: [Module] = []
        if c.expanded != c.input {
            layers.append(ConvNormActivation(c.input, c.expanded, kernelSize: 1, eps: 1e-3, momentum: 0.01,
                                             activation: act))
        }
        layers.append(ConvNormActivation(c.expanded, c.expanded, kernelSize: c.kernel, stride: c.stride,
                                         groups: c.expanded, eps: 1e-3, momentum: 0.01, activation: act))
        if c.useSE {
            layers.append(SqueezeExcitation(c.expanded, makeDivisible(Double(c.expanded / 4), 8),
                                            scaleActivation: .hardsigmoid))
        }
        layers.append(ConvNormActivation(c.expanded, c.output, kernelSize: 1, eps: 1e-3, momentum: 0.01,
                                         activation: nil))
        block = Sequential(layers)
    }

    override func callAsFunction(_ x: Tensor) -> Tensor { useResidual ? block(x) + x : block(x) }
}

public final class MobileNetV3: ImageClassifier {
    let features: Sequential
    let classifier: Sequential

    init(_ setting: [MobileNetV3Config], lastChannel: Int, numClasses: Int, dropout: Double) {
        var layers: [Module] = [
            ConvNormActivation(3, setting[0].input, stride: 2, eps: 1e-3, momentum: 0.01, activation: .hardswish)
        ]
        layers += setting.map { MobileNetV3Block($0) }
        let lastIn = setting.last!.output
        layers.append(ConvNormActivation(lastIn, 6 * lastIn, kernelSize: 1, eps: 1e-3, momentum: 0.01,
                                         activation: .hardswish))
        features = Sequential(layers)
        classifier = Sequential(Linear(6 * lastIn, lastChannel), Activation(.hardswish), Dropout(p: dropout),
                                Linear(lastChannel, numClasses))
        super.init()
        initialiseMobileNet(self)
    }

    public override var classifierKey: String { "classifier.3" }
    public override var firstConvKey: String { "features.0.0" }

    /// Pooled features after the first fully connected layer and its hardswish.
    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        let pooled = Functional.adaptiveAvgPool2d(features(x), outputSize: (1, 1)).flatten(startDim: 1)
        return classifier[1](classifier[0](pooled))
    }
    public override func head(_ features: Tensor) -> Tensor { classifier[3](classifier[2](features)) }
    public override func replaceClassifier(with head: Module) { classifier.replace(3, with: head) }

    public static func large(numClasses: Int = 1000, dropout: Double = 0.2) -> MobileNetV3 {
        typealias C = MobileNetV3Config
        let s = [
            C(16, 3, 16, 16, false, "RE", 1), C(16, 3, 64, 24, false, "RE", 2), C(24, 3, 72, 24, false, "RE", 1),
            C(24, 5, 72, 40, true, "RE", 2), C(40, 5, 120, 40, true, "RE", 1), C(40, 5, 120, 40, true, "RE", 1),
            C(40, 3, 240, 80, false, "HS", 2), C(80, 3, 200, 80, false, "HS", 1), C(80, 3, 184, 80, false, "HS", 1),
            C(80, 3, 184, 80, false, "HS", 1), C(80, 3, 480, 112, true, "HS", 1), C(112, 3, 672, 112, true, "HS", 1),
            C(112, 5, 672, 160, true, "HS", 2), C(160, 5, 960, 160, true, "HS", 1), C(160, 5, 960, 160, true, "HS", 1),
        ]
        return MobileNetV3(s, lastChannel: 1280, numClasses: numClasses, dropout: dropout)
    }

    public static func small(numClasses: Int = 1000, dropout: Double = 0.2) -> MobileNetV3 {
        typealias C = MobileNetV3Config
        let s = [
            C(16, 3, 16, 16, true, "RE", 2), C(16, 3, 72, 24, false, "RE", 2), C(24, 3, 88, 24, false, "RE", 1),
            C(24, 5, 96, 40, true, "HS", 2), C(40, 5, 240, 40, true, "HS", 1), C(40, 5, 240, 40, true, "HS", 1),
            C(40, 5, 120, 48, true, "HS", 1), C(48, 5, 144, 48, true, "HS", 1), C(48, 5, 288, 96, true, "HS", 2),
            C(96, 5, 576, 96, true, "HS", 1), C(96, 5, 576, 96, true, "HS", 1),
        ]
        return MobileNetV3(s, lastChannel: 1024, numClasses: numClasses, dropout: dropout)
    }
}

/// torchvision's MobileNet init: convs kaiming-normal fan-out, BN (1, 0), Linear N(0, 0.01) with zero bias.
func initialiseMobileNet(_ model: Module) {
    initialiseConvNet(model) { linear in
        Init.normal(linear.weight, mean: 0, std: 0.01)
        if let b = linear.bias { Init.constant(b, 0) }
    }
}
