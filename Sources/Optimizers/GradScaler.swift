import Torch

/// Dynamic loss scaling for float16 training, as `torch.amp.GradScaler`: the loss is
/// multiplied by a large scale before backward so small gradients survive float16's range;
/// before the step the gradients are divided back (and checked); a step whose gradients hold
/// NaN or ±inf is skipped and the scale backed off, and after `growthInterval` clean steps
/// the scale grows. The same kernels as PyTorch's (`_amp_foreach_non_finite_check_and_unscale_`,
/// `_amp_update_scale_`), so the scales and skipped steps match it step for step.
///
/// Per step: `scale(loss).backward()`, then optionally ``unscale(_:)`` (to clip the true
/// gradients), then ``step(_:)``, then ``update()``.
public final class GradScaler {
    public let growthFactor: Double
    public let backoffFactor: Double
    public let growthInterval: Int
    /// The current scale (one float32 element on the gradients' device).
    public private(set) var scaleTensor: Tensor
    /// Clean steps since the last growth or overflow (one int32 element).
    public private(set) var growthTracker: Tensor
    /// Set by ``unscale(_:)`` until ``update()``: whether this step's gradients overflowed.
    private var foundInf: Tensor?

    public init(initialScale: Double = 65536, growthFactor: Double = 2, backoffFactor: Double = 0.5,
                growthInterval: Int = 2000, device: Device = .cpu) {
        self.growthFactor = growthFactor
        self.backoffFactor = backoffFactor
        self.growthInterval = growthInterval
        scaleTensor = Tensor.full([1], initialScale, dtype: .float32, device: device)
        growthTracker = Tensor.zeros([1], dtype: .int32, device: device)
    }

    /// The scale as a number.
    public var scale: Double { scaleTensor.double }

    /// `loss * scale`, to call `backward()` on.
    public func scale(_ loss: Tensor) -> Tensor { loss * scaleTensor }  // promotes as PyTorch: a float16 loss scales in float32

    /// Divides the optimizer's gradients by the scale in place (once per step) and records
    /// whether any is not finite. ``step(_:)`` calls it when it wasn't called.
    public func unscale(_ optimizer: any Optimizer) throws {
        guard foundInf == nil else { return }
        let grads = optimizer.parameterGroups.flatMap(\.parameters).compactMap { $0.value.grad }
        let found = Tensor.zeros([1], dtype: .float32, device: scaleTensor.device)
        // PyTorch takes the reciprocal in double, then float: the same inverse to the bit.
        let inverse = scaleTensor.to(.float64).reciprocal().to(.float32)
        // The kernel wants one device and dtype per call: group as PyTorch does.
        var groups: [String: [Tensor]] = [:]
        for g in grads { groups["\(g.device)/\(g.dtype)", default: []].append(g) }
        for key in groups.keys.sorted() {
            try Torch.ampUnscale_(groups[key]!, foundInf: found, inverseScale: inverse)
        }
        foundInf = found
    }

    /// Steps the optimizer unless this step's gradients overflowed; returns whether it stepped.
    @discardableResult
    public func step(_ optimizer: any Optimizer) throws -> Bool {
        try unscale(optimizer)
        guard let foundInf, foundInf.double == 0 else { return false }
        optimizer.step()
        return true
    }

    /// Grows or backs off the scale from this step's check, and readies the next step.
    public func update() throws {
        guard let found = foundInf else { return }
        try Torch.ampUpdateScale_(scaleTensor, growthTracker: growthTracker, foundInf: found,
                                  growthFactor: growthFactor, backoffFactor: backoffFactor, growthInterval: growthInterval)
        foundInf = nil
    }

    /// The scale and the clean-step count, for a checkpoint (`GradScaler.state_dict()`'s
    /// `scale` and `_growth_tracker`).
    public var state: (scale: Double, growthTracker: Int) { (scale, Int(growthTracker.int)) }

    /// Restores ``state``.
    public func load(scale: Double, growthTracker: Int) {
        let device = scaleTensor.device
        scaleTensor = Tensor.full([1], scale, dtype: .float32, device: device)
        self.growthTracker = Tensor.full([1], Double(growthTracker), dtype: .int32, device: device)
        foundInf = nil
    }
}
