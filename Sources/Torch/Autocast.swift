import CTorch

/// Mixed precision, as `torch.autocast`: inside a scope, libtorch's own autocast lists
/// decide which ops run in the lower-precision type (convolutions, matrix products,
/// attention) and which stay in fp32 (losses, norms of reductions, softmax where PyTorch
/// keeps it); parameters stay fp32 and are cast per scope, the casts cached until the
/// outermost scope ends. The state is libtorch's, per device type and per thread, so a
/// scope covers the ops this thread runs inside it and nothing else.
extension Torch {
    /// `torch.autocast(device_type, dtype, enabled, cache_enabled)` around `body`: sets the
    /// device type's autocast flag and dtype, counts the nesting and restores all three on
    /// the way out; the outermost scope clears the cast cache, as PyTorch's `__exit__`.
    ///
    /// Device types without autocast are an error of the first tier (see ``TorchError``):
    /// inside ``withTorchErrors(_:)`` it is thrown and `body` runs without autocast.
    @discardableResult
    public static func autocast<R>(_ device: Device, dtype: DType, enabled: Bool = true, cacheEnabled: Bool = true,
                                   _ body: () throws -> R) rethrows -> R {
        let type = device.rawType
        let previousDType = ct_autocast_dtype(type)
        guard previousDType >= 0, ct_autocast_set_dtype(type, dtype.rawValue) == 0 else {
            recordFailure(TorchError.take("autocast"))  // no autocast for this device type, or not this dtype
            return try body()
        }
        let previousEnabled = ct_autocast_enabled(type)
        let previousCache = ct_autocast_cache_enabled()
        opStatus(ct_autocast_set_enabled(type, enabled), "autocast")
        _ = ct_autocast_increment_nesting()
        ct_autocast_set_cache_enabled(cacheEnabled)
        defer {
            if ct_autocast_decrement_nesting() == 0 { _ = ct_autocast_clear_cache() }
            _ = ct_autocast_set_enabled(type, previousEnabled)
            _ = ct_autocast_set_dtype(type, previousDType)
            ct_autocast_set_cache_enabled(previousCache)
        }
        return try body()
    }

    /// Runs `body` in `precision` on `device`: as it is for fp32, under ``autocast(_:dtype:enabled:cacheEnabled:_:)``
    /// with bf16 or fp16 otherwise.
    @discardableResult
    public static func withPrecision<R>(_ precision: Precision, on device: Device, _ body: () throws -> R) rethrows -> R {
        guard let dtype = precision.autocastDType else { return try body() }
        return try autocast(device, dtype: dtype, body)
    }

    /// `body`'s tensor computed in `precision` on `device` and handed back in float32: the
    /// forward pass of evaluation, prediction and feature extraction, whose logits and
    /// features are fp32 whatever ran inside.
    public static func float32Result(of precision: Precision, on device: Device, _ body: () throws -> Tensor) rethrows -> Tensor {
        try withPrecision(precision, on: device, body).to(.float32)
    }

    /// Whether autocast is on for `device`'s type on this thread.
    public static func isAutocastEnabled(_ device: Device) -> Bool {
        let enabled = ct_autocast_enabled(device.rawType)
        ct_clear_error()
        return enabled
    }

    /// The lower-precision type autocast uses for `device`'s type on this thread
    /// (libtorch's defaults: bfloat16 on the CPU, float16 on CUDA).
    public static func autocastDType(_ device: Device) -> DType? {
        DType(rawValue: ct_autocast_dtype(device.rawType))
    }

    /// The autocast cache's flag, as `torch.is_autocast_cache_enabled()`.
    public static var isAutocastCacheEnabled: Bool { ct_autocast_cache_enabled() }
}

/// The arithmetic a model runs in: fp32 throughout, or autocast to bfloat16 or float16
/// with fp32 master weights. Saved models, feature caches and metrics are fp32 in every case.
public enum Precision: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case fp32, bf16, fp16

    /// The type autocast lowers to; nil for fp32.
    public var autocastDType: DType? {
        switch self {
        case .fp32: nil
        case .bf16: .bfloat16
        case .fp16: .float16
        }
    }

    /// Whether training needs a loss scaler (float16's range is too narrow for small gradients).
    public var needsLossScaling: Bool { self == .fp16 }

    public var description: String { rawValue }
}

/// The kernels behind `torch.amp.GradScaler` (``GradScaler`` in Optimizers uses them).
extension Torch {
    /// `torch._amp_foreach_non_finite_check_and_unscale_`: every gradient multiplied by
    /// `inverseScale` in place; `foundInf` (one float element) set to 1 when any holds NaN or ±inf.
    public static func ampUnscale_(_ grads: [Tensor], foundInf: Tensor, inverseScale: Tensor) throws {
        let handles: [ct_tensor?] = grads.map(\.handle)
        let status = withExtendedLifetime((grads, foundInf, inverseScale)) {
            ct_amp_unscale_(handles, handles.count, foundInf.handle, inverseScale.handle)
        }
        try checkStatus(status, "_amp_foreach_non_finite_check_and_unscale_")
    }

    /// `torch._amp_update_scale_`: after `growthInterval` steps without an overflow the scale
    /// grows by `growthFactor`; an overflow multiplies it by `backoffFactor` and resets the count.
    public static func ampUpdateScale_(_ scale: Tensor, growthTracker: Tensor, foundInf: Tensor, growthFactor: Double,
                                       backoffFactor: Double, growthInterval: Int) throws {
        let status = withExtendedLifetime((scale, growthTracker, foundInf)) {
            ct_amp_update_scale_(scale.handle, growthTracker.handle, foundInf.handle, growthFactor, backoffFactor,
                                 Int64(growthInterval))
        }
        try checkStatus(status, "_amp_update_scale_")
    }
}
