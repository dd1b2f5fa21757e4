// DenseNet — "Densely Connected Convolutional Networks" (Huang et al., 2016).
// Mirrors torchvision/models/densenet.py (DenseNet-BC): `features.conv0`,
// `features.denseblockN.denselayerM.norm1`, ..., `classifier`.
import NN
import Torch

final class DenseLayer: Module {
    let norm1: BatchNorm2d
    let conv1: Conv2d
    let norm2: BatchNorm2d
    let conv2: Conv2d
    let dropRate: Double

    init(_ inputFeatures: Int, growthRate: Int, bnSize: Int, dropRate: Double) {
        norm1 = BatchNorm2d(inputFeatures)
        conv1 = Conv2d(inputFeatures, bnSize * growthRate, kernelSize: 1, bias: false)
        norm2 = BatchNorm2d(bnSize * growthRate)
        conv2 = Conv2d(bnSize * growthRate, growthRate, kernelSize: 3, padding: 1, bias: false)
        self.dropRate = dropRate
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        let bottleneck = conv1(norm1(x).relu())
        let y = conv2(norm2(bottleneck).relu())
        return dropRate > 0 ? Functional.dropout(y, p: dropRate, training: isTraining) : y
    }
}

/// Each layer sees the concatenation of every earlier output.
final class DenseBlock: Sequential {
    init(layers: Int, inputFeatures: Int, bnSize: Int, growthRate: Int, dropRate: Double) {
        super.init(named: (0..<layers).map { i in
            ("denselayer\(i + 1)", DenseLayer(inputFeatures + i * growthRate, growthRate: growthRate, bnSize: bnSize,
                                             dropRate: dropRate))
        })
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        var features = [x]
        for layer in layers { features.append(layer(Tensor.cat(features, dim: 1))) }
        return Tensor.cat(features, dim: 1)
    }
}

public final class DenseNet: ImageClassifier {
    let features: Sequential
    var classifier: Module

    public init(growthRate: Int = 32, blockConfig: [Int] = [6, 12, 24, 16], initialFeatures: Int = 64,
                bnSize: Int = 4, dropRate: Double = 0, numClasses: Int = 1000) {
        var named: [(String, Module)] = [
            ("conv0", Conv2d(3, initialFeatures, kernelSize: 7, stride: 2, padding: 3, bias: false)),
            ("norm0", BatchNorm2d(initialFeatures)),
            ("relu0", Activation(.relu)),
            ("pool0", MaxPool2d(kernelSize: 3, stride: 2, padding: 1)),
        ]
        var n = initialFeatures
        for (i, layers) in blockConfig.enumerated() {
            named.append(("denseblock\(i + 1)", DenseBlock(layers: layers, inputFeatures: n, bnSize: bnSize,
                                                           growthRate: growthRate, dropRate: dropRate)))
            n += layers * growthRate
            if i != blockConfig.count - 1 {
                named.append(("transition\(i + 1)", Sequential(named: [
                    ("norm", BatchNorm2d(n)), ("relu", Activation(.relu)),
                    ("conv", Conv2d(n, n / 2, kernelSize: 1, bias: false)), ("pool", AvgPool2d(kernelSize: 2, stride: 2)),
                ])))
                n /= 2
            }
        }
        named.append(("norm5", BatchNorm2d(n)))
        features = Sequential(named: named)
        classifier = Linear(n, numClasses)
        super.init()
        for (_, m) in namedModules() {
            if let conv = m as? Conv2d {
                Init.kaimingNormal(conv.weight)
            } else if let bn = m as? BatchNorm2d {
                Init.constant(bn.weight, 1)
                Init.constant(bn.bias, 0)
            } else if let l = m as? Linear, let b = l.bias {
                Init.constant(b, 0)
            }
        }
    }

    public override var classifierKey: String { "classifier" }
    public override var firstConvKey: String { "features.conv0" }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        Functional.adaptiveAvgPool2d(features(x).relu(), outputSize: (1, 1)).flatten(startDim: 1)
    }
    public override func head(_ features: Tensor) -> Tensor { classifier(features) }
    public override func replaceClassifier(with head: Module) { classifier = head }

    public static func densenet121(numClasses: Int = 1000) -> DenseNet { DenseNet(numClasses: numClasses) }
    public static func densenet161(numClasses: Int = 1000) -> DenseNet {
        DenseNet(growthRate: 48, blockConfig: [6, 12, 36, 24], initialFeatures: 96, numClasses: numClasses)
    }
    public static func densenet169(numClasses: Int = 1000) -> DenseNet {
        DenseNet(growthRate: 32, blockConfig: [6, 12, 32, 32], initialFeatures: 64, numClasses: numClasses)
    }
    public static func densenet201(numClasses: Int = 1000) -> DenseNet {
        DenseNet(growthRate: 32, blockConfig: [6, 12, 48, 32], initialFeatures: 64, numClasses: numClasses)
    }

    /// torchvision's published DenseNet files use older keys (`denselayer1.norm.1.weight`)
    /// that torchvision rewrites while loading; this is that one rewrite
    /// (`…denselayerN.(norm|relu|conv).(1|2).…` → `…denselayerN.norm1.…`).
    public static func upgradeLegacyKey(_ key: String) -> String {
        guard let range = key.range(of: #"denselayer\d+\.(norm|relu|conv)\.[12]\.(weight|bias|running_mean|running_var)$"#,
                                    options: .regularExpression) else { return key }
        var tail = String(key[range])
        for name in ["norm", "relu", "conv"] {
            tail = tail.replacingOccurrences(of: ".\(name).1.", with: ".\(name)1.")
                .replacingOccurrences(of: ".\(name).2.", with: ".\(name)2.")
        }
        return String(key[..<range.lowerBound]) + tail
    }
}
