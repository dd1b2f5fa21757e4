// Swin Transformer — "Hierarchical Vision Transformer using Shifted Windows" (Liu et al.,
// 2021) and Swin V2 (Liu et al., 2022). Mirrors torchvision/models/swin_transformer.py:
// a 4×4 patch convolution with LayerNorm (NHWC from there on), stages of blocks that attend
// within windows (every second block's windows shifted by half a window, with the -100
// mask on wrapped-around pairs), patch merging between stages (2×2 neighbours concatenated,
// LayerNorm and a Linear to twice the channels; V2 normalises after the Linear), and
// LayerNorm → average pool → Linear. V1 adds a learned relative-position bias table; V2
// uses cosine attention with a learned logit scale (clamped at log 100) and a bias from a
// small MLP over log-spaced relative coordinates (16 · sigmoid), and post-norm blocks.
// Inputs of any size: windows and merges pad as torchvision's do.
import Foundation
import NN
import Torch

/// torchvision's `relative_position_index`: for each pair of positions (i, j) in a window,
/// the row of the (2W-1)² bias table that holds their offset.
func relativePositionIndex(window: Int) -> Tensor {
    let span = 2 * window - 1
    var index: [Int64] = []
    for i in 0..<(window * window) {
        for j in 0..<(window * window) {
            index.append(Int64((i / window - j / window + window - 1) * span + (i % window - j % window + window - 1)))
        }
    }
    return Tensor(index)
}

/// The bias table's rows gathered for every pair: (1, heads, N, N), N = window².
func gatherRelativeBias(_ table: Tensor, index: Tensor, window: Int, heads: Int) -> Tensor {
    let n = window * window
    return table.indexSelect(dim: 0, index: index).view([n, n, -1]).permute([2, 0, 1]).contiguous().unsqueeze(0)
}

/// torchvision's `shifted_window_attention` on (B, H, W, C), through libtorch's fused
/// attention with the bias (and the shift mask) as an additive mask. With `logitScale`
/// (V2): cosine attention, the key bias zeroed, the scale clamped at log 100.
func shiftedWindowAttention(_ input: Tensor, qkv: Linear, proj: Linear, bias relative: Tensor, window: Int,
                            shift: Int, heads: Int, logitScale: Tensor? = nil) -> Tensor {
    let (b, h, w, c) = (input.size(0), input.size(1), input.size(2), input.size(3))
    let padRight = (window - w % window) % window, padBottom = (window - h % window) % window
    var x = Functional.pad(input, [0, 0, 0, padRight, 0, padBottom])
    let (ph, pw) = (h + padBottom, w + padRight)
    let shiftH = window >= ph ? 0 : shift, shiftW = window >= pw ? 0 : shift
    let shifted = shiftH + shiftW > 0
    if shifted { x = x.roll([-shiftH, -shiftW], dims: [1, 2]) }
    let (nh, nw) = (ph / window, pw / window)
    let windows = nh * nw, n = window * window
    x = x.view([b, nh, window, nw, window, c]).permute([0, 1, 3, 2, 4, 5]).reshape([b * windows, n, c])
    var qkvBias = qkv.bias
    if logitScale != nil, let full = qkvBias {
        // Recorded, as torchvision's clone-and-zero: the key bias gets no gradient.
        let zeroed = full.clone()
        _ = zeroed.slice(dim: 0, start: c, end: 2 * c).zero_()
        qkvBias = zeroed
    }
    let projected = Functional.linear(x, weight: qkv.weight, bias: qkvBias).reshape([b * windows, n, 3, heads, c / heads])
        .permute([2, 0, 3, 1, 4])
    var q = projected.select(dim: 0, index: 0), k = projected.select(dim: 0, index: 1)
    let v = projected.select(dim: 0, index: 2)
    var scale: Double? = nil
    if let logitScale {
        q = normalizedLastDimension(q) * logitScale.clamp(max: Foundation.log(100.0)).exp()
        k = normalizedLastDimension(k)
        scale = 1
    }
    var mask = relative
    if shifted {
        let regions = ShiftMasks.shared.mask(height: ph, width: pw, window: window, shiftH: shiftH, shiftW: shiftW,
                                             device: relative.device)  // (nW, N, N)
        mask = (relative.unsqueeze(1) + regions.unsqueeze(1).unsqueeze(0))  // (1, nW, heads, N, N)
            .expand([b, windows, heads, n, n]).reshape([b * windows, heads, n, n])
    }
    x = Functional.scaledDotProductAttention(q, k, v, mask: mask.to(q.dtype), scale: scale)
        .transposed(1, 2).reshape([b * windows, n, c])
    x = proj(x)
    x = x.view([b, nh, nw, window, window, c]).permute([0, 1, 3, 2, 4, 5]).reshape([b, ph, pw, c])
    if shifted { x = x.roll([shiftH, shiftW], dims: [1, 2]) }
    return x.slice(dim: 1, start: 0, end: h).slice(dim: 2, start: 0, end: w).contiguous()
}

