import CTorch
import Foundation

/// An n-dimensional array on libtorch, with autograd.
///
/// A `Tensor` owns one libtorch handle and frees it in `deinit`. Like
/// `torch.Tensor`, several `Tensor`s may share storage (views, in-place ops);
/// values are not copied unless an op says so.
public final class Tensor: @unchecked Sendable {
    let handle: ct_tensor

    init(handle: ct_tensor) {
        self.handle = handle
    }

    deinit { ct_free(handle) }

    // MARK: Metadata

    /// A tensor without data: a placeholder until a real one is assigned.
    public static func undefined() -> Tensor { Tensor(handle: ct_undefined()!) }

    /// Whether the tensor holds data (an op that failed inside ``withTorchErrors(_:)`` yields an undefined one).
    public var isDefined: Bool { ct_defined(handle) }

    /// The number of dimensions. On an undefined tensor (an earlier op failed) this is an
    /// error like any op's: it traps, or is recorded inside ``withTorchErrors(_:)`` (then 0).
    public var rank: Int {
        let n = ct_dim(handle)
        guard n >= 0 else { opStatus(-1, "dim"); return 0 }
        return Int(n)
    }

    /// Sizes, outermost first (NCHW for images whatever the memory format).
    public var shape: [Int] {
        let n = rank
        guard n > 0 else { return [] }
        var sizes = [Int64](repeating: 0, count: n)
        opStatus(ct_sizes(handle, &sizes), "shape")
        return sizes.map(Int.init)
    }

    /// Strides in elements.
    public var strides: [Int] {
        let n = rank
        guard n > 0 else { return [] }
        var s = [Int64](repeating: 0, count: n)
        opStatus(ct_strides(handle, &s), "strides")
        return s.map(Int.init)
    }

    /// The size of dimension `dim` (negative counts from the end). Out of range, an error
    /// like any op's (recorded inside ``withTorchErrors(_:)``, then 0).
    public func size(_ dim: Int) -> Int {
        let s = shape
        let index = dim < 0 ? dim + s.count : dim
        guard s.indices.contains(index) else {
            recordFailure(TorchError(operation: "size", message: "dimension \(dim) is out of range for a tensor of rank \(s.count)"))
            return 0
        }
        return s[index]
    }

    /// The element type; on an undefined tensor, or a libtorch type Graft has no name for,
    /// an error like any op's (recorded inside ``withTorchErrors(_:)``, then `.float32`).
    public var dtype: DType {
        let raw = ct_dtype(handle)
        guard raw >= 0 else { opStatus(-1, "dtype"); return .float32 }
        guard let dtype = DType(rawValue: raw) else {
            recordFailure(TorchError(operation: "dtype", message: "libtorch scalar type \(raw) has no Graft DType"))
            return .float32
        }
        return dtype
    }

    public var device: Device {
        var type: Int32 = 0, index: Int32 = 0
        opStatus(ct_device(handle, &type, &index), "device")
        return Device(rawType: type, index: index)
    }

    public var count: Int {
        let n = ct_numel(handle)
        guard n >= 0 else { opStatus(-1, "numel"); return 0 }
        return Int(n)
    }
    public var storageOffset: Int { Int(ct_storage_offset(handle)) }

    public func isContiguous(_ format: MemoryFormat = .contiguous) -> Bool {
        ct_is_contiguous(handle, format.rawValue)
    }

    /// libtorch's own printout of the values.
    public var valueDescription: String {
        var buffer = [CChar](repeating: 0, count: 8192)
        _ = ct_describe(handle, &buffer, buffer.count)
        return string(fromCBuffer: buffer)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        guard isDefined else { return "Tensor(undefined)" }
        return "Tensor(shape: \(shape), dtype: \(dtype), device: \(device))"
    }
}

struct Options {
    var dtype: DType
    var device: Device
    var raw: ct_options { ct_options(dtype: dtype.rawValue, device_type: device.rawType, device_index: device.rawIndex) }
}

@inline(__always)
func int64s(_ values: [Int]) -> [Int64] { values.map(Int64.init) }

// MARK: - Creation

