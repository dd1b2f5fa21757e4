import Foundation
import Torch

/// 2-d convolution, as `nn.Conv2d` (weight (out, in/groups, kh, kw); PyTorch's default init).
public final class Conv2d: Module {
    @Parameter public var weight: Tensor
    @OptionalParameter public var bias: Tensor?
    public let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels)→\(outChannels) not divisible by groups \(groups)")
        let w = Tensor.empty([outChannels, inChannels / groups, kernelSize.0, kernelSize.1])
        Init.kaimingUniform(w, nonlinearity: .leakyRelu(Foundation.sqrt(5.0)))
        self.weight = w
        if bias {
            let bound = 1 / Foundation.sqrt(Double(Init.fans(w.shape).fanIn))
            self.bias = Tensor.empty([outChannels]).uniform_(-bound, bound)
        } else {
            self.bias = nil
        }
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: (padding, padding), dilation: (dilation, dilation), groups: groups, bias: bias)
    }

    public var inChannels: Int { weight.size(1) * groups }
    public var outChannels: Int { weight.size(0) }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        AutocastPolicy.depthwise(x, weight: weight, groups: groups) {
            Functional.conv2d($0, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                              groups: groups)
        }
    }
}

/// Batch normalisation over channels of NCHW input, as `nn.BatchNorm2d`.
///
/// In training mode it normalises with batch statistics and updates the running
/// ones (`momentum` nil = cumulative average by `num_batches_tracked`); in eval
/// mode it uses the running statistics. ``Module/frozenInEval`` keeps it in eval mode
/// whatever `train()` says: Graft's BatchNorm policy for frozen trunks.
public final class BatchNorm2d: Module {
    @Parameter public var weight: Tensor
    @Parameter public var bias: Tensor
    @Buffer(key: "running_mean") public var runningMean: Tensor
    @Buffer(key: "running_var") public var runningVar: Tensor
    @Buffer(key: "num_batches_tracked") public var numBatchesTracked: Tensor
    public let eps: Double
    /// The running-statistics update factor (nil: cumulative average). Settable, as in PyTorch.
    public var momentum: Double?

    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1) {
        self.weight = Tensor.ones([numFeatures])
        self.bias = Tensor.zeros([numFeatures])
        self.eps = eps
        self.momentum = momentum
        super.init()
        self.runningMean = Tensor.zeros([numFeatures])
        self.runningVar = Tensor.ones([numFeatures])
        self.numBatchesTracked = Tensor(scalar: Int64(0))
    }

    public var numFeatures: Int { weight.size(0) }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        var factor = 0.0
        if isTraining {
            Torch.noGrad { numBatchesTracked.add_(1) }
            factor = momentum ?? 1 / Double(numBatchesTracked.int)
        }
        return Functional.batchNorm(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                                    training: isTraining, momentum: factor, eps: eps)
    }
}

/// `y = x Wᵀ + b`, as `nn.Linear` (weight (out, in); PyTorch's default init).
public final class Linear: Module {
    @Parameter public var weight: Tensor
    @OptionalParameter public var bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        let w = Tensor.empty([outFeatures, inFeatures])
        Init.kaimingUniform(w, nonlinearity: .leakyRelu(Foundation.sqrt(5.0)))
        self.weight = w
        if bias {
            let bound = inFeatures > 0 ? 1 / Foundation.sqrt(Double(inFeatures)) : 0
            self.bias = Tensor.empty([outFeatures]).uniform_(-bound, bound)
        } else {
            self.bias = nil
        }
    }

    public var inFeatures: Int { weight.size(1) }
    public var outFeatures: Int { weight.size(0) }

    public override func callAsFunction(_ x: Tensor) -> Tensor { Functional.linear(x, weight: weight, bias: bias) }
}

/// Layer normalisation over the trailing dimensions, as `nn.LayerNorm` (keys `weight`,
/// `bias`; without `affine` none).
public final class LayerNorm: Module {
    @OptionalParameter public var weight: Tensor?
    @OptionalParameter public var bias: Tensor?
    public let normalizedShape: [Int]
    public let eps: Double

    public init(_ normalizedShape: [Int], eps: Double = 1e-5, affine: Bool = true, bias: Bool = true) {
        self.normalizedShape = normalizedShape
        self.eps = eps
        self.weight = affine ? Tensor.ones(normalizedShape) : nil
        self.bias = affine && bias ? Tensor.zeros(normalizedShape) : nil
    }
    public convenience init(_ dim: Int, eps: Double = 1e-5) { self.init([dim], eps: eps) }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        Functional.layerNorm(x, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }
}

/// Reorders dimensions, as torchvision's `Permute` (no parameters; it holds its place
/// in a `Sequential`'s numbering).
public final class Permute: Module {
    public let dims: [Int]
    public init(_ dims: [Int]) { self.dims = dims }
    public override func callAsFunction(_ x: Tensor) -> Tensor { x.permute(dims) }
}

/// Zeroes inputs with probability `p` in training mode, as `nn.Dropout`.
public final class Dropout: Module {
    public let p: Double
    public init(p: Double = 0.5) { self.p = p }
    public override func callAsFunction(_ x: Tensor) -> Tensor { Functional.dropout(x, p: p, training: isTraining) }
}

/// An elementwise activation (no parameters), as `nn.ReLU`, `nn.SiLU`, ...
public final class Activation: Module {
    /// `gelu` is the exact (erf) form, `geluTanh` the tanh approximation, `quickGELU`
    /// CLIP's `x · σ(1.702 x)`.
    public enum Kind: Sendable { case relu, relu6, silu, gelu, geluTanh, quickGELU, hardswish, hardsigmoid, sigmoid, tanh }
    public let kind: Kind
    public init(_ kind: Kind) { self.kind = kind }
    public override func callAsFunction(_ x: Tensor) -> Tensor {
        switch kind {
        case .relu: x.relu()
        case .relu6: x.relu6()
        case .silu: x.silu()
        case .gelu: x.gelu()
        case .geluTanh: x.gelu(approximateTanh: true)
        case .quickGELU: x * (x * 1.702).sigmoid()
        case .hardswish: x.hardswish()
        case .hardsigmoid: x.hardsigmoid()
        case .sigmoid: x.sigmoid()
        case .tanh: x.tanh()
        }
    }
}

