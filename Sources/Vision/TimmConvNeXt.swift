// timm's ConvNeXt (timm/models/convnext.py) under timm's keys, for timm's files
// (`convnext_tiny.fb_in22k`, `…fb_in22k_ft_in1k`): `stem.0/1`, `stages.N.downsample`
// (LayerNorm2d + 2×2 stride-2 conv, from stage 1 on), `stages.N.blocks.M` (`gamma` (C),
// `conv_dw`, `norm`, `mlp.fc1/fc2`), and a `head` of average pool → LayerNorm2d → `fc`.
// The same arithmetic as torchvision's ConvNeXt; only the layout differs.
import NN
import Torch

/// timm's `ConvNeXtBlock` (channels-last MLP).
final class TimmConvNeXtBlock: Module {
    @Parameter(key: "gamma") var gamma: Tensor
    let conv_dw: Conv2d
    let norm: LayerNorm
    let mlp: TimmMLP
    let drop_path: StochasticDepth

    init(_ dim: Int, dropPath: Double, layerScale: Double = 1e-6) {
        conv_dw = Conv2d(dim, dim, kernelSize: 7, padding: 3, groups: dim, bias: true)
        norm = LayerNorm(dim, eps: 1e-6)
        mlp = TimmMLP(dim, hidden: 4 * dim, activation: .gelu)
        drop_path = StochasticDepth(p: dropPath)
        super.init()
        gamma = Tensor.full([dim], layerScale)
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        let y = mlp(norm(conv_dw(x).permute([0, 2, 3, 1]))).permute([0, 3, 1, 2]) * gamma.view([1, -1, 1, 1])
        return drop_path(y) + x
    }
}

/// timm's `ConvNeXtStage`: [`downsample`], `blocks`.
final class TimmConvNeXtStage: Module {
    let downsample: Sequential?
    let blocks: Sequential

    init(_ input: Int, _ output: Int, depth: Int, dropPaths: [Double]) {
        downsample = input != output
            ? Sequential(LayerNorm2d(input), Conv2d(input, output, kernelSize: 2, stride: 2, bias: true)) : nil
        blocks = Sequential((0..<depth).map { TimmConvNeXtBlock(output, dropPath: dropPaths[$0]) })
    }

    override func callAsFunction(_ x: Tensor) -> Tensor { blocks(downsample?(x) ?? x) }
}

/// timm's `NormMlpClassifierHead` without pre-logits: `norm` (LayerNorm2d), `fc`.
final class NormClassifierHead: Module {
    let norm: LayerNorm2d
    var fc: Module

    init(_ dim: Int, numClasses: Int) {
        norm = LayerNorm2d(dim)
        fc = Linear(dim, numClasses)
    }

    /// On (N, C) pooled features: the LayerNorm2d of a 1×1 map is a LayerNorm over C.
    override func callAsFunction(_ features: Tensor) -> Tensor { fc(norm.normalizeLast(features)) }
}

public final class TimmConvNeXt: ImageClassifier {
    let stem: Sequential
    let stages: Sequential
    @Child(key: "head") var classifierHead: Module = Identity()

    public init(depths: [Int] = [3, 3, 9, 3], dims: [Int] = [96, 192, 384, 768], dropPath: Double = 0,
                numClasses: Int = 1000) {
        stem = Sequential(Conv2d(3, dims[0], kernelSize: 4, stride: 4, bias: true), LayerNorm2d(dims[0]))
        // timm's calculate_drop_path_rates: linear from 0 to the rate over all blocks.
        let total = depths.reduce(0, +)
        var rates = (0..<total).map { total > 1 ? dropPath * Double($0) / Double(total - 1) : 0 }
        var input = dims[0]
        var made: [Module] = []
        for (depth, dim) in zip(depths, dims) {
            made.append(TimmConvNeXtStage(input, dim, depth: depth, dropPaths: Array(rates.prefix(depth))))
            rates.removeFirst(depth)
            input = dim
        }
        stages = Sequential(made)
        super.init()
        classifierHead = NormClassifierHead(dims[dims.count - 1], numClasses: numClasses)
        initialiseTruncatedNormal(self)
    }

    public override var classifierKey: String { "head.fc" }
    public override var firstConvKey: String { "stem.0" }
    public override var stageKeys: [String] { ["stem"] + childKeys(of: "stages") }
    /// timm's `group_matcher(coarse=False)`: the stem, a layer per block (a stage's
    /// downsampling with its first block), `norm_pre` with the last, the head last.
    public override var layerOrdinal: ((String) -> [Double])? {
        { key in
            if key.hasPrefix("stem") { return [0] }
            let parts = key.split(separator: ".")
            if let stage = LayerGroups.index(parts, at: 0, named: "stages") {
                if parts.count > 2, parts[2] == "downsample" { return [1, Double(stage), 0] }
                if let block = LayerGroups.index(parts, at: 2, named: "blocks") { return [1, Double(stage), Double(block)] }
            }
            if key.hasPrefix("norm_pre") { return [1, LayerGroups.matchPrevious] }
            return LayerGroups.unmatched
        }
    }
    /// The head's LayerNorm trains with the new classifier.
    public override var headKeys: [String] { ["head"] }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        Functional.adaptiveAvgPool2d(stages(stem(x)), outputSize: (1, 1)).flatten(startDim: 1)
    }
    public override func head(_ features: Tensor) -> Tensor { classifierHead(features) }
    public override func replaceClassifier(with head: Module) { (classifierHead as? NormClassifierHead)?.fc = head }
}