/// `F.normalize(x, dim=-1)`: x / max(‖x‖, 1e-12).
func normalizedLastDimension(_ x: Tensor) -> Tensor { x / x.norm(2, dims: [-1], keepDim: true).clamp(min: 1e-12) }

/// The shift masks' values made so far, by padded map size, window and shift: every shifted
/// block of a stage, and every batch, needs the same one (torchvision rebuilds it each call).
/// The values are kept, not tensors, so a mask made under inference mode never meets autograd.
final class ShiftMasks: @unchecked Sendable {
    static let shared = ShiftMasks()
    private let lock = NSLock()
    private var values: [String: [Float]] = [:]

    func mask(height: Int, width: Int, window: Int, shiftH: Int, shiftW: Int, device: Device) -> Tensor {
        let key = "\(height)x\(width)/\(window)/\(shiftH),\(shiftW)"
        let made = lock.withLock { () -> [Float] in
            if let cached = values[key] { return cached }
            let fresh = shiftMaskValues(height: height, width: width, window: window, shiftH: shiftH, shiftW: shiftW)
            values[key] = fresh
            return fresh
        }
        let n = window * window
        return Tensor(made, shape: [(height / window) * (width / window), n, n]).to(device)
    }
}

/// torchvision's shifted-window mask: 0 within a region, -100 across regions, (nW, N, N) row-major.
func shiftMaskValues(height: Int, width: Int, window: Int, shiftH: Int, shiftW: Int) -> [Float] {
    func region(_ i: Int, _ size: Int, _ s: Int) -> Int { i < size - window ? 0 : (i < size - s ? 1 : 2) }
    let (nh, nw) = (height / window, width / window), n = window * window
    var values: [Float] = []
    values.reserveCapacity(nh * nw * n * n)
    for wh in 0..<nh {
        for ww in 0..<nw {
            let ids = (0..<n).map { p -> Int in
                region(wh * window + p / window, height, shiftH) * 3 + region(ww * window + p % window, width, shiftW)
            }
            for i in 0..<n { for j in 0..<n { values.append(ids[i] == ids[j] ? 0 : -100) } }
        }
    }
    return values
}

/// torchvision's `ShiftedWindowAttention` (V1): a learned relative-position bias table.
final class ShiftedWindowAttention: Module {
    @Parameter(key: "relative_position_bias_table") var biasTable: Tensor
    @Buffer(key: "relative_position_index") var positionIndex: Tensor
    let qkv: Linear
    let proj: Linear
    let window: Int, shift: Int, heads: Int

    init(_ dim: Int, window: Int, shift: Int, heads: Int) {
        (self.window, self.shift, self.heads) = (window, shift, heads)
        qkv = Linear(dim, 3 * dim)
        proj = Linear(dim, dim)
        super.init()
        biasTable = Tensor.zeros([(2 * window - 1) * (2 * window - 1), heads])
        Init.truncatedNormal(biasTable, std: 0.02)
        positionIndex = relativePositionIndex(window: window)
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        shiftedWindowAttention(x, qkv: qkv, proj: proj,
                               bias: gatherRelativeBias(biasTable, index: positionIndex, window: window, heads: heads),
                               window: window, shift: shift, heads: heads)
    }
}

