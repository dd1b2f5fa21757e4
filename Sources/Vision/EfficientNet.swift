// EfficientNet — "Rethinking Model Scaling for Convolutional Neural Networks"
// (Tan & Le, 2019). Mirrors torchvision/models/efficientnet.py (B0–B7): MBConv
// blocks with SiLU, squeeze = max(1, input / 4), stochastic depth rising linearly
// to 0.2 over the blocks; B5–B7 use BatchNorm eps 1e-3, momentum 0.01.
import Foundation
import NN
import Torch

final class MBConv: Module {
    let block: Sequential
    let stochastic_depth: StochasticDepth
    let useResidual: Bool

    init(expandRatio: Double, kernel: Int, stride: Int, input: Int, output: Int, stochasticDepthProbability: Double,
         eps: Double, momentum: Double?) {
        useResidual = stride == 1 && input == output
        let expanded = makeDivisible(Double(input) * expandRatio, 8)
        var layers: [Module] = []
        if expanded != input {
            layers.append(ConvNormActivation(input, expanded, kernelSize: 1, eps: eps, momentum: momentum,
                                             activation: .silu))
        }
        layers.append(ConvNormActivation(expanded, expanded, kernelSize: kernel, stride: stride, groups: expanded,
                                         eps: eps, momentum: momentum, activation: .silu))
        layers.append(SqueezeExcitation(expanded, max(1, input / 4), activation: .silu))
        layers.append(ConvNormActivation(expanded, output, kernelSize: 1, eps: eps, momentum: momentum,
                                         activation: nil))
        block = Sequential(layers)
        stochastic_depth = StochasticDepth(p: stochasticDepthProbability)
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        let y = block(x)
        return useResidual ? stochastic_depth(y) + x : y
    }
}

public final class EfficientNet: ImageClassifier {
    let features: Sequential
    let classifier: Sequential

    /// - Parameters: width and depth multipliers of the B-variant; `eps`/`momentum` of its BatchNorm.
    public init(widthMultiplier: Double, depthMultiplier: Double, dropout: Double, numClasses: Int = 1000,
                stochasticDepthProbability: Double = 0.2, eps: Double = 1e-5, momentum: Double? = 0.1) {
        // expand, kernel, stride, in, out, layers (torchvision's _efficientnet_conf)
        let table: [(Double, Int, Int, Int, Int, Int)] = [
            (1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
            (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1),
        ]
        func channels(_ c: Int) -> Int { makeDivisible(Double(c) * widthMultiplier, 8) }
        func depth(_ n: Int) -> Int { Int(Foundation.ceil(Double(n) * depthMultiplier)) }
        let first = channels(table[0].3)
        var layers: [Module] = [ConvNormActivation(3, first, stride: 2, eps: eps, momentum: momentum, activation: .silu)]
        let total = table.reduce(0) { $0 + depth($1.5) }
        var blockID = 0
        for (expand, kernel, stride, input, output, n) in table {
            var stage: [Module] = []
            for i in 0..<depth(n) {
                let p = stochasticDepthProbability * Double(blockID) / Double(total)
                stage.append(MBConv(expandRatio: expand, kernel: kernel, stride: i == 0 ? stride : 1,
                                    input: i == 0 ? channels(input) : channels(output), output: channels(output),
                                    stochasticDepthProbability: p, eps: eps, momentum: momentum))
                blockID += 1
            }
            layers.append(Sequential(stage))
        }
        let lastIn = channels(table.last!.4)
        layers.append(ConvNormActivation(lastIn, 4 * lastIn, kernelSize: 1, eps: eps, momentum: momentum,
                                         activation: .silu))
        features = Sequential(layers)
        classifier = Sequential(Dropout(p: dropout), Linear(4 * lastIn, numClasses))
        super.init()
        initialiseConvNet(self) { linear in
            let range = 1 / Foundation.sqrt(Double(linear.outFeatures))
            Init.uniform(linear.weight, -range, range)
            if let b = linear.bias { Init.constant(b, 0) }
        }
    }

    public override var classifierKey: String { "classifier.1" }
    public override var firstConvKey: String { "features.0.0" }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        Functional.adaptiveAvgPool2d(features(x), outputSize: (1, 1)).flatten(startDim: 1)
    }
    public override func head(_ features: Tensor) -> Tensor { classifier(features) }
    public override func replaceClassifier(with head: Module) { classifier.replace(1, with: head) }

    public static func b0(numClasses: Int = 1000) -> EfficientNet {
        EfficientNet(widthMultiplier: 1.0, depthMultiplier: 1.0, dropout: 0.2, numClasses: numClasses)
    }
    public static func b1(numClasses: Int = 1000) -> EfficientNet {
        EfficientNet(widthMultiplier: 1.0, depthMultiplier: 1.1, dropout: 0.2, numClasses: numClasses)
    }
    public static func b2(numClasses: Int = 1000) -> EfficientNet {
        EfficientNet(widthMultiplier: 1.1, depthMultiplier: 1.2, dropout: 0.3, numClasses: numClasses)
    }
    public static func b3(numClasses: Int = 1000) -> EfficientNet {
        EfficientNet(widthMultiplier: 1.2, depthMultiplier: 1.4, dropout: 0.3, numClasses: numClasses)
    }
    public static func b4(numClasses: Int = 1000) -> EfficientNet {
        EfficientNet(widthMultiplier: 1.4, depthMultiplier: 1.8, dropout: 0.4, numClasses: numClasses)
    }
    public static func b5(numClasses: Int = 1000) -> EfficientNet {
        EfficientNet(widthMultiplier: 1.6, depthMultiplier: 2.2, dropout: 0.4, numClasses: numClasses,
                     eps: 1e-3, momentum: 0.01)
    }
    public static func b6(numClasses: Int = 1000) -> EfficientNet {
        EfficientNet(widthMultiplier: 1.8, depthMultiplier: 2.6, dropout: 0.5, numClasses: numClasses,
                     eps: 1e-3, momentum: 0.01)
    }
    public static func b7(numClasses: Int = 1000) -> EfficientNet {
        EfficientNet(widthMultiplier: 2.0, depthMultiplier: 3.1, dropout: 0.5, numClasses: numClasses,
                     eps: 1e-3, momentum: 0.01)
    }
}
