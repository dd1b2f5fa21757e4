// MaxViT — "Multi-Axis Vision Transformer" (Tu et al., 2022). Mirrors
// torchvision/models/maxvit.py: a two-convolution stem, four blocks of layers that each run
// an MBConv (pre-norm BatchNorm eps 1e-3 / momentum 0.01, GELU, squeeze-excitation with
// SiLU), then attention within 7×7 windows, then attention across a 7×7 dilated grid (each
// with a relative-position bias table, pre-LayerNorm, an MLP, stochastic depth rising
// linearly to 0.2), and a head of average pool → LayerNorm → Linear → tanh → Linear
// (no bias). The partition size must divide every block's feature map: inputs whose
// stride-2 convolutions leave 56, 28, 14 and 7 px (multiples of 7 at every block).
import Foundation
import NN
import Torch

/// torchvision's MaxViT `MBConv`: `proj` (avg pool + 1×1 when downsampling), `layers`
/// (`pre_norm`, `conv_a`, `conv_b`, `squeeze_excitation`, `conv_c`), stochastic depth.
final class MaxViTMBConv: Module {
    let proj: Sequential?
    let stochastic_depth: StochasticDepth
    let layers: Sequential

    init(_ input: Int, _ output: Int, stride: Int, stochasticDepthProbability: Double) {
        if stride != 1 || input != output {
            let conv = Conv2d(input, output, kernelSize: 1, bias: true)
            proj = stride == 2 ? Sequential(AvgPool2d(kernelSize: 3, stride: 2, padding: 1), conv) : Sequential(conv)
        } else {
            proj = nil
        }
        stochastic_depth = StochasticDepth(p: stochasticDepthProbability)
        let mid = output * 4, squeeze = output / 4
        layers = Sequential(named: [
            ("pre_norm", BatchNorm2d(input, eps: 1e-3, momentum: 0.01)),
            ("conv_a", ConvNormActivation(input, mid, kernelSize: 1, eps: 1e-3, momentum: 0.01, activation: .gelu)),
            ("conv_b", ConvNormActivation(mid, mid, kernelSize: 3, stride: stride, groups: mid, eps: 1e-3,
                                          momentum: 0.01, activation: .gelu)),
            ("squeeze_excitation", SqueezeExcitation(mid, squeeze, activation: .silu)),
            ("conv_c", Conv2d(mid, output, kernelSize: 1, bias: true)),
        ])
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        (proj?(x) ?? x) + stochastic_depth(layers(x))
    }
}

/// torchvision's `RelativePositionalMultiHeadAttention` on (B, G, P, D): q, k, v are the
/// three chunks of `to_qkv`, keys scaled by D^-½ (the feature width, as torchvision), plus
/// the relative-position bias; through libtorch's fused attention.
final class RelativePositionalAttention: Module {
    @Parameter(key: "relative_position_bias_table") var biasTable: Tensor
    @Buffer(key: "relative_position_index") var positionIndex: Tensor
    let to_qkv: Linear
    let merge: Linear
    let heads: Int, headDim: Int, size: Int

    init(_ dim: Int, headDim: Int, partition: Int) {
        heads = dim / headDim
        self.headDim = headDim
        size = partition
        to_qkv = Linear(dim, 3 * dim)
        merge = Linear(dim, dim)
        super.init()
        biasTable = Tensor.empty([(2 * size - 1) * (2 * size - 1), heads])
        Init.truncatedNormal(biasTable, std: 0.02)
        positionIndex = relativePositionIndex(window: size).view([size * size, size * size])
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, g, p, d) = (x.size(0), x.size(1), x.size(2), x.size(3))
        let qkv = to_qkv(x).chunked(3, dim: -1).map { $0.reshape([b, g, p, heads, headDim]).permute([0, 1, 3, 2, 4]) }
        let bias = gatherRelativeBias(biasTable, index: positionIndex.view([-1]), window: size, heads: heads)
        let out = Functional.scaledDotProductAttention(qkv[0], qkv[1], qkv[2], mask: bias.to(x.dtype),
                                                       scale: 1 / Double(d).squareRoot())
        return merge(out.permute([0, 1, 3, 2, 4]).reshape([b, g, p, d]))
    }
}

/// torchvision's `PartitionAttentionLayer`: window (`p` = partition) or grid (`p` = the
/// feature map side / partition, then the two middle axes swapped) partitioning,
/// attention and MLP with residuals, back to (B, C, H, W).
final class PartitionAttentionLayer: Module {
    let attn_layer: Sequential
    let mlp_layer: Sequential
    let stochastic_dropout: StochasticDepth
    let partition: Int
    let grid: Bool

    init(_ dim: Int, headDim: Int, partition: Int, grid: Bool, stochasticDepthProbability: Double) {
        self.partition = partition
        self.grid = grid
        attn_layer = Sequential(LayerNorm(dim), RelativePositionalAttention(dim, headDim: headDim, partition: partition),
                                Dropout(p: 0))
        mlp_layer = Sequential(LayerNorm(dim), Linear(dim, 4 * dim), Activation(.gelu), Linear(4 * dim, dim),
                               Dropout(p: 0))
        stochastic_dropout = StochasticDepth(p: stochasticDepthProbability)
    }

