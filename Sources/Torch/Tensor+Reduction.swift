import CTorch

extension Tensor {
    @inline(__always)
    func withDims<R>(_ dims: [Int]?, _ body: (UnsafePointer<Int64>?, Int) -> R) -> R {
        guard let dims, !dims.isEmpty else { return body(nil, 0) }
        let d = int64s(dims)
        return d.withUnsafeBufferPointer { body($0.baseAddress, d.count) }
    }

    /// Sum over `dims` (all when nil); `dtype` converts before summing (as `torch.sum(dtype=)`).
    public func sum(dims: [Int]? = nil, keepDim: Bool = false, dtype: DType? = nil) -> Tensor {
        withDims(dims) { op(ct_sum(handle, $0, $1, keepDim, dtype?.rawValue ?? -1), "sum") }
    }
    public func sum(dim: Int, keepDim: Bool = false) -> Tensor { sum(dims: [dim], keepDim: keepDim) }

    public func mean(dims: [Int]? = nil, keepDim: Bool = false) -> Tensor {
        withDims(dims) { op(ct_mean(handle, $0, $1, keepDim), "mean") }
    }
    public func mean(dim: Int, keepDim: Bool = false) -> Tensor { mean(dims: [dim], keepDim: keepDim) }

    public func prod() -> Tensor { op(ct_prod(handle, 0, true, false), "prod") }
    public func prod(dim: Int, keepDim: Bool = false) -> Tensor { op(ct_prod(handle, Int64(dim), false, keepDim), "prod") }

    /// Variance with Bessel's `correction` (1 = unbiased, PyTorch's default).
    public func variance(dims: [Int]? = nil, correction: Double = 1, keepDim: Bool = false) -> Tensor {
        withDims(dims) { op(ct_var(handle, $0, $1, correction, keepDim), "var") }
    }
    public func std(dims: [Int]? = nil, correction: Double = 1, keepDim: Bool = false) -> Tensor {
        withDims(dims) { op(ct_std(handle, $0, $1, correction, keepDim), "std") }
    }
    /// The p-norm over `dims` (all when nil), as `torch.linalg.vector_norm`.
    public func norm(_ p: Double = 2, dims: [Int]? = nil, keepDim: Bool = false) -> Tensor {
        withDims(dims) { op(ct_norm(handle, p, $0, $1, keepDim), "norm") }
    }
    public func logSumExp(dims: [Int], keepDim: Bool = false) -> Tensor {
        withDims(dims) { op(ct_logsumexp(handle, $0, $1, keepDim), "logsumexp") }
    }

    /// The largest value over all elements.
    public func max() -> Tensor { withDims(nil) { op(ct_amax(handle, $0, $1, false), "max") } }
    public func min() -> Tensor { withDims(nil) { op(ct_amin(handle, $0, $1, false), "min") } }
    /// Largest values along `dim` and their indices, as `torch.max(x, dim)`.
    public func max(dim: Int, keepDim: Bool = false) -> (values: Tensor, indices: Tensor) {
        var v: ct_tensor?, i: ct_tensor?
        opStatus(ct_max_dim(handle, Int64(dim), keepDim, &v, &i), "max")
        return (op(v, "max"), op(i, "max"))
    }
    public func min(dim: Int, keepDim: Bool = false) -> (values: Tensor, indices: Tensor) {
        var v: ct_tensor?, i: ct_tensor?
        opStatus(ct_min_dim(handle, Int64(dim), keepDim, &v, &i), "min")
        return (op(v, "min"), op(i, "min"))
    }
    public func amax(dims: [Int], keepDim: Bool = false) -> Tensor {
        withDims(dims) { op(ct_amax(handle, $0, $1, keepDim), "amax") }
    }
    public func amin(dims: [Int], keepDim: Bool = false) -> Tensor {
        withDims(dims) { op(ct_amin(handle, $0, $1, keepDim), "amin") }
    }
    /// Index of the largest value along `dim`, or of the flattened tensor when nil.
    public func argmax(dim: Int? = nil, keepDim: Bool = false) -> Tensor {
        op(ct_argmax(handle, Int64(dim ?? 0), dim == nil, keepDim), "argmax")
    }
    public func argmin(dim: Int? = nil, keepDim: Bool = false) -> Tensor {
        op(ct_argmin(handle, Int64(dim ?? 0), dim == nil, keepDim), "argmin")
    }
    public func all() -> Tensor { op(ct_all(handle), "all") }
    public func any() -> Tensor { op(ct_any(handle), "any") }
    public func cumsum(dim: Int) -> Tensor { op(ct_cumsum(handle, Int64(dim)), "cumsum") }

    /// The `k` largest (or smallest) values along `dim` and their indices.
    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true, sorted: Bool = true)
        -> (values: Tensor, indices: Tensor)
    {
        var v: ct_tensor?, i: ct_tensor?
        opStatus(ct_topk(handle, Int64(k), Int64(dim), largest, sorted, &v, &i), "topk")
        return (op(v, "topk"), op(i, "topk"))
    }
    public func sort(dim: Int = -1, descending: Bool = false, stable: Bool = false)
        -> (values: Tensor, indices: Tensor)
    {
        var v: ct_tensor?, i: ct_tensor?
        opStatus(ct_sort(handle, Int64(dim), descending, stable, &v, &i), "sort")
        return (op(v, "sort"), op(i, "sort"))
    }
    /// Counts of each non-negative integer value (optionally weighted).
    public func bincount(weights: Tensor? = nil, minLength: Int = 0) -> Tensor {
        op(ct_bincount(handle, weights?.handle, Int64(minLength)), "bincount")
    }
}

extension Tensor {
    /// The thin (or full) singular value decomposition, `self = u · diag(s) · vh`, as
    /// `torch.linalg.svd` (LAPACK through libtorch). An error like any op's.
    public func svd(fullMatrices: Bool = false) -> (u: Tensor, s: Tensor, vh: Tensor) {
        var u: ct_tensor?, s: ct_tensor?, vh: ct_tensor?
        let status = ct_linalg_svd(handle, fullMatrices, &u, &s, &vh)
        guard status == 0, let u, let s, let vh else {
            opStatus(status == 0 ? -1 : status, "linalg_svd")
            return (.undefined(), .undefined(), .undefined())
        }
        return (Tensor(handle: u), Tensor(handle: s), Tensor(handle: vh))
    }
}
