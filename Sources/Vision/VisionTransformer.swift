// Vision Transformer — "An Image is Worth 16x16 Words" (Dosovitskiy et al., 2020).
// Mirrors torchvision/models/vision_transformer.py: a patch-size convolution (`conv_proj`),
// a class token, learned position embeddings (`encoder.pos_embedding`), pre-norm encoder
// blocks (LayerNorm eps 1e-6 → multi-head self-attention → dropout → residual; LayerNorm →
// MLP with exact GELU → residual), a final LayerNorm, and `heads.head` on the class token.
// Other input sizes than the weights' own resample the position embeddings bicubically
// (antialiased), as timm's `resample_abs_pos_embed`.
import Foundation
import NN
import Torch

/// torchvision's `MLPBlock` (`torchvision.ops.MLP`): keys `0` and `3` are the Linears.
final class TransformerMLP: Sequential {
    init(_ dim: Int, hidden: Int, dropout: Double, activation: Activation.Kind = .gelu) {
        let fc1 = Linear(dim, hidden), fc2 = Linear(hidden, dim)
        for linear in [fc1, fc2] {
            Init.xavierUniform(linear.weight)
            if let b = linear.bias { Init.normal(b, std: 1e-6) }
        }
        super.init([fc1, Activation(activation), Dropout(p: dropout), fc2, Dropout(p: dropout)])
    }
}

/// torchvision's `EncoderBlock`.
final class EncoderBlock: Module {
    let ln_1: LayerNorm
    let self_attention: MultiheadAttention
    let dropout: Dropout
    let ln_2: LayerNorm
    let mlp: TransformerMLP

    init(heads: Int, dim: Int, mlpDim: Int, dropout: Double, attentionDropout: Double) {
        ln_1 = LayerNorm(dim, eps: 1e-6)
        self_attention = MultiheadAttention(dim, heads: heads, dropout: attentionDropout)
        self.dropout = Dropout(p: dropout)
        ln_2 = LayerNorm(dim, eps: 1e-6)
        mlp = TransformerMLP(dim, hidden: mlpDim, dropout: dropout)
    }

    override func callAsFunction(_ input: Tensor) -> Tensor {
        let x = dropout(self_attention(ln_1(input))) + input
        return x + mlp(ln_2(x))
    }
}

/// torchvision's `Encoder`: `pos_embedding`, `layers.encoder_layer_N`, `ln`.
final class TransformerEncoder: Module {
    @Parameter(key: "pos_embedding") var positionEmbedding: Tensor
    let dropout: Dropout
    let layers: Sequential
    let ln: LayerNorm

    init(sequenceLength: Int, layers count: Int, heads: Int, dim: Int, mlpDim: Int, dropout: Double,
         attentionDropout: Double) {
        self.dropout = Dropout(p: dropout)
        layers = Sequential(named: (0..<count).map {
            ("encoder_layer_\($0)", EncoderBlock(heads: heads, dim: dim, mlpDim: mlpDim, dropout: dropout,
                                                 attentionDropout: attentionDropout))
        })
        ln = LayerNorm(dim, eps: 1e-6)
        super.init()
        positionEmbedding = Tensor.empty([1, sequenceLength, dim]).normal_(std: 0.02)
    }

    /// `input` already holds the class token; `positions` the embeddings for its grid.
    func callAsFunction(_ input: Tensor, positions: Tensor) -> Tensor {
        ln(layers(dropout(input + positions)))
    }

    /// The weights' own grid wins: a file trained at another size replaces the embedding.
    override func adoptShapes(from tensors: [String: Tensor], prefix: String) {
        if let adopted = positionEmbedding.adoptingSequenceLength(of: tensors[prefix + "pos_embedding"]) {
            positionEmbedding = adopted
        }
    }
}

public final class VisionTransformer: ImageClassifier {
    let conv_proj: Conv2d
    @Parameter(key: "class_token") var classToken: Tensor
    let encoder: TransformerEncoder
    let heads: Sequential
    public let patchSize: Int
    public let hiddenDim: Int

    public init(imageSize: Int, patchSize: Int, layers: Int, heads headCount: Int, hiddenDim: Int, mlpDim: Int,
                dropout: Double = 0, attentionDropout: Double = 0, numClasses: Int = 1000) {
        self.patchSize = patchSize
        self.hiddenDim = hiddenDim
        conv_proj = Conv2d(3, hiddenDim, kernelSize: patchSize, stride: patchSize, bias: true)
        let grid = imageSize / patchSize
        encoder = TransformerEncoder(sequenceLength: grid * grid + 1, layers: layers, heads: headCount, dim: hiddenDim,
                                     mlpDim: mlpDim, dropout: dropout, attentionDropout: attentionDropout)
        let head = Linear(hiddenDim, numClasses)
        heads = Sequential(named: [("head", head)])
        super.init()
        classToken = Tensor.zeros([1, 1, hiddenDim])
        Init.truncatedNormal(conv_proj.weight, std: (1 / Double(3 * patchSize * patchSize)).squareRoot())
        if let b = conv_proj.bias { Init.constant(b, 0) }
        Init.constant(head.weight, 0)
        if let b = head.bias { Init.constant(b, 0) }
    }

