import CTorch

extension Tensor {
    public func matmul(_ other: Tensor) -> Tensor {
        let output = op(ct_matmul(handle, other.handle), "matmul")
        MultiplyAdds.product(output: output, inner: MultiplyAdds.active ? shape.last ?? 1 : 0)
        return output
    }

    /// A tensor with `shape` (one entry may be -1); a view when possible.
    public func reshape(_ shape: [Int]) -> Tensor {
        let s = int64s(shape)
        return op(ct_reshape(handle, s, s.count), "reshape")
    }
    /// A view with `shape`; fails when the strides don't allow one.
    public func view(_ shape: [Int]) -> Tensor {
        let s = int64s(shape)
        return op(ct_view(handle, s, s.count), "view")
    }
    public func expand(_ shape: [Int]) -> Tensor {
        let s = int64s(shape)
        return op(ct_expand(handle, s, s.count), "expand")
    }
    public func repeated(_ repeats: [Int]) -> Tensor {
        let s = int64s(repeats)
        return op(ct_repeat(handle, s, s.count), "repeat")
    }
    public func permute(_ dims: [Int]) -> Tensor {
        let s = int64s(dims)
        return op(ct_permute(handle, s, s.count), "permute")
    }
    public func transposed(_ dim0: Int, _ dim1: Int) -> Tensor {
        op(ct_transpose(handle, Int64(dim0), Int64(dim1)), "transpose")
    }
    /// Matrix transpose of a 2-d tensor.
    public var t: Tensor { transposed(0, 1) }
    /// Contiguous in `format` (a no-op when already so).
    public func contiguous(_ format: MemoryFormat = .contiguous) -> Tensor {
        op(ct_contiguous(handle, format.rawValue), "contiguous")
    }
    public func flatten(startDim: Int = 0, endDim: Int = -1) -> Tensor {
        op(ct_flatten(handle, Int64(startDim), Int64(endDim)), "flatten")
    }
    /// Removes size-1 dimensions: `dim` only, or all when nil.
    public func squeeze(dim: Int? = nil) -> Tensor { op(ct_squeeze(handle, Int64(dim ?? 0), dim == nil), "squeeze") }
    public func unsqueeze(_ dim: Int) -> Tensor { op(ct_unsqueeze(handle, Int64(dim)), "unsqueeze") }
    public func flip(_ dims: [Int]) -> Tensor {
        let s = int64s(dims)
        return op(ct_flip(handle, s, s.count), "flip")
    }
    /// Shifts elements along `dims` by `shifts`, wrapping around, as `torch.roll`.
    public func roll(_ shifts: [Int], dims: [Int]) -> Tensor {
        let s = int64s(shifts), d = int64s(dims)
        guard s.count == d.count else {
            recordFailure(TorchError(operation: "roll", message: "\(shifts.count) shifts for \(dims.count) dimensions"))
            return Tensor.undefined()
        }
        return op(ct_roll(handle, s, d, s.count), "roll")
    }
    public func select(dim: Int, index: Int) -> Tensor { op(ct_select(handle, Int64(dim), Int64(index)), "select") }
    /// Elements `start..<end` stepping `step` along `dim` (a view); nil end means to the end.
    public func slice(dim: Int, start: Int = 0, end: Int? = nil, step: Int = 1) -> Tensor {
        op(ct_slice(handle, Int64(dim), Int64(start), Int64(end ?? Int(Int64.max)), Int64(step)), "slice")
    }
    public func narrow(dim: Int, start: Int, length: Int) -> Tensor {
        slice(dim: dim, start: start, end: start + length)
    }
    /// `torch.chunk`: up to `chunks` views along `dim` (fewer when the dimension is smaller).
    /// When it fails (inside ``withTorchErrors(_:)``), `chunks` undefined tensors, so code
    /// that indexes the pieces fails as an op, not as an array index.
    public func chunked(_ chunks: Int, dim: Int = 0) -> [Tensor] {
        var out = [ct_tensor?](repeating: nil, count: Swift.max(chunks, 0))
        var n = 0
        let status = ct_chunk(handle, Int64(chunks), Int64(dim), &out, out.count, &n)
        guard status == 0 else {
            opStatus(status, "chunk")
            return (0..<Swift.max(chunks, 0)).map { _ in Tensor.undefined() }
        }
        return out.prefix(n).map { op($0, "chunk") }
    }

    public static func cat(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        let handles: [ct_tensor?] = tensors.map(\.handle)
        return withExtendedLifetime(tensors) { op(ct_cat(handles, handles.count, Int64(dim)), "cat") }
    }
    public static func stack(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        let handles: [ct_tensor?] = tensors.map(\.handle)
        return withExtendedLifetime(tensors) { op(ct_stack(handles, handles.count, Int64(dim)), "stack") }
    }

    public func indexSelect(dim: Int, index: Tensor) -> Tensor {
        op(ct_index_select(handle, Int64(dim), index.handle), "index_select")
    }
    public func gather(dim: Int, index: Tensor) -> Tensor { op(ct_gather(handle, Int64(dim), index.handle), "gather") }
    public func scatterAdd(dim: Int, index: Tensor, source: Tensor) -> Tensor {
        op(ct_scatter_add(handle, Int64(dim), index.handle, source.handle), "scatter_add")
    }
    public func oneHot(numClasses: Int = -1) -> Tensor { op(ct_one_hot(handle, Int64(numClasses)), "one_hot") }
    public func tril(diagonal: Int = 0) -> Tensor { op(ct_tril(handle, Int64(diagonal)), "tril") }

    // MARK: Conversion

    /// Converts to `dtype` (returns self's storage when it already is).
    public func to(_ dtype: DType) -> Tensor { op(ct_to_dtype(handle, dtype.rawValue), "to") }
    /// Moves to `device`, optionally converting dtype.
    public func to(_ device: Device, dtype: DType? = nil, nonBlocking: Bool = false) -> Tensor {
        let o = Options(dtype: dtype ?? self.dtype, device: device)
        return op(ct_to(handle, o.raw, nonBlocking, false), "to")
    }
    /// A copy with its own storage, laid out in `format`.
    public func clone(_ format: MemoryFormat = .preserve) -> Tensor {
        op(ct_clone(handle, format.rawValue), "clone")
    }
}