public final class MaxPool2d: Module {
    public let kernelSize: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    public let ceilMode: Bool
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1, ceilMode: Bool = false) {
        self.kernelSize = (kernelSize, kernelSize)
        self.stride = (stride ?? kernelSize, stride ?? kernelSize)
        self.padding = (padding, padding)
        self.dilation = (dilation, dilation)
        self.ceilMode = ceilMode
    }
    public override func callAsFunction(_ x: Tensor) -> Tensor {
        Functional.maxPool2d(x, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
                             ceilMode: ceilMode)
    }
}

public final class AvgPool2d: Module {
    public let kernelSize: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    public let ceilMode: Bool, countIncludePad: Bool
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false,
                countIncludePad: Bool = true) {
        self.kernelSize = (kernelSize, kernelSize)
        self.stride = (stride ?? kernelSize, stride ?? kernelSize)
        self.padding = (padding, padding)
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
    }
    public override func callAsFunction(_ x: Tensor) -> Tensor {
        Functional.avgPool2d(x, kernelSize: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode,
                             countIncludePad: countIncludePad)
    }
}

public final class AdaptiveAvgPool2d: Module {
    public let outputSize: (Int, Int)
    public init(_ outputSize: (Int, Int)) { self.outputSize = outputSize }
    public convenience init(_ size: Int) { self.init((size, size)) }
    public override func callAsFunction(_ x: Tensor) -> Tensor {
        Functional.adaptiveAvgPool2d(x, outputSize: outputSize)
    }
}

public final class Flatten: Module {
    public let startDim: Int, endDim: Int
    public init(startDim: Int = 1, endDim: Int = -1) {
        self.startDim = startDim
        self.endDim = endDim
    }
    public override func callAsFunction(_ x: Tensor) -> Tensor { x.flatten(startDim: startDim, endDim: endDim) }
}

public final class Identity: Module {
    public override init() {}
    public override func callAsFunction(_ x: Tensor) -> Tensor { x }
}

/// Layers applied in order, keyed `0`, `1`, ... as `nn.Sequential` (or by the
/// names given, as `nn.Sequential(OrderedDict(...))`).
open class Sequential: Module {
    public internal(set) var layers: [Module]
    /// The key of each layer.
    public let keys: [String]

    public init(_ layers: [Module]) {
        self.layers = layers
        self.keys = layers.indices.map(String.init)
    }
    public convenience init(_ layers: Module...) { self.init(layers) }

    /// Named layers, in order.
    public init(named: [(String, Module)]) {
        self.layers = named.map(\.1)
        self.keys = named.map(\.0)
    }

    override func members() -> [Member] {
        zip(keys, layers).map { .child($0.0, $0.1) }
    }

    public subscript(_ index: Int) -> Module { layers[index < 0 ? layers.count + index : index] }
    public var count: Int { layers.count }

    /// Replaces layer `index` (e.g. a new classifier).
    public func replace(_ index: Int, with module: Module) {
        layers[index < 0 ? layers.count + index : index] = module
    }

    open override func callAsFunction(_ x: Tensor) -> Tensor {
        layers.reduce(x) { $1($0) }
    }
}

/// Multi-head self-attention, as `nn.MultiheadAttention(batch_first=True)` with packed
/// projections (keys `in_proj_weight` (3D, D), `in_proj_bias`, `out_proj`), through
/// libtorch's fused `scaled_dot_product_attention`. Input (N, L, D).
public final class MultiheadAttention: Module {
    @Parameter(key: "in_proj_weight") public var inProjWeight: Tensor
    @OptionalParameter(key: "in_proj_bias") public var inProjBias: Tensor? = nil
    public let out_proj: Linear
    public let heads: Int
    public let dropout: Double

    public init(_ dim: Int, heads: Int, dropout: Double = 0, bias: Bool = true) {
        self.heads = heads
        self.dropout = dropout
        out_proj = Linear(dim, dim, bias: bias)
        super.init()
        inProjWeight = Tensor.empty([3 * dim, dim])
        Init.xavierUniform(inProjWeight)
        inProjBias = bias ? Tensor.zeros([3 * dim]) : nil
        if let b = out_proj.bias { Init.constant(b, 0) }
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        out_proj(Self.attend(x, weight: inProjWeight, bias: inProjBias, heads: heads, dropout: isTraining ? dropout : 0))
    }

    /// Self-attention of (N, L, D) tokens with packed q, k, v projections (`weight` (3D, D),
    /// q then k then v, as PyTorch's `in_proj_weight` and timm's `qkv`), before the output
    /// projection: (N, L, D).
    public static func attend(_ x: Tensor, weight: Tensor, bias: Tensor?, heads: Int, dropout: Double = 0) -> Tensor {
        let (n, l, d) = (x.size(0), x.size(1), x.size(2))
        let qkv = Functional.linear(x, weight: weight, bias: bias).reshape([n, l, 3, heads, d / heads])
            .permute([2, 0, 3, 1, 4])
        let y = Functional.scaledDotProductAttention(qkv.select(dim: 0, index: 0), qkv.select(dim: 0, index: 1),
                                                     qkv.select(dim: 0, index: 2), dropout: dropout)
        return y.transposed(1, 2).reshape([n, l, d])
    }
}
