/// One tensor of a checkpoint: an element type, a shape, and a strided view into a storage.
///
/// Layout: element `[i0, i1, ...]` lives at element index
/// `storageOffset + i0 * strides[0] + i1 * strides[1] + ...` of the storage, whose bytes are
/// little-endian elements of ``elementType``. A tensor read from a file points into the file's
/// memory map, which stays mapped as long as any tensor from it is alive; no bytes are copied
/// until ``withContiguousBytes(_:)`` has to gather a non-contiguous view.
public struct TensorData: Sendable {
    public let elementType: ElementType
    /// Sizes per dimension, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// Distance in elements between neighbours along each dimension.
    public let strides: [Int]
    /// Index in elements of the first element within the storage.
    public let storageOffset: Int
    private let buffer: ByteBuffer
    /// Byte range of the storage within `buffer`.
    private let storageRange: Range<Int>

    /// Validates the view against the storage: every element it addresses must lie inside
    /// `storageRange`, which must lie inside `buffer`. Errors name `buffer`'s file and `key`.
    init(
        elementType: ElementType, shape: [Int], strides: [Int], storageOffset: Int,
        buffer: ByteBuffer, storageRange: Range<Int>, key: String
    ) throws {
        func fail(_ detail: String) -> CheckpointError {
            .malformed(file: buffer.name, key: key, detail: detail)
        }
        guard storageRange.lowerBound >= 0, storageRange.upperBound <= buffer.count else {
            throw fail("storage bytes \(storageRange) lie outside the file's \(buffer.count) bytes")
        }
        guard shape.count == strides.count else {
            throw fail("shape \(excerpt(shape)) and strides \(excerpt(strides)) have different lengths")
        }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
            throw fail("negative size, stride or offset "
                + "(shape \(excerpt(shape)), strides \(excerpt(strides)), offset \(storageOffset))")
        }
        let storageElements = storageRange.count / elementType.byteSize
        // Views may repeat elements (stride 0), but not expand beyond what memory could hold.
        guard let count = Self.checkedProduct(shape),
              let bytes = Self.checkedProduct([count, elementType.byteSize]),
              bytes <= max(storageRange.count, 1 << 32)
        else { throw fail("shape \(excerpt(shape)) is too large for its \(storageRange.count)-byte storage") }
        if count == 0 {
            guard storageOffset <= storageElements else {
                throw fail("storage offset \(storageOffset) is past the storage's \(storageElements) elements")
            }
        } else {
            var last = storageOffset
            for (size, stride) in zip(shape, strides) {
                let (step, overflow1) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, overflow2) = last.addingReportingOverflow(step)
                guard !overflow1, !overflow2 else { throw fail("strides \(excerpt(strides)) overflow") }
                last = sum
            }
            guard last < storageElements else {
                throw fail("view (offset \(storageOffset), shape \(excerpt(shape)), strides \(excerpt(strides))) "
                    + "reaches element \(last) but the storage holds \(storageElements) \(elementType) elements")
            }
        }
        self.elementType = elementType
        self.shape = shape
        self.strides = strides
        self.storageOffset = storageOffset
        self.buffer = buffer
        self.storageRange = storageRange
    }

    /// A contiguous tensor over a copy of `bytes`, which must hold exactly
    /// `shape.product × elementType.byteSize` little-endian elements.
    public init(elementType: ElementType, shape: [Int], bytes: some Collection<UInt8>) throws {
        guard shape.allSatisfy({ $0 >= 0 }), Self.checkedProduct(shape + [elementType.byteSize]) == bytes.count else {
            throw CheckpointError.invalidInput(
                detail: "\(bytes.count) bytes do not hold a \(elementType) tensor of shape \(excerpt(shape))")
        }
        try self.init(elementType: elementType, shape: shape) { $0.copyBytes(from: bytes) }
    }

    /// A contiguous tensor whose `shape.product × elementType.byteSize` little-endian bytes
    /// `fill` writes straight into the new storage (no intermediate copy).
    public init(elementType: ElementType, shape: [Int],
                fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        guard shape.allSatisfy({ $0 >= 0 }), let count = Self.checkedProduct(shape + [elementType.byteSize]) else {
            throw CheckpointError.invalidInput(
                detail: "shape \(excerpt(shape)) is not a valid \(elementType) tensor shape")
        }
        let buffer = try ByteBuffer(count: count, fill: fill)
        try self.init(
            elementType: elementType, shape: shape, strides: Self.contiguousStrides(shape), storageOffset: 0,
            buffer: buffer, storageRange: 0..<buffer.count, key: "<memory>")
    }

    /// The number of elements, the product of ``shape``.
    public var elementCount: Int { shape.reduce(1, *) }

    /// The number of bytes of the elements in contiguous layout.
    public var byteCount: Int { elementCount * elementType.byteSize }

    /// Whether the elements lie densely in row-major order, so that
    /// ``withContiguousBytes(_:)`` needs no copy. Dimensions of size 1 may have any stride.
    public var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            if size == 0 { return true }
            if stride != expected { return false }
            expected *= size
        }
        return true
    }

    /// Calls `body` with the elements in contiguous row-major order: a pointer straight into
    /// the storage when ``isContiguous``, else a temporary copy gathered from the strided view.
    /// The pointer is valid only inside `body`.
    public func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let storage = buffer.bytes(storageRange)
        if isContiguous {
            let start = storageOffset * elementType.byteSize
            return try body(UnsafeRawBufferPointer(rebasing: storage[start..<(start + byteCount)]))
        }
        var gathered = [UInt8](repeating: 0, count: byteCount)
        gathered.withUnsafeMutableBytes { destination in
            var written = 0
            forEachRun { byteOffset, length in
                UnsafeMutableRawBufferPointer(rebasing: destination[written..<(written + length)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[byteOffset..<(byteOffset + length)]))
                written += length
            }
        }
        return try gathered.withUnsafeBytes(body)
    }

    /// The elements in row-major order converted to `Double` (exactly, except 64-bit integers
    /// beyond 2^53); `bool` gives 0 or 1. Meant for inspection and tests.
    public func doubleValues() -> [Double] {
        withContiguousBytes { raw in
            (0..<elementCount).map { i in
                let at = i * elementType.byteSize
                switch elementType {
                case .float64: return raw.loadUnaligned(fromByteOffset: at, as: Double.self)
                case .float32: return Double(raw.loadUnaligned(fromByteOffset: at, as: Float.self))
                case .float16:
                    return Double(Self.halfToFloat(raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
                case .bfloat16: // the upper half of a Float
                    let bits = UInt32(raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))
                    return Double(Float(bitPattern: bits << 16))
                case .int64: return Double(raw.loadUnaligned(fromByteOffset: at, as: Int64.self))
                case .int32: return Double(raw.loadUnaligned(fromByteOffset: at, as: Int32.self))
                case .int16: return Double(raw.loadUnaligned(fromByteOffset: at, as: Int16.self))
                case .int8: return Double(raw.load(fromByteOffset: at, as: Int8.self))
                case .uint8: return Double(raw[at])
                case .bool: return raw[at] == 0 ? 0 : 1
                }
            }
        }
    }

    /// Row-major strides of a dense tensor of `shape`.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for dimension in shape.indices.reversed() {
            strides[dimension] = running
            running *= max(shape[dimension], 1)
        }
        return strides
    }

    /// The product of `sizes`, or nil on overflow.
    static func checkedProduct(_ sizes: [Int]) -> Int? {
        var product = 1
        for size in sizes {
            let (next, overflow) = product.multipliedReportingOverflow(by: size)
            if overflow { return nil }
            product = next
        }
        return product
    }

    /// Calls `body(byteOffset, byteLength)` for each run of adjacent bytes of the view in
    /// row-major order; offsets count from the start of the storage.
    private func forEachRun(_ body: (Int, Int) -> Void) {
        let size = elementType.byteSize
        guard elementCount > 0 else { return }
        guard let inner = shape.indices.last else { return body(storageOffset * size, size) }
        var index = [Int](repeating: 0, count: inner)
        while true {
            var offset = storageOffset
            for dimension in 0..<inner { offset += index[dimension] * strides[dimension] }
            if strides[inner] == 1 {
                body(offset * size, shape[inner] * size)
            } else {
                for i in 0..<shape[inner] { body((offset + i * strides[inner]) * size, size) }
            }
            var dimension = inner - 1
            while dimension >= 0 {
                index[dimension] += 1
                if index[dimension] < shape[dimension] { break }
                index[dimension] = 0
                dimension -= 1
            }
            if dimension < 0 { return }
        }
    }

    /// IEEE 754 binary16 to binary32, exact for every value, without depending on `Float16`
    /// (which some platforms lack).
    private static func halfToFloat(_ bits: UInt16) -> Float {
        let sign: FloatingPointSign = bits & 0x8000 == 0 ? .plus : .minus
        let exponent = Int(bits >> 10) & 0x1f
        let fraction = Float(bits & 0x3ff)
        switch exponent {
        case 0: return Float(sign: sign, exponent: -24, significand: fraction)
        case 0x1f: return fraction == 0 ? Float(sign: sign, exponent: 0, significand: .infinity) : .nan
        default: return Float(sign: sign, exponent: exponent - 25, significand: 1024 + fraction)
        }
    }
}