/// torchvision's `ShiftedWindowAttentionV2`: cosine attention, a logit scale per head, and
/// the bias from `cpb_mlp` over log-spaced relative coordinates, as 16 · sigmoid.
final class ShiftedWindowAttentionV2: Module {
    @Parameter(key: "logit_scale") var logitScale: Tensor
    @Buffer(key: "relative_coords_table") var coordsTable: Tensor
    @Buffer(key: "relative_position_index") var positionIndex: Tensor
    let qkv: Linear
    let proj: Linear
    let cpb_mlp: Sequential
    let window: Int, shift: Int, heads: Int

    init(_ dim: Int, window: Int, shift: Int, heads: Int) {
        (self.window, self.shift, self.heads) = (window, shift, heads)
        qkv = Linear(dim, 3 * dim)
        proj = Linear(dim, dim)
        cpb_mlp = Sequential(Linear(2, 512), Activation(.relu), Linear(512, heads, bias: false))
        super.init()
        logitScale = (Tensor.ones([heads, 1, 1]) * 10).log()
        // (1, 2W-1, 2W-1, 2): the offsets (dh, dw) / (W - 1) · 8, then sign · log2(|x| + 1) / 3.
        let span = 2 * window - 1
        let range = Tensor.arange(Double(-(window - 1)), Double(window), dtype: .float32)
        let grid = Tensor.stack([range.view([span, 1]).expand([span, span]), range.view([1, span]).expand([span, span])],
                                dim: 2).unsqueeze(0)
        let table = grid / Double(window - 1) * 8
        coordsTable = table.sign() * (table.abs() + 1).log2() / 3
        positionIndex = relativePositionIndex(window: window)
        if let b = qkv.bias { Torch.noGrad { _ = b.slice(dim: 0, start: dim, end: 2 * dim).zero_() } }
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        let table = cpb_mlp(coordsTable).view([-1, heads])
        let bias = gatherRelativeBias(table, index: positionIndex, window: window, heads: heads).sigmoid() * 16
        return shiftedWindowAttention(x, qkv: qkv, proj: proj, bias: bias, window: window, shift: shift, heads: heads,
                                      logitScale: logitScale)
    }
}

/// torchvision's `SwinTransformerBlock` (pre-norm) and `SwinTransformerBlockV2` (post-norm).
final class SwinBlock: Module {
    let norm1: LayerNorm
    let attn: Module
    let stochastic_depth: StochasticDepth
    let norm2: LayerNorm
    let mlp: TransformerMLP
    let v2: Bool

    init(_ dim: Int, heads: Int, window: Int, shift: Int, stochasticDepthProbability: Double, v2: Bool) {
        self.v2 = v2
        norm1 = LayerNorm(dim)
        attn = v2 ? ShiftedWindowAttentionV2(dim, window: window, shift: shift, heads: heads)
            : ShiftedWindowAttention(dim, window: window, shift: shift, heads: heads)
        stochastic_depth = StochasticDepth(p: stochasticDepthProbability)
        norm2 = LayerNorm(dim)
        mlp = TransformerMLP(dim, hidden: 4 * dim, dropout: 0)
    }

    override func callAsFunction(_ input: Tensor) -> Tensor {
        if v2 {
            let x = input + stochastic_depth(norm1(attn(input)))
            return x + stochastic_depth(norm2(mlp(x)))
        }
        let x = input + stochastic_depth(attn(norm1(input)))
        return x + stochastic_depth(mlp(norm2(x)))
    }
}

/// torchvision's `PatchMerging` / `PatchMergingV2` on (…, H, W, C).
final class PatchMerging: Module {
    let reduction: Linear
    let norm: LayerNorm
    let v2: Bool

    init(_ dim: Int, v2: Bool) {
        self.v2 = v2
        reduction = Linear(4 * dim, 2 * dim, bias: false)
        norm = LayerNorm(v2 ? 2 * dim : 4 * dim)
    }

    override func callAsFunction(_ input: Tensor) -> Tensor {
        let (h, w) = (input.size(-3), input.size(-2))
        let x = Functional.pad(input, [0, 0, 0, w % 2, 0, h % 2])
        func part(_ dy: Int, _ dx: Int) -> Tensor {
            x.slice(dim: -3, start: dy, end: nil, step: 2).slice(dim: -2, start: dx, end: nil, step: 2)
        }
        let merged = Tensor.cat([part(0, 0), part(1, 0), part(0, 1), part(1, 1)], dim: -1)
        return v2 ? norm(reduction(merged)) : reduction(norm(merged))
    }
}