    override func callAsFunction(_ input: Tensor) -> Tensor {
        let (b, c, h, w) = (input.size(0), input.size(1), input.size(2), input.size(3))
        let p = grid ? max(1, h / partition) : partition  // max: a failed earlier op leaves h = 0
        let (gh, gw) = (h / p, w / p)
        var x = input.reshape([b, c, gh, p, gw, p]).permute([0, 2, 4, 3, 5, 1]).reshape([b, gh * gw, p * p, c])
        if grid { x = x.transposed(-2, -3) }
        x = x + stochastic_dropout(attn_layer(x))
        x = x + stochastic_dropout(mlp_layer(x))
        if grid { x = x.transposed(-2, -3) }
        return x.reshape([b, gh, gw, p, p, c]).permute([0, 5, 1, 3, 2, 4]).reshape([b, c, gh * p, gw * p])
    }
}

/// torchvision's `MaxVitLayer`: `layers.MBconv`, `layers.window_attention`, `layers.grid_attention`.
final class MaxViTLayer: Module {
    let layers: Sequential

    init(_ input: Int, _ output: Int, stride: Int, headDim: Int, partition: Int, stochasticDepthProbability p: Double) {
        layers = Sequential(named: [
            ("MBconv", MaxViTMBConv(input, output, stride: stride, stochasticDepthProbability: p)),
            ("window_attention", PartitionAttentionLayer(output, headDim: headDim, partition: partition, grid: false,
                                                         stochasticDepthProbability: p)),
            ("grid_attention", PartitionAttentionLayer(output, headDim: headDim, partition: partition, grid: true,
                                                       stochasticDepthProbability: p)),
        ])
    }

    override func callAsFunction(_ x: Tensor) -> Tensor { layers(x) }
}

public final class MaxViT: ImageClassifier {
    let stem: Sequential
    let blocks: [Module]
    let classifier: Sequential
    public let partition: Int

    public init(stemChannels: Int = 64, channels: [Int] = [64, 128, 256, 512], layers: [Int] = [2, 2, 5, 2],
                headDim: Int = 32, partition: Int = 7, stochasticDepthProbability: Double = 0.2, numClasses: Int = 1000) {
        self.partition = partition
        stem = Sequential(
            ConvNormActivation(3, stemChannels, kernelSize: 3, stride: 2, eps: 1e-3, momentum: 0.01, activation: .gelu),
            Sequential(Conv2d(stemChannels, stemChannels, kernelSize: 3, padding: 1, bias: true)))
        let total = layers.reduce(0, +)
        // numpy.linspace(0, p, total): start + i · step.
        let step = total > 1 ? stochasticDepthProbability / Double(total - 1) : 0
        var index = 0
        var input = stemChannels
        var made: [Module] = []
        for (output, count) in zip(channels, layers) {
            made.append(MaxViTBlock(layers: (0..<count).map { i in
                defer { index += 1 }
                return MaxViTLayer(i == 0 ? input : output, output, stride: i == 0 ? 2 : 1, headDim: headDim,
                                   partition: partition, stochasticDepthProbability: Double(index) * step)
            }))
            input = output
        }
        blocks = made
        let last = channels[channels.count - 1]
        classifier = Sequential(AdaptiveAvgPool2d(1), Flatten(), LayerNorm(last), Linear(last, last),
                                Activation(.tanh), Linear(last, numClasses, bias: false))
        super.init()
        for (_, m) in namedModules() {
            if let conv = m as? Conv2d {
                Init.normal(conv.weight, std: 0.02)
                if let b = conv.bias { Init.constant(b, 0) }
            } else if let bn = m as? BatchNorm2d {
                Init.constant(bn.weight, 1)
                Init.constant(bn.bias, 0)
            } else if let linear = m as? Linear {
                Init.normal(linear.weight, std: 0.02)
                if let b = linear.bias { Init.constant(b, 0) }
            }
        }
    }

    public override var classifierKey: String { "classifier.5" }
    public override var firstConvKey: String { "stem.0.0" }
    public override var stageKeys: [String] { ["stem", "blocks.0", "blocks.1", "blocks.2", "blocks.3"] }
    /// The pre-logits (LayerNorm, Linear, tanh) train with the new classifier.
    public override var headKeys: [String] { ["classifier"] }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        let y = blocks.reduce(stem(x)) { $1($0) }
        return Functional.adaptiveAvgPool2d(y, outputSize: (1, 1)).flatten(startDim: 1)
    }
    public override func head(_ features: Tensor) -> Tensor {
        (2..<classifier.count).reduce(features) { classifier[$1]($0) }
    }
    public override func replaceClassifier(with head: Module) { classifier.replace(5, with: head) }

    /// Whether `size` × `size` inputs leave feature maps the partition divides at every
    /// block (each stride-2 3×3 convolution: ⌊(s − 1) / 2⌋ + 1).
    public static func acceptsInputSize(_ size: Int, partition: Int = 7, blocks: Int = 4) -> Bool {
        var s = (size - 1) / 2 + 1
        for _ in 0..<blocks {
            s = (s - 1) / 2 + 1
            if s % partition != 0 { return false }
        }
        return true
    }

    public static func t(numClasses: Int = 1000) -> MaxViT { MaxViT(numClasses: numClasses) }
}

/// torchvision's `MaxVitBlock`: `layers.N`.
final class MaxViTBlock: Module {
    let layers: [Module]
    init(layers: [Module]) { self.layers = layers }
    override func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}
