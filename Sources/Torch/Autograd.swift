import CTorch

extension Tensor {
    /// Whether autograd records operations on this tensor.
    public var requiresGrad: Bool {
        get { ct_requires_grad(handle) }
        set { opStatus(ct_set_requires_grad(handle, newValue), "requires_grad") }
    }

    /// Sets ``requiresGrad`` and returns self, as `tensor.requires_grad_()`.
    @discardableResult
    public func requiresGrad(_ flag: Bool = true) -> Tensor {
        requiresGrad = flag
        return self
    }

    /// Whether the tensor was created by the user rather than by a recorded op.
    public var isLeaf: Bool { ct_is_leaf(handle) }

    /// The accumulated gradient, or nil when none has been computed (or it was cleared).
    public var grad: Tensor? {
        get {
            let g = op(ct_grad(handle), "grad")
            return g.isDefined ? g : nil
        }
        set { opStatus(ct_set_grad(handle, newValue?.handle), "grad") }
    }

    /// Zeroes the gradient in place, keeping its memory (`set_to_none: false`).
    public func zeroGrad() {
        grad?.zero_()
    }

    /// Computes gradients of this tensor with respect to the leaves that require them.
    /// `gradient` is required unless the tensor has one element.
    public func backward(gradient: Tensor? = nil, retainGraph: Bool = false, createGraph: Bool = false) {
        opStatus(ct_backward(handle, gradient?.handle, retainGraph, createGraph), "backward")
    }

    /// Keeps `.grad` for a non-leaf tensor.
    public func retainGrad() { opStatus(ct_retain_grad(handle), "retain_grad") }

    /// A tensor sharing storage, cut from the graph.
    public func detach() -> Tensor { op(ct_detach(handle), "detach") }
}

/// `torch.autograd.grad`: the gradients of `outputs` with respect to `inputs`
/// (nil for an input that doesn't affect the outputs).
public func gradients(
    of outputs: [Tensor], withRespectTo inputs: [Tensor], gradOutputs: [Tensor]? = nil,
    retainGraph: Bool = false, createGraph: Bool = false
) -> [Tensor?] {
    let outs: [ct_tensor?] = outputs.map(\.handle)
    let ins: [ct_tensor?] = inputs.map(\.handle)
    let gouts: [ct_tensor?]? = gradOutputs?.map(\.handle)
    var results = [ct_tensor?](repeating: nil, count: inputs.count)
    let status = withExtendedLifetime((outputs, inputs, gradOutputs)) {
        ct_autograd_grad(outs, outs.count, gouts, ins, ins.count, retainGraph, createGraph, &results)
    }
    opStatus(status, "autograd.grad")
    return results.map { h in
        guard let h else { return nil }
        let t = Tensor(handle: h)
        return t.isDefined ? t : nil
    }
}

extension Torch {
    /// Whether operations are currently recorded for autograd (on this thread).
    public static var isGradEnabled: Bool { ct_grad_enabled() }

    /// Runs `body` without recording operations for autograd, as `torch.no_grad()`.
    @discardableResult
    public static func noGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = ct_grad_enabled()
        ct_set_grad_enabled(false)
        defer { ct_set_grad_enabled(previous) }
        return try body()
    }

    /// Runs `body` with autograd recording on, as `torch.enable_grad()`.
    @discardableResult
    public static func enableGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = ct_grad_enabled()
        ct_set_grad_enabled(true)
        defer { ct_set_grad_enabled(previous) }
        return try body()
    }

    /// Runs `body` in inference mode, as `torch.inference_mode()`: faster than
    /// ``noGrad(_:)``, but tensors made inside can never join a graph later.
    @discardableResult
    public static func inferenceMode<R>(_ body: () throws -> R) rethrows -> R {
        let guardHandle = ct_inference_mode_enter()
        defer { ct_inference_mode_exit(guardHandle) }
        return try body()
    }

    public static var isInferenceMode: Bool { ct_inference_mode_enabled() }
}
