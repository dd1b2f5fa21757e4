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
        Functional.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                          groups: groups)
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

/// Zeroes inputs with probability `p` in training mode, as `nn.Dropout`.
public final class Dropout: Module {
    public let p: Double
    public init(p: Double = 0.5) { self.p = p }
    public override func callAsFunction(_ x: Tensor) -> Tensor { Functional.dropout(x, p: p, training: isTraining) }
}

/// An elementwise activation (no parameters), as `nn.ReLU`, `nn.SiLU`, ...
public final class Activation: Module {
    public enum Kind: Sendable { case relu, relu6, silu, gelu, hardswish, hardsigmoid, sigmoid, tanh }
    public let kind: Kind
    public init(_ kind: Kind) { self.kind = kind }
    public override func callAsFunction(_ x: Tensor) -> Tensor {
        switch kind {
        case .relu: x.relu()
        case .relu6: x.relu6()
        case .silu: x.silu()
        case .gelu: x.gelu()
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
