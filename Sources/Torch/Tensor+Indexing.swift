import CTorch

/// One entry of a subscript: `x[0]`, `x[1..<3]`, `x[.all, 2]`, `x[.ellipsis, 0]`, `x[.newAxis]`, `x[mask]`.
public enum TensorIndex: Sendable {
    case index(Int)
    case range(start: Int?, end: Int?, step: Int)
    case all
    case newAxis
    case ellipsis
    case tensor(Tensor)
}

public protocol TensorIndexConvertible { var tensorIndex: TensorIndex { get } }
extension TensorIndex: TensorIndexConvertible { public var tensorIndex: TensorIndex { self } }
extension Int: TensorIndexConvertible { public var tensorIndex: TensorIndex { .index(self) } }
extension Range<Int>: TensorIndexConvertible {
    public var tensorIndex: TensorIndex { .range(start: lowerBound, end: upperBound, step: 1) }
}
extension ClosedRange<Int>: TensorIndexConvertible {
    public var tensorIndex: TensorIndex { .range(start: lowerBound, end: upperBound + 1, step: 1) }
}
extension PartialRangeFrom<Int>: TensorIndexConvertible {
    public var tensorIndex: TensorIndex { .range(start: lowerBound, end: nil, step: 1) }
}
extension PartialRangeUpTo<Int>: TensorIndexConvertible {
    public var tensorIndex: TensorIndex { .range(start: nil, end: upperBound, step: 1) }
}
extension Tensor: TensorIndexConvertible { public var tensorIndex: TensorIndex { .tensor(self) } }

extension Tensor {
    /// NumPy/PyTorch indexing. Integer, range, `.all`, `.newAxis` and `.ellipsis`
    /// entries give views; a tensor entry (integer indices or a bool mask) gives a copy.
    public subscript(_ indices: any TensorIndexConvertible...) -> Tensor {
        get { index(indices.map(\.tensorIndex)) }
        set { assign(indices.map(\.tensorIndex), newValue) }
    }

    /// Applies basic indexing; returns the view and, per remaining dimension, an advanced index.
    private func basic(_ indices: [TensorIndex]) -> (Tensor, [Tensor?]) {
        var result = self
        var dim = 0
        var advanced: [Tensor?] = []
        let consuming = indices.filter {
            switch $0 { case .newAxis, .ellipsis: false; default: true }
        }.count
        for entry in indices {
            switch entry {
            case .index(let i):
                result = result.select(dim: dim, index: i)
            case .range(let start, let end, let step):
                result = result.slice(dim: dim, start: start ?? 0, end: end, step: step)
                advanced.append(nil)
                dim += 1
            case .all:
                advanced.append(nil)
                dim += 1
            case .newAxis:
                result = result.unsqueeze(dim)
                advanced.append(nil)
                dim += 1
            case .ellipsis:
                let skip = Swift.max(0, rank - consuming)
                advanced.append(contentsOf: Array(repeating: nil, count: skip))
                dim += skip
            case .tensor(let t):
                advanced.append(t)
                dim += t.dtype == .bool ? t.rank : 1
            }
        }
        return (result, advanced)
    }

    func index(_ indices: [TensorIndex]) -> Tensor {
        let (view, advanced) = basic(indices)
        guard advanced.contains(where: { $0 != nil }) else { return view }
        let handles: [ct_tensor?] = advanced.map { $0?.handle }
        return withExtendedLifetime(advanced) { op(ct_index(view.handle, handles, handles.count), "index") }
    }

    func assign(_ indices: [TensorIndex], _ value: Tensor) {
        let (view, advanced) = basic(indices)
        if advanced.contains(where: { $0 != nil }) {
            let handles: [ct_tensor?] = advanced.map { $0?.handle }
            withExtendedLifetime(advanced) {
                _ = op(ct_index_put_(view.handle, handles, handles.count, value.handle, false), "index_put_")
            }
        } else {
            view.copy_(value)
        }
    }
}
