// timm's VisionTransformer (timm 1.0.31, timm/models/vision_transformer.py) under timm's own
// keys, so timm's safetensors files load unchanged: DINOv2 (LayerScale, register tokens),
// OpenAI CLIP (pre-norm, no patch bias, LayerNorm eps 1e-5), AugReg, DeiT III (position
// embeddings without the class token). Blocks are pre-norm: x + ls1(attn(norm1(x))),
// x + ls2(mlp(norm2(x))); attention through libtorch's fused SDPA, as timm's fused path.
// Position embeddings are resampled to the input's grid (bicubic, antialiased, as timm's
// `resample_abs_pos_embed`), so any size that is at least one patch works.
import Foundation
import NN
import Torch

/// One timm ViT's shape, as its `model_args`.
public struct TimmViTConfig: Sendable, Equatable {
    public var patch: Int
    public var imageSize: Int
    public var embedDim: Int
    public var depth: Int
    public var heads: Int
    public var mlpRatio: Double = 4
    public var qkvBias = true
    public var classToken = true
    public var registerTokens = 0
    /// DeiT III and the register-token DINOv2: the position embeddings cover the patches only.
    public var noEmbedClass = false
    /// CLIP: a LayerNorm before the blocks, and no bias on the patch convolution.
    public var preNorm = false
    /// `token` (the class token) or `avg` (mean of the patch tokens, then `fc_norm`).
    public var averagePool = false
    /// LayerScale's initial value (DINOv2, DeiT III), or nil for none.
    public var layerScale: Double? = nil
    public var eps = 1e-6
    public var activation: Activation.Kind = .gelu
    /// 0: headless (DINOv2); the head is made at `Zoo.make`'s class count.
    public var numClasses: Int
}

/// timm's `Attention`: `qkv`, `proj`.
final class TimmAttention: Module {
    let qkv: Linear
    let proj: Linear
    let heads: Int

    init(_ dim: Int, heads: Int, qkvBias: Bool) {
        self.heads = heads
        qkv = Linear(dim, 3 * dim, bias: qkvBias)
        proj = Linear(dim, dim)
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        proj(MultiheadAttention.attend(x, weight: qkv.weight, bias: qkv.bias, heads: heads))
    }
}

/// timm's `LayerScale`: `gamma` (dim).
final class LayerScale: Module {
    @Parameter(key: "gamma") var gamma: Tensor
    init(_ dim: Int, value: Double) {
        super.init()
        gamma = Tensor.full([dim], value)
    }
    override func callAsFunction(_ x: Tensor) -> Tensor { x * gamma }
}

/// timm's `Mlp`: `fc1`, `fc2`.
final class TimmMLP: Module {
    let fc1: Linear
    let fc2: Linear
    let activation: Activation.Kind
    init(_ dim: Int, hidden: Int, activation: Activation.Kind) {
        fc1 = Linear(dim, hidden)
        fc2 = Linear(hidden, dim)
        self.activation = activation
    }
    override func callAsFunction(_ x: Tensor) -> Tensor { fc2(Activation(activation)(fc1(x))) }
}

/// timm's `Block`: `norm1`, `attn`, [`ls1`], `norm2`, `mlp`, [`ls2`], with drop path.
final class TimmBlock: Module {
    let norm1: LayerNorm
    let attn: TimmAttention
    let ls1: LayerScale?
    let drop_path1: StochasticDepth
    let norm2: LayerNorm
    let mlp: TimmMLP
    let ls2: LayerScale?
    let drop_path2: StochasticDepth

    init(_ config: TimmViTConfig, dropPath: Double) {
        let dim = config.embedDim
        norm1 = LayerNorm(dim, eps: config.eps)
        attn = TimmAttention(dim, heads: config.heads, qkvBias: config.qkvBias)
        ls1 = config.layerScale.map { LayerScale(dim, value: $0) }
        drop_path1 = StochasticDepth(p: dropPath)
        norm2 = LayerNorm(dim, eps: config.eps)
        mlp = TimmMLP(dim, hidden: Int(Double(dim) * config.mlpRatio), activation: config.activation)
        ls2 = config.layerScale.map { LayerScale(dim, value: $0) }
        drop_path2 = StochasticDepth(p: dropPath)
    }

    override func callAsFunction(_ input: Tensor) -> Tensor {
        var y = attn(norm1(input))
        if let ls1 { y = ls1(y) }
        let x = input + drop_path1(y)
        var z = mlp(norm2(x))
        if let ls2 { z = ls2(z) }
        return x + drop_path2(z)
    }
}

/// timm's `PatchEmbed`: `proj`.
final class PatchEmbed: Module {
    let proj: Conv2d
    init(patch: Int, dim: Int, bias: Bool) {
        proj = Conv2d(3, dim, kernelSize: patch, stride: patch, bias: bias)
    }
    override func callAsFunction(_ x: Tensor) -> Tensor { proj(x) }
}

public final class TimmVisionTransformer: ImageClassifier {
    @OptionalParameter(key: "cls_token") var classToken: Tensor? = nil
    @OptionalParameter(key: "reg_token") var registerToken: Tensor? = nil
    @Parameter(key: "pos_embed") var positionEmbedding: Tensor
    let patch_embed: PatchEmbed
    let norm_pre: LayerNorm?
    let blocks: Sequential
    let norm: LayerNorm?
    let fc_norm: LayerNorm?
    @Child(key: "head") var classifier: Module = Identity()
    public let config: TimmViTConfig