extension Tensor {
    /// A copy of `values` with the given shape (default: 1-d).
    public convenience init<T: TensorElement>(_ values: [T], shape: [Int]? = nil) {
        let shape = shape ?? [values.count]
        precondition(shape.reduce(1, *) == values.count,
                     "Tensor(_:shape:): \(values.count) values don't fill shape \(shape)")
        let t = values.withUnsafeBytes { raw -> Tensor in
            let dtype = T.dtype
            let sizes = int64s(shape)
            let h = ct_empty(sizes, sizes.count, Options(dtype: dtype, device: .cpu).raw)
            let out = op(h, "Tensor.init")
            if raw.count > 0 { memcpy(ct_data_ptr(out.handle), raw.baseAddress!, raw.count) }
            return out
        }
        self.init(sharing: t)
    }

    /// Another handle to the same tensor (shares storage and autograd identity).
    public convenience init(sharing other: Tensor) {
        self.init(handle: ct_shallow_copy(other.handle)!)
    }

    /// A 0-d tensor holding `value`.
    public convenience init<T: TensorElement>(scalar value: T) {
        self.init([value], shape: [])
    }

    /// Wraps memory you own without copying it. `deallocate` runs once libtorch
    /// no longer needs the memory (when the last tensor or view on it is freed).
    ///
    /// - Parameters:
    ///   - strides: in elements; nil for contiguous row-major.
    public static func fromBlob(
        _ pointer: UnsafeMutableRawPointer, shape: [Int], strides: [Int]? = nil, dtype: DType,
        deallocate: @escaping @Sendable () -> Void
    ) throws -> Tensor {
        final class Box { let run: @Sendable () -> Void; init(_ run: @escaping @Sendable () -> Void) { self.run = run } }
        let context = Unmanaged.passRetained(Box(deallocate)).toOpaque()
        let sizes = int64s(shape)
        let h: ct_tensor?
        if let strides {
            precondition(strides.count == shape.count, "fromBlob: \(strides.count) strides for rank \(shape.count)")
            h = ct_from_blob(pointer, sizes, int64s(strides), sizes.count, dtype.rawValue, context) { ctx in
                let box = Unmanaged<Box>.fromOpaque(ctx!).takeRetainedValue()
                box.run()
            }
        } else {
            h = ct_from_blob(pointer, sizes, nil, sizes.count, dtype.rawValue, context) { ctx in
                let box = Unmanaged<Box>.fromOpaque(ctx!).takeRetainedValue()
                box.run()
            }
        }
        if h == nil { Unmanaged<Box>.fromOpaque(context).release() }
        return try check(h, "fromBlob")
    }