    public override var classifierKey: String { "heads.head" }
    public override var firstConvKey: String { "conv_proj" }
    /// The patch embedding, then each encoder block, then the final LayerNorm.
    public override var stageKeys: [String] { ["conv_proj"] + childKeys(of: "encoder.layers") + ["encoder.ln"] }
    /// timm's ViT `group_matcher` on torchvision's names: the class token, patch projection
    /// and position embedding first, a layer per encoder block, the final norm with the last.
    public override var layerOrdinal: ((String) -> [Double])? {
        { key in
            if key == "class_token" || key == "encoder.pos_embedding" || Module.key(key, isUnder: "conv_proj") { return [0] }
            let parts = key.split(separator: ".")
            if parts.count > 2, parts[0] == "encoder", parts[1] == "layers", parts[2].hasPrefix("encoder_layer_"),
               let n = Int(parts[2].dropFirst("encoder_layer_".count)) {
                return [1, Double(n)]
            }
            if Module.key(key, isUnder: "encoder.ln") { return [1, LayerGroups.matchPrevious] }
            return LayerGroups.unmatched
        }
    }
    /// timm's `no_weight_decay()` (`cls_token`, `pos_embed`) on torchvision's names.
    public override func excludesFromWeightDecay(_ key: String) -> Bool {
        key == "class_token" || key == "encoder.pos_embedding"
    }

    /// The side of the grid the position embeddings were trained on.
    public var nativeGrid: Int { Int(Double(encoder.positionEmbedding.size(1) - 1).squareRoot().rounded()) }

    /// The input size the position embeddings belong to (other sizes resample them).
    public var nativeImageSize: Int { nativeGrid * patchSize }

    /// Position embeddings for an `h` × `w` patch grid: the stored ones on their own grid,
    /// else the grid part resampled bicubically with antialiasing (the class token's kept).
    func positions(gridHeight h: Int, gridWidth w: Int) -> Tensor {
        let stored = encoder.positionEmbedding
        let g = nativeGrid
        if h == g && w == g { return stored }
        return resamplePositionEmbedding(stored, prefixTokens: 1, from: (g, g), to: (h, w))
    }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        let n = x.size(0)
        let patches = conv_proj(x)
        let (h, w) = (patches.size(2), patches.size(3))
        let tokens = patches.reshape([n, hiddenDim, h * w]).permute([0, 2, 1])
        let sequence = Tensor.cat([classToken.expand([n, -1, -1]), tokens], dim: 1)
        return encoder(sequence, positions: positions(gridHeight: h, gridWidth: w)).select(dim: 1, index: 0)
    }
    public override func head(_ features: Tensor) -> Tensor { heads(features) }
    public override func replaceClassifier(with head: Module) { heads.replace(0, with: head) }

    public static func b16(numClasses: Int = 1000, imageSize: Int = 224) -> VisionTransformer {
        VisionTransformer(imageSize: imageSize, patchSize: 16, layers: 12, heads: 12, hiddenDim: 768, mlpDim: 3072,
                          numClasses: numClasses)
    }
    public static func b32(numClasses: Int = 1000, imageSize: Int = 224) -> VisionTransformer {
        VisionTransformer(imageSize: imageSize, patchSize: 32, layers: 12, heads: 12, hiddenDim: 768, mlpDim: 3072,
                          numClasses: numClasses)
    }
    public static func l16(numClasses: Int = 1000, imageSize: Int = 224) -> VisionTransformer {
        VisionTransformer(imageSize: imageSize, patchSize: 16, layers: 24, heads: 16, hiddenDim: 1024, mlpDim: 4096,
                          numClasses: numClasses)
    }
    public static func l32(numClasses: Int = 1000, imageSize: Int = 224) -> VisionTransformer {
        VisionTransformer(imageSize: imageSize, patchSize: 32, layers: 24, heads: 16, hiddenDim: 1024, mlpDim: 4096,
                          numClasses: numClasses)
    }
    public static func h14(numClasses: Int = 1000, imageSize: Int = 224) -> VisionTransformer {
        VisionTransformer(imageSize: imageSize, patchSize: 14, layers: 32, heads: 16, hiddenDim: 1280, mlpDim: 5120,
                          numClasses: numClasses)
    }
}

/// timm's `resample_abs_pos_embed`: the `prefixTokens` leading embeddings kept, the grid
/// part (1, H·W, D) reshaped to (1, D, H, W), resized bicubically with antialiasing
/// (float32), and put back.
public func resamplePositionEmbedding(_ embedding: Tensor, prefixTokens: Int, from old: (Int, Int),
                                      to new: (Int, Int)) -> Tensor {
    let d = embedding.size(2)
    let prefix = embedding.slice(dim: 1, start: 0, end: prefixTokens)
    let grid = embedding.slice(dim: 1, start: prefixTokens, end: nil)
        .reshape([1, old.0, old.1, d]).permute([0, 3, 1, 2])
    let resized = Functional.interpolate(grid.to(.float32), size: (new.0, new.1), mode: .bicubic, alignCorners: false,
                                         antialias: true).to(embedding.dtype)
    let flat = resized.permute([0, 2, 3, 1]).reshape([1, new.0 * new.1, d])
    return prefixTokens > 0 ? Tensor.cat([prefix, flat], dim: 1) : flat
}

extension Tensor {
    /// For position embeddings (1, L, D) whose length L follows the grid the weights were
    /// trained at: a zero tensor shaped as `incoming` when only L differs, else nil.
    func adoptingSequenceLength(of incoming: Tensor?) -> Tensor? {
        guard let incoming, incoming.rank == 3, rank == 3, incoming.size(0) == 1, incoming.size(2) == size(2),
              incoming.size(1) != size(1) else { return nil }
        return Tensor.zeros(incoming.shape, dtype: dtype, device: device)
    }
}