public final class SwinTransformer: ImageClassifier {
    let features: Sequential
    let norm: LayerNorm
    @Child(key: "head") var classifier: Module = Identity()
    public let window: Int

    public init(embedDim: Int, depths: [Int], heads: [Int], window: Int, stochasticDepthProbability: Double,
                v2: Bool, numClasses: Int = 1000) {
        self.window = window
        var layers: [Module] = [Sequential(Conv2d(3, embedDim, kernelSize: 4, stride: 4, bias: true),
                                           Permute([0, 2, 3, 1]), LayerNorm(embedDim))]
        let total = Double(depths.reduce(0, +))
        var blockID = 0.0
        for (stage, depth) in depths.enumerated() {
            let dim = embedDim << stage
            layers.append(Sequential((0..<depth).map { i in
                defer { blockID += 1 }
                return SwinBlock(dim, heads: heads[stage], window: window, shift: i % 2 == 0 ? 0 : window / 2,
                                 stochasticDepthProbability: stochasticDepthProbability * blockID / (total - 1), v2: v2)
            }))
            if stage < depths.count - 1 { layers.append(PatchMerging(dim, v2: v2)) }
        }
        features = Sequential(layers)
        let features = embedDim << (depths.count - 1)
        norm = LayerNorm(features)
        super.init()
        classifier = Linear(features, numClasses)
        for (_, m) in namedModules() {
            if let linear = m as? Linear {
                Init.truncatedNormal(linear.weight, std: 0.02)
                if let b = linear.bias { Init.constant(b, 0) }
            }
        }
    }

    public override var classifierKey: String { "head" }
    public override var firstConvKey: String { "features.0.0" }
    public override var stageKeys: [String] { childKeys(of: "features") + ["norm"] }
    public override var layerOrdinal: ((String) -> [Double])? { { torchvisionStagedOrdinal($0, finalNorm: "norm") } }
    /// timm's `no_weight_decay()`: v1's relative position bias tables, v2's continuous
    /// position bias MLP and logit scales.
    public override func excludesFromWeightDecay(_ key: String) -> Bool {
        key.contains("relative_position_bias_table") || key.contains("cpb_mlp") || key.contains("logit_scale")
    }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        norm(features(x)).mean(dims: [1, 2])
    }
    public override func head(_ features: Tensor) -> Tensor { classifier(features) }
    public override func replaceClassifier(with head: Module) { classifier = head }

    public static func t(numClasses: Int = 1000) -> SwinTransformer {
        SwinTransformer(embedDim: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], window: 7,
                        stochasticDepthProbability: 0.2, v2: false, numClasses: numClasses)
    }
    public static func s(numClasses: Int = 1000) -> SwinTransformer {
        SwinTransformer(embedDim: 96, depths: [2, 2, 18, 2], heads: [3, 6, 12, 24], window: 7,
                        stochasticDepthProbability: 0.3, v2: false, numClasses: numClasses)
    }
    public static func b(numClasses: Int = 1000) -> SwinTransformer {
        SwinTransformer(embedDim: 128, depths: [2, 2, 18, 2], heads: [4, 8, 16, 32], window: 7,
                        stochasticDepthProbability: 0.5, v2: false, numClasses: numClasses)
    }
    public static func v2T(numClasses: Int = 1000) -> SwinTransformer {
        SwinTransformer(embedDim: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], window: 8,
                        stochasticDepthProbability: 0.2, v2: true, numClasses: numClasses)
    }
    public static func v2S(numClasses: Int = 1000) -> SwinTransformer {
        SwinTransformer(embedDim: 96, depths: [2, 2, 18, 2], heads: [3, 6, 12, 24], window: 8,
                        stochasticDepthProbability: 0.3, v2: true, numClasses: numClasses)
    }
    public static func v2B(numClasses: Int = 1000) -> SwinTransformer {
        SwinTransformer(embedDim: 128, depths: [2, 2, 18, 2], heads: [4, 8, 16, 32], window: 8,
                        stochasticDepthProbability: 0.5, v2: true, numClasses: numClasses)
    }
}