    /// - Parameters: `dropPath`: the stochastic-depth rate of the last block (timm's
    ///   `drop_path_rate`; rising linearly from 0).
    public init(_ config: TimmViTConfig, numClasses: Int = 1000, dropPath: Double = 0) {
        self.config = config
        let dim = config.embedDim
        patch_embed = PatchEmbed(patch: config.patch, dim: dim, bias: !config.preNorm)
        norm_pre = config.preNorm ? LayerNorm(dim, eps: config.eps) : nil
        blocks = Sequential((0..<config.depth).map { i in
            TimmBlock(config, dropPath: config.depth > 1 ? dropPath * Double(i) / Double(config.depth - 1) : 0)
        })
        norm = config.averagePool ? nil : LayerNorm(dim, eps: config.eps)
        fc_norm = config.averagePool ? LayerNorm(dim, eps: config.eps) : nil
        super.init()
        classifier = Linear(dim, numClasses)
        let grid = config.imageSize / config.patch
        let prefix = (config.classToken ? 1 : 0) + config.registerTokens
        positionEmbedding = Tensor.empty([1, grid * grid + (config.noEmbedClass ? 0 : prefix), dim])
        Init.truncatedNormal(positionEmbedding, std: 0.02)
        if config.classToken { classToken = Tensor.empty([1, 1, dim]).normal_(std: 1e-6) }
        if config.registerTokens > 0 { registerToken = Tensor.empty([1, config.registerTokens, dim]).normal_(std: 1e-6) }
        for (_, m) in namedModules() {
            if let linear = m as? Linear {
                Init.truncatedNormal(linear.weight, std: 0.02)
                if let b = linear.bias { Init.constant(b, 0) }
            }
        }
    }

    public override var classifierKey: String { "head" }
    public override var firstConvKey: String { "patch_embed.proj" }
    public override var stageKeys: [String] {
        ["patch_embed"] + (norm_pre == nil ? [] : ["norm_pre"]) + childKeys(of: "blocks") + (norm == nil ? [] : ["norm"])
    }

    /// timm's `group_matcher(coarse=False)`: tokens, position and patch embeddings (and
    /// `norm_pre`) first, a layer per block, the final `norm` with the last, the head last.
    public override var layerOrdinal: ((String) -> [Double])? {
        { key in
            if ["cls_token", "reg_token", "pos_embed", "patch_embed", "norm_pre"].contains(where: { key.hasPrefix($0) }) {
                return [0]
            }
            if let block = LayerGroups.index(key.split(separator: "."), at: 0, named: "blocks") { return [1, Double(block)] }
            if key.hasPrefix("norm") { return [1, LayerGroups.matchPrevious] }
            return LayerGroups.unmatched
        }
    }
    /// timm's `no_weight_decay()`.
    public override func excludesFromWeightDecay(_ key: String) -> Bool {
        ["pos_embed", "cls_token", "reg_token", "dist_token"].contains(key)
    }

    var prefixTokens: Int { (config.classToken ? 1 : 0) + config.registerTokens }

    /// The grid the stored position embeddings belong to.
    public var nativeGrid: Int {
        let tokens = positionEmbedding.size(1) - (config.noEmbedClass ? 0 : prefixTokens)
        return Int(Double(tokens).squareRoot().rounded())
    }

    /// A file trained at another size brings its own grid: the embedding takes its shape.
    public override func adoptShapes(from tensors: [String: Tensor], prefix: String) {
        if let adopted = positionEmbedding.adoptingSequenceLength(of: tensors[prefix + "pos_embed"]) {
            positionEmbedding = adopted
        }
    }

    /// timm's `_pos_embed` with `dynamic_img_size`: tokens (N, H·W, D) of an H × W grid.
    func embed(_ tokens: Tensor, gridHeight h: Int, gridWidth w: Int) -> Tensor {
        let n = tokens.size(0)
        var prefix: [Tensor] = []
        if let classToken { prefix.append(classToken.expand([n, -1, -1])) }
        if let registerToken { prefix.append(registerToken.expand([n, -1, -1])) }
        let g = nativeGrid
        let own = config.noEmbedClass ? 0 : prefixTokens
        let positions = h == g && w == g ? positionEmbedding
            : resamplePositionEmbedding(positionEmbedding, prefixTokens: own, from: (g, g), to: (h, w))
        if config.noEmbedClass {
            let x = tokens + positions
            return prefix.isEmpty ? x : Tensor.cat(prefix + [x], dim: 1)
        }
        return (prefix.isEmpty ? tokens : Tensor.cat(prefix + [tokens], dim: 1)) + positions
    }

    /// `forward_features` then the pooling of `forward_head` (before `head_drop` and `head`).
    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        let patches = patch_embed(x)
        let (n, d, h, w) = (patches.size(0), patches.size(1), patches.size(2), patches.size(3))
        var tokens = embed(patches.reshape([n, d, h * w]).permute([0, 2, 1]), gridHeight: h, gridWidth: w)
        if let norm_pre { tokens = norm_pre(tokens) }
        tokens = blocks(tokens)
        if let norm { tokens = norm(tokens) }
        if config.averagePool {
            let pooled = tokens.slice(dim: 1, start: prefixTokens, end: nil).mean(dim: 1)
            return fc_norm.map { $0(pooled) } ?? pooled
        }
        return tokens.select(dim: 1, index: 0)
    }
    public override func head(_ features: Tensor) -> Tensor { classifier(features) }
    public override func replaceClassifier(with head: Module) { classifier = head }
}
