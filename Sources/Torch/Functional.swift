import CTorch

/// How a loss reduces over the batch. Raw values are `at::Reduction`'s.
public enum Reduction: Int32, Sendable {
    case none = 0
    case mean = 1
    case sum = 2
}

/// Interpolation modes for ``Functional/interpolate(_:size:scaleFactor:mode:alignCorners:antialias:)``.
public enum InterpolationMode: Int32, Sendable {
    case nearest = 0
    case bilinear = 1
    case bicubic = 2
}

/// Where ``Functional/gridSample(_:grid:mode:paddingMode:alignCorners:)`` reads outside the
/// input. Raw values are `at::native::GridSamplerPadding`'s.
public enum GridSamplePadding: Int32, Sendable {
    case zeros = 0
    case border = 1
    case reflection = 2
}

/// The functions behind the layers, as `torch.nn.functional`. Images are NCHW
/// (whatever the memory format); pairs are (height, width).
public enum Functional {
    public static func conv2d(
        _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
        padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1
    ) -> Tensor {
        let s = [Int64(stride.0), Int64(stride.1)], p = [Int64(padding.0), Int64(padding.1)]
        let d = [Int64(dilation.0), Int64(dilation.1)]
        let output = op(ct_conv2d(input.handle, weight.handle, bias?.handle, s, p, d, Int64(groups)), "conv2d")
        MultiplyAdds.convolution(output: output, weight: weight)
        return output
    }

    /// Constant padding; `pad` lists (before, after) pairs from the last dimension
    /// backwards, as `F.pad`: `[left, right, top, bottom]` for images. Asymmetric is fine.
    public static func pad(_ input: Tensor, _ pad: [Int], value: Double = 0) -> Tensor {
        let p = int64s(pad)
        return op(ct_pad(input.handle, p, p.count, value), "pad")
    }

    /// Batch normalisation. In training mode, batch statistics normalise and the
    /// running statistics (if given) are updated in place with `momentum`, as PyTorch does.
    public static func batchNorm(
        _ input: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor? = nil, bias: Tensor? = nil,
        training: Bool, momentum: Double = 0.1, eps: Double = 1e-5
    ) -> Tensor {
        op(ct_batch_norm(input.handle, weight?.handle, bias?.handle, runningMean?.handle, runningVar?.handle,
                         training, momentum, eps), "batch_norm")
    }

