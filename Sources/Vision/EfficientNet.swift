// EfficientNet — "Rethinking Model Scaling for Convolutional Neural Networks"
// (Tan & Le, 2019) and EfficientNetV2 (Tan & Le, 2021: fused MBConv early, BatchNorm eps 1e-3, a 1280-channel last convolution). Mirrors torchvision/models/efficientnet.py (B0–B7): MBConv
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

/// torchvision's `FusedMBConv` (EfficientNetV2's early stages): a full k×k convolution in
/// place of the 1×1 expansion and depthwise pair, no squeeze-excitation.
final class FusedMBConv: Module {
    let block: Sequential
    let stochastic_depth: StochasticDepth
    let useResidual: Bool

    init(expandRatio: Double, kernel: Int, stride: Int, input: Int, output: Int, stochasticDepthProbability: Double,
         eps: Double, momentum: Double?) {
        useResidual = stride == 1 && input == output
        let expanded = makeDivisible(Double(input) * expandRatio, 8)
        if expanded != input {
            block = Sequential(
                ConvNormActivation(input, expanded, kernelSize: kernel, stride: stride, eps: eps, momentum: momentum,
                                   activation: .silu),
                ConvNormActivation(expanded, output, kernelSize: 1, eps: eps, momentum: momentum, activation: nil))
        } else {
            block = Sequential(ConvNormActivation(input, output, kernelSize: kernel, stride: stride, eps: eps,
                                                  momentum: momentum, activation: .silu))
        }
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

    /// One stage of torchvision's `inverted_residual_setting`.
    public struct Stage: Sendable {
        public var fused: Bool
        public var expandRatio: Double
        public var kernel: Int
        public var stride: Int
        public var input: Int
        public var output: Int
        public var layers: Int
    }

    /// - Parameters: width and depth multipliers of the B-variant; `eps`/`momentum` of its BatchNorm.
    public convenience init(widthMultiplier: Double, depthMultiplier: Double, dropout: Double, numClasses: Int = 1000,
                            stochasticDepthProbability: Double = 0.2, eps: Double = 1e-5, momentum: Double? = 0.1) {
        // expand, kernel, stride, in, out, layers (torchvision's _efficientnet_conf)
        let table: [(Double, Int, Int, Int, Int, Int)] = [
            (1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
            (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1),
        ]
        func channels(_ c: Int) -> Int { makeDivisible(Double(c) * widthMultiplier, 8) }
        func depth(_ n: Int) -> Int { Int(Foundation.ceil(Double(n) * depthMultiplier)) }
        self.init(stages: table.map { Stage(fused: false, expandRatio: $0.0, kernel: $0.1, stride: $0.2,
                                             input: channels($0.3), output: channels($0.4), layers: depth($0.5)) },
                  lastChannel: nil, dropout: dropout, numClasses: numClasses,
                  stochasticDepthProbability: stochasticDepthProbability, eps: eps, momentum: momentum)
    }

    /// The general network: `stages` as torchvision's settings, the last 1×1 convolution
    /// to `lastChannel` (default 4 × the last stage's output).
    public init(stages: [Stage], lastChannel: Int?, dropout: Double, numClasses: Int = 1000,
                stochasticDepthProbability: Double = 0.2, eps: Double = 1e-5, momentum: Double? = 0.1) {
        var layers: [Module] = [ConvNormActivation(3, stages[0].input, stride: 2, eps: eps, momentum: momentum,
                                                   activation: .silu)]
        let total = stages.reduce(0) { $0 + $1.layers }
        var blockID = 0
        for stage in stages {
            var blocks: [Module] = []
            for i in 0..<stage.layers {
                let p = stochasticDepthProbability * Double(blockID) / Double(total)
                let (input, stride) = i == 0 ? (stage.input, stage.stride) : (stage.output, 1)
                blocks.append(stage.fused
                    ? FusedMBConv(expandRatio: stage.expandRatio, kernel: stage.kernel, stride: stride, input: input,
                                  output: stage.output, stochasticDepthProbability: p, eps: eps, momentum: momentum)
                    : MBConv(expandRatio: stage.expandRatio, kernel: stage.kernel, stride: stride, input: input,
                             output: stage.output, stochasticDepthProbability: p, eps: eps, momentum: momentum))
                blockID += 1
            }
            layers.append(Sequential(blocks))
        }
        let lastIn = stages[stages.count - 1].output
        let lastOut = lastChannel ?? 4 * lastIn
        layers.append(ConvNormActivation(lastIn, lastOut, kernelSize: 1, eps: eps, momentum: momentum,
                                         activation: .silu))
        features = Sequential(layers)
        classifier = Sequential(Dropout(p: dropout), Linear(lastOut, numClasses))
        super.init()
        initialiseConvNet(self) { linear in
            let range = 1 / Foundation.sqrt(Double(linear.outFeatures))
            Init.uniform(linear.weight, -range, range)
            if let b = linear.bias { Init.constant(b, 0) }
        }
    }

    static func v2(_ table: [(Bool, Double, Int, Int, Int, Int, Int)], dropout: Double, numClasses: Int) -> EfficientNet {
        EfficientNet(stages: table.map { Stage(fused: $0.0, expandRatio: $0.1, kernel: $0.2, stride: $0.3, input: $0.4,
                                               output: $0.5, layers: $0.6) },
                     lastChannel: 1280, dropout: dropout, numClasses: numClasses, eps: 1e-3)
    }
    public static func v2S(numClasses: Int = 1000) -> EfficientNet {
        v2([(true, 1, 3, 1, 24, 24, 2), (true, 4, 3, 2, 24, 48, 4), (true, 4, 3, 2, 48, 64, 4),
            (false, 4, 3, 2, 64, 128, 6), (false, 6, 3, 1, 128, 160, 9), (false, 6, 3, 2, 160, 256, 15)],
           dropout: 0.2, numClasses: numClasses)
    }
    public static func v2M(numClasses: Int = 1000) -> EfficientNet {
        v2([(true, 1, 3, 1, 24, 24, 3), (true, 4, 3, 2, 24, 48, 5), (true, 4, 3, 2, 48, 80, 5),
            (false, 4, 3, 2, 80, 160, 7), (false, 6, 3, 1, 160, 176, 14), (false, 6, 3, 2, 176, 304, 18),
            (false, 6, 3, 1, 304, 512, 5)],
           dropout: 0.3, numClasses: numClasses)
    }
    public static func v2L(numClasses: Int = 1000) -> EfficientNet {
        v2([(true, 1, 3, 1, 32, 32, 4), (true, 4, 3, 2, 32, 64, 7), (true, 4, 3, 2, 64, 96, 7),
            (false, 4, 3, 2, 96, 192, 10), (false, 6, 3, 1, 192, 224, 19), (false, 6, 3, 2, 224, 384, 25),
            (false, 6, 3, 1, 384, 640, 7)],
           dropout: 0.4, numClasses: numClasses)
    }

    public override var classifierKey: String { "classifier.1" }
    public override var firstConvKey: String { "features.0.0" }
    public override var stageKeys: [String] { childKeys(of: "features") }

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
