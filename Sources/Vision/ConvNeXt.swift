// ConvNeXt — "A ConvNet for the 2020s" (Liu et al., 2022). Mirrors
// torchvision/models/convnext.py: a 4×4 stride-4 patchify stem with LayerNorm2d, stages of
// CNBlocks (7×7 depthwise conv → LayerNorm → 4× Linear → GELU → Linear, layer scale,
// stochastic depth rising linearly from 0 over the blocks), LayerNorm2d + 2×2 stride-2
// downsampling between stages, and a LayerNorm2d → Flatten → Linear head. LayerNorm eps 1e-6.
import Foundation
import NN
import Torch

/// LayerNorm over the channels of an NCHW tensor, as torchvision's `LayerNorm2d`
/// (permute to NHWC, normalise the last dimension, permute back).
final class LayerNorm2d: Module {
    @Parameter var weight: Tensor
    @Parameter var bias: Tensor
    let eps: Double

    init(_ channels: Int, eps: Double = 1e-6) {
        self.eps = eps
        weight = Tensor.ones([channels])
        bias = Tensor.zeros([channels])
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        normalizeLast(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2])
    }

    /// The same normalisation over the last dimension ((N, C) pooled features, NHWC maps).
    func normalizeLast(_ x: Tensor) -> Tensor {
        Functional.layerNorm(x, normalizedShape: [weight.size(0)], weight: weight, bias: bias, eps: eps)
    }
}

/// torchvision's `CNBlock`: keys `block.0` (depthwise conv), `block.2` (LayerNorm),
/// `block.3` / `block.5` (the MLP), `layer_scale` of shape (dim, 1, 1).
final class CNBlock: Module {
    let block: Sequential
    @Parameter(key: "layer_scale") var layerScale: Tensor
    let stochastic_depth: StochasticDepth

    init(_ dim: Int, layerScale: Double, stochasticDepthProbability: Double) {
        block = Sequential(
            Conv2d(dim, dim, kernelSize: 7, padding: 3, groups: dim, bias: true),
            Permute([0, 2, 3, 1]),
            LayerNorm(dim, eps: 1e-6),
            Linear(dim, 4 * dim),
            Activation(.gelu),
            Linear(4 * dim, dim),
            Permute([0, 3, 1, 2]))
        stochastic_depth = StochasticDepth(p: stochasticDepthProbability)
        super.init()
        self.layerScale = Tensor.ones([dim, 1, 1]) * layerScale
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        stochastic_depth(layerScale * block(x)) + x
    }
}

public final class ConvNeXt: ImageClassifier {
    let features: Sequential
    let classifier: Sequential

    /// - Parameters:
    ///   - stages: (channels, blocks) per stage, e.g. [(96, 3), (192, 3), (384, 9), (768, 3)].
    public init(stages: [(channels: Int, blocks: Int)], stochasticDepthProbability: Double,
                layerScale: Double = 1e-6, numClasses: Int = 1000) {
        var layers: [Module] = [Sequential(
            Conv2d(3, stages[0].channels, kernelSize: 4, stride: 4, padding: 0, bias: true),
            LayerNorm2d(stages[0].channels))]
        let total = Double(stages.reduce(0) { $0 + $1.blocks })
        var blockID = 0.0
        for (i, stage) in stages.enumerated() {
            var blocks: [Module] = []
            for _ in 0..<stage.blocks {
                blocks.append(CNBlock(stage.channels, layerScale: layerScale,
                                      stochasticDepthProbability: stochasticDepthProbability * blockID / (total - 1)))
                blockID += 1
            }
            layers.append(Sequential(blocks))
            if i + 1 < stages.count {
                layers.append(Sequential(LayerNorm2d(stage.channels),
                                         Conv2d(stage.channels, stages[i + 1].channels, kernelSize: 2, stride: 2)))
            }
        }
        features = Sequential(layers)
        let last = stages[stages.count - 1].channels
        classifier = Sequential(LayerNorm2d(last), Flatten(), Linear(last, numClasses))
        super.init()
        initialiseTruncatedNormal(self)
    }

    public override var classifierKey: String { "classifier.2" }
    public override var firstConvKey: String { "features.0.0" }
    /// `features.0` (stem), `features.1` (stage 1), `features.2` (downsampling), ...
    public override var stageKeys: [String] { childKeys(of: "features") }
    public override var layerOrdinal: ((String) -> [Double])? { { torchvisionStagedOrdinal($0) } }
    /// The layer scale is C×1×1 here, timm's `gamma` is C: kept out of weight decay as timm's is.
    public override func excludesFromWeightDecay(_ key: String) -> Bool { key.hasSuffix(".layer_scale") }

    /// The head is torchvision's `classifier`: LayerNorm2d → Flatten → Linear. Its LayerNorm
    /// trains with the new classifier (as timm's `head.norm` does), and the pooled features
    /// (the feature cache's rows) are taken before it.
    public override var headKeys: [String] { ["classifier"] }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        Functional.adaptiveAvgPool2d(features(x), outputSize: (1, 1)).flatten(startDim: 1)
    }
    /// LayerNorm2d on a 1×1 map is a LayerNorm over the channels of the (N, C) features.
    public override func head(_ features: Tensor) -> Tensor {
        classifier[2]((classifier[0] as? LayerNorm2d)?.normalizeLast(features) ?? features)
    }
    public override func replaceClassifier(with head: Module) { classifier.replace(2, with: head) }

    public static func tiny(numClasses: Int = 1000) -> ConvNeXt {
        ConvNeXt(stages: [(96, 3), (192, 3), (384, 9), (768, 3)], stochasticDepthProbability: 0.1, numClasses: numClasses)
    }
    public static func small(numClasses: Int = 1000) -> ConvNeXt {
        ConvNeXt(stages: [(96, 3), (192, 3), (384, 27), (768, 3)], stochasticDepthProbability: 0.4, numClasses: numClasses)
    }
    public static func base(numClasses: Int = 1000) -> ConvNeXt {
        ConvNeXt(stages: [(128, 3), (256, 3), (512, 27), (1024, 3)], stochasticDepthProbability: 0.5,
                 numClasses: numClasses)
    }
    public static func large(numClasses: Int = 1000) -> ConvNeXt {
        ConvNeXt(stages: [(192, 3), (384, 3), (768, 27), (1536, 3)], stochasticDepthProbability: 0.5,
                 numClasses: numClasses)
    }
}

/// torchvision's init for ConvNeXt, ViT-style heads and Swin: every Conv2d and Linear
/// weight truncated-normal (std 0.02), biases zero.
func initialiseTruncatedNormal(_ model: Module, std: Double = 0.02) {
    for (_, m) in model.namedModules() {
        if let conv = m as? Conv2d {
            Init.truncatedNormal(conv.weight, std: std)
            if let b = conv.bias { Init.constant(b, 0) }
        } else if let linear = m as? Linear {
            Init.truncatedNormal(linear.weight, std: std)
            if let b = linear.bias { Init.constant(b, 0) }
        }
    }
}