    /// `input @ weight.T + bias`; weight is (out, in).
    public static func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let output = op(ct_linear(input.handle, weight.handle, bias?.handle), "linear")
        MultiplyAdds.product(output: output, inner: MultiplyAdds.active ? weight.size(-1) : 0)
        return output
    }

    /// Normalises over the trailing `normalizedShape` dimensions, as `F.layer_norm`.
    public static func layerNorm(_ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
                                 eps: Double = 1e-5) -> Tensor {
        let shape = int64s(normalizedShape)
        return op(ct_layer_norm(input.handle, shape, shape.count, weight?.handle, bias?.handle, eps), "layer_norm")
    }

    /// `softmax(q kᵀ · scale + mask) v` through libtorch's fused kernels (flash or
    /// memory-efficient where they apply), as `F.scaled_dot_product_attention`. Shapes
    /// (…, L, E) for `query`, (…, S, E) for `key` and (…, S, Ev) for `value`; `mask` is
    /// boolean (true attends) or added to the scores; `scale` nil is 1/√E. Dropout draws
    /// from the global generator.
    public static func scaledDotProductAttention(_ query: Tensor, _ key: Tensor, _ value: Tensor, mask: Tensor? = nil,
                                                 dropout: Double = 0, isCausal: Bool = false,
                                                 scale: Double? = nil) -> Tensor {
        let output: Tensor
        if var scale {
            output = op(ct_scaled_dot_product_attention(query.handle, key.handle, value.handle, mask?.handle, dropout,
                                                        isCausal, &scale), "scaled_dot_product_attention")
        } else {
            output = op(ct_scaled_dot_product_attention(query.handle, key.handle, value.handle, mask?.handle, dropout,
                                                        isCausal, nil), "scaled_dot_product_attention")
        }
        if MultiplyAdds.active && output.isDefined {
            // q kᵀ then the weights times v: (…·L) rows, S keys, E + Ev multiply-adds each.
            let (e, ev, s) = (query.size(-1), value.size(-1), key.size(-2))
            MultiplyAdds.add(output.count / max(ev, 1) * s * (e + ev))
        }
        return output
    }

    public static func relu(_ x: Tensor) -> Tensor { x.unary(CT_RELU, "relu") }
    public static func relu6(_ x: Tensor) -> Tensor { x.unary(CT_RELU6, "relu6") }
    public static func silu(_ x: Tensor) -> Tensor { x.unary(CT_SILU, "silu") }
    public static func hardswish(_ x: Tensor) -> Tensor { x.unary(CT_HARDSWISH, "hardswish") }
    public static func hardsigmoid(_ x: Tensor) -> Tensor { x.unary(CT_HARDSIGMOID, "hardsigmoid") }
    public static func sigmoid(_ x: Tensor) -> Tensor { x.unary(CT_SIGMOID, "sigmoid") }
    public static func tanh(_ x: Tensor) -> Tensor { x.unary(CT_TANH, "tanh") }
    /// GELU, exact (erf) or with the tanh approximation.
    public static func gelu(_ x: Tensor, approximateTanh: Bool = false) -> Tensor {
        op(ct_gelu(x.handle, approximateTanh), "gelu")
    }
    public static func leakyRelu(_ x: Tensor, negativeSlope: Double = 0.01) -> Tensor {
        op(ct_leaky_relu(x.handle, negativeSlope), "leaky_relu")
    }

    /// Max pooling; `stride` defaults to `kernelSize`.
    public static func maxPool2d(
        _ input: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), ceilMode: Bool = false
    ) -> Tensor {
        let st = stride ?? kernelSize
        let k = [Int64(kernelSize.0), Int64(kernelSize.1)], s = [Int64(st.0), Int64(st.1)]
        let p = [Int64(padding.0), Int64(padding.1)], d = [Int64(dilation.0), Int64(dilation.1)]
        return op(ct_max_pool2d(input.handle, k, s, p, d, ceilMode), "max_pool2d")
    }

    /// Average pooling; `stride` defaults to `kernelSize`.
    public static func avgPool2d(
        _ input: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
        ceilMode: Bool = false, countIncludePad: Bool = true
    ) -> Tensor {
        let st = stride ?? kernelSize
        let k = [Int64(kernelSize.0), Int64(kernelSize.1)], s = [Int64(st.0), Int64(st.1)]
        let p = [Int64(padding.0), Int64(padding.1)]
        return op(ct_avg_pool2d(input.handle, k, s, p, ceilMode, countIncludePad), "avg_pool2d")
    }

    public static func adaptiveAvgPool2d(_ input: Tensor, outputSize: (Int, Int)) -> Tensor {
        op(ct_adaptive_avg_pool2d(input.handle, [Int64(outputSize.0), Int64(outputSize.1)]), "adaptive_avg_pool2d")
    }
    public static func adaptiveMaxPool2d(_ input: Tensor, outputSize: (Int, Int)) -> Tensor {
        op(ct_adaptive_max_pool2d(input.handle, [Int64(outputSize.0), Int64(outputSize.1)]), "adaptive_max_pool2d")
    }

    /// Zeroes elements with probability `p` and scales the rest by 1/(1-p) when `training`.
    /// Draws from the global generator, as PyTorch does.
    public static func dropout(_ input: Tensor, p: Double, training: Bool) -> Tensor {
        op(ct_dropout(input.handle, p, training), "dropout")
    }

    public static func softmax(_ input: Tensor, dim: Int) -> Tensor { op(ct_softmax(input.handle, Int64(dim)), "softmax") }
    public static func logSoftmax(_ input: Tensor, dim: Int) -> Tensor {
        op(ct_log_softmax(input.handle, Int64(dim)), "log_softmax")
    }

    /// Resizes NCHW images to `size` (height, width) or by `scaleFactor`, as `F.interpolate`.
    public static func interpolate(
        _ input: Tensor, size: (Int, Int)? = nil, scaleFactor: (Double, Double)? = nil,
        mode: InterpolationMode = .nearest, alignCorners: Bool = false, antialias: Bool = false
    ) -> Tensor {
        guard (size == nil) != (scaleFactor == nil) else {
            recordFailure(TorchError(operation: "interpolate",
                                     message: "give exactly one of an output size or a scale factor"))
            return Tensor.undefined()
        }
        if let size {
            return op(ct_interpolate(input.handle, mode.rawValue, [Int64(size.0), Int64(size.1)], nil,
                                     alignCorners, antialias), "interpolate")
        }
        let f = scaleFactor!
        return op(ct_interpolate(input.handle, mode.rawValue, nil, [f.0, f.1], alignCorners, antialias), "interpolate")
    }

    /// Samples NCHW `input` at the (x, y) locations of `grid` (N, Hout, Wout, 2), normalized to
    /// -1…1, as `F.grid_sample`.
    public static func gridSample(
        _ input: Tensor, grid: Tensor, mode: InterpolationMode = .bilinear, paddingMode: GridSamplePadding = .zeros,
        alignCorners: Bool = false
    ) -> Tensor {
        // at::grid_sampler numbers its modes bilinear 0, nearest 1, bicubic 2.
        let raw: Int32 = switch mode { case .bilinear: 0; case .nearest: 1; case .bicubic: 2 }
        return op(ct_grid_sample(input.handle, grid.handle, raw, paddingMode.rawValue, alignCorners), "grid_sample")
    }

    /// Cross-entropy of logits (N, C) against class indices (N) — or class
    /// probabilities (N, C) — with optional class weights, label smoothing and an ignored index.
    public static func crossEntropy(
        _ logits: Tensor, _ target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean,
        ignoreIndex: Int = -100, labelSmoothing: Double = 0
    ) -> Tensor {
        op(ct_cross_entropy(logits.handle, target.handle, weight?.handle, reduction.rawValue, Int64(ignoreIndex),
                            labelSmoothing), "cross_entropy")
    }

    /// Negative log-likelihood of log-probabilities (N, C) against class indices (N).
    public static func nllLoss(
        _ logProbabilities: Tensor, _ target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean,
        ignoreIndex: Int = -100
    ) -> Tensor {
        op(ct_nll_loss(logProbabilities.handle, target.handle, weight?.handle, reduction.rawValue, Int64(ignoreIndex)),
           "nll_loss")
    }

    public static func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
        op(ct_mse_loss(input.handle, target.handle, reduction.rawValue), "mse_loss")
    }

    public static func binaryCrossEntropyWithLogits(
        _ input: Tensor, _ target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean
    ) -> Tensor {
        op(ct_bce_with_logits(input.handle, target.handle, weight?.handle, reduction.rawValue), "binary_cross_entropy_with_logits")
    }
}

extension Tensor {
    public func relu() -> Tensor { Functional.relu(self) }
    public func relu6() -> Tensor { Functional.relu6(self) }
    public func silu() -> Tensor { Functional.silu(self) }
    public func gelu(approximateTanh: Bool = false) -> Tensor { Functional.gelu(self, approximateTanh: approximateTanh) }
    public func hardswish() -> Tensor { Functional.hardswish(self) }
    public func hardsigmoid() -> Tensor { Functional.hardsigmoid(self) }
    public func softmax(dim: Int) -> Tensor { Functional.softmax(self, dim: dim) }
    public func logSoftmax(dim: Int) -> Tensor { Functional.logSoftmax(self, dim: dim) }
}