    public static func empty(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        let s = int64s(shape)
        return op(ct_empty(s, s.count, Options(dtype: dtype, device: device).raw), "empty")
    }
    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        let s = int64s(shape)
        return op(ct_zeros(s, s.count, Options(dtype: dtype, device: device).raw), "zeros")
    }
    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        let s = int64s(shape)
        return op(ct_ones(s, s.count, Options(dtype: dtype, device: device).raw), "ones")
    }
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        let s = int64s(shape)
        return op(ct_full(s, s.count, value, Options(dtype: dtype, device: device).raw), "full")
    }
    public static func zeros(like t: Tensor) -> Tensor { zeros(t.shape, dtype: t.dtype, device: t.device) }
    public static func ones(like t: Tensor) -> Tensor { ones(t.shape, dtype: t.dtype, device: t.device) }

    /// `torch.arange(start, end, step)`; the default dtype is int64 as in PyTorch for whole numbers.
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64,
                              device: Device = .cpu) -> Tensor {
        op(ct_arange(start, end, step, Options(dtype: dtype, device: device).raw), "arange")
    }
    public static func linspace(_ start: Double, _ end: Double, steps: Int, dtype: DType = .float32,
                                device: Device = .cpu) -> Tensor {
        op(ct_linspace(start, end, Int64(steps), Options(dtype: dtype, device: device).raw), "linspace")
    }
    public static func eye(_ n: Int, dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        op(ct_eye(Int64(n), Options(dtype: dtype, device: device).raw), "eye")
    }

    /// Uniform on [0, 1). Draws from `generator`, or the global one.
    public static func rand(_ shape: [Int], generator: Generator? = nil, dtype: DType = .float32,
                            device: Device = .cpu) -> Tensor {
        let s = int64s(shape)
        return op(ct_rand(s, s.count, generator?.handle, Options(dtype: dtype, device: device).raw), "rand")
    }
    /// Standard normal.
    public static func randn(_ shape: [Int], generator: Generator? = nil, dtype: DType = .float32,
                             device: Device = .cpu) -> Tensor {
        let s = int64s(shape)
        return op(ct_randn(s, s.count, generator?.handle, Options(dtype: dtype, device: device).raw), "randn")
    }
    /// Integers in [low, high).
    public static func randint(_ low: Int, _ high: Int, _ shape: [Int], generator: Generator? = nil,
                               dtype: DType = .int64, device: Device = .cpu) -> Tensor {
        let s = int64s(shape)
        return op(ct_randint(Int64(low), Int64(high), s, s.count, generator?.handle,
                             Options(dtype: dtype, device: device).raw), "randint")
    }
    /// A random permutation of 0..<n.
    public static func randperm(_ n: Int, generator: Generator? = nil, device: Device = .cpu) -> Tensor {
        op(ct_randperm(Int64(n), generator?.handle, Options(dtype: .int64, device: device).raw), "randperm")
    }

    /// `n` indices drawn with probability proportional to this 1-d tensor's weights, as
    /// `torch.multinomial(weights, n, replacement, generator=g)`.
    public func multinomial(_ n: Int, replacement: Bool = false, generator: Generator? = nil) -> Tensor {
        op(ct_multinomial(handle, Int64(n), replacement, generator?.handle), "multinomial")
    }

    /// One Dirichlet draw per row of these concentrations (last dimension), as
    /// `torch._sample_dirichlet` (what `torch.distributions.Dirichlet` and `Beta` sample with).
    public func sampleDirichlet(generator: Generator? = nil) -> Tensor {
        op(ct_sample_dirichlet(handle, generator?.handle), "_sample_dirichlet")
    }

    /// Fills in place from U(from, to), as `tensor.uniform_`.
    @discardableResult
    public func uniform_(_ from: Double = 0, _ to: Double = 1, generator: Generator? = nil) -> Tensor {
        op(ct_uniform_(handle, from, to, generator?.handle), "uniform_")
    }
    /// Fills in place from N(mean, std²), as `tensor.normal_`.
    @discardableResult
    public func normal_(mean: Double = 0, std: Double = 1, generator: Generator? = nil) -> Tensor {
        op(ct_normal_(handle, mean, std, generator?.handle), "normal_")
    }
    /// Fills in place with Bernoulli(p) draws, as `tensor.bernoulli_`.
    @discardableResult
    public func bernoulli_(_ p: Double, generator: Generator? = nil) -> Tensor {
        op(ct_bernoulli_(handle, p, generator?.handle), "bernoulli_")
    }
}

// MARK: - Reading values back

extension Tensor {
    /// The values, row-major, as `T` (the tensor is converted to `T`'s dtype and
    /// copied to the CPU when needed).
    public func toArray<T: TensorElement>(_ type: T.Type = T.self) -> [T] {
        let source = dtype == T.dtype ? self : self.to(T.dtype)
        let n = source.count
        return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0 {
                opStatus(ct_copy_to(source.handle, buffer.baseAddress!, n * MemoryLayout<T>.stride), "toArray")
            }
            initialized = n
        }
    }

    /// Copies the raw bytes (contiguous, CPU) into `destination`, which must be exactly the right size.
    public func copyBytes(to destination: UnsafeMutableRawBufferPointer) throws {
        try checkStatus(ct_copy_to(handle, destination.baseAddress, destination.count), "copyBytes")
    }

    /// Copies `source` bytes into this contiguous CPU tensor's memory; sizes must match exactly.
    public func copyBytes(into source: UnsafeRawBufferPointer) throws {
        let n = count * dtype.byteSize
        guard device == .cpu, isContiguous(), source.count == n, let base = source.baseAddress else {
            throw TorchError(operation: "copyBytes", message: "need a contiguous CPU tensor of \(source.count) bytes, have \(n) on \(device)")
        }
        if n > 0 { memcpy(ct_data_ptr(handle), base, n) }
    }

    /// The single value of a one-element tensor.
    public func item<T: TensorElement & BinaryFloatingPoint>(_ type: T.Type = T.self) -> T {
        var value = 0.0
        opStatus(ct_item_double(handle, &value), "item")
        return T(value)
    }
    public func item<T: TensorElement & BinaryInteger>(_ type: T.Type = T.self) -> T {
        var value: Int64 = 0
        opStatus(ct_item_int64(handle, &value), "item")
        return T(value)
    }
    public func item(_ type: Bool.Type) -> Bool {
        var value: Int64 = 0
        opStatus(ct_item_int64(handle, &value), "item")
        return value != 0
    }
    /// Shorthand for `item(Double.self)`.
    public var double: Double { item(Double.self) }
    /// Shorthand for `item(Int.self)`.
    public var int: Int { item(Int.self) }
}
