import CTorch

/// Element types. Raw values are `c10::ScalarType`'s (checked by a test).
public enum DType: Int32, CaseIterable, Sendable, CustomStringConvertible {
    case uint8 = 0
    case int8 = 1
    case int16 = 2
    case int32 = 3
    case int64 = 4
    case float16 = 5
    case float32 = 6
    case float64 = 7
    case bool = 11
    case bfloat16 = 15

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .int16, .float16, .bfloat16: 2
        case .int32, .float32: 4
        case .int64, .float64: 8
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .float32, .float64, .bfloat16: true
        default: false
        }
    }

    /// PyTorch's name: `torch.float32` → `"float32"`.
    public var description: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .float16: "float16"
        case .float32: "float32"
        case .float64: "float64"
        case .bool: "bool"
        case .bfloat16: "bfloat16"
        }
    }

    /// libtorch's own name for this raw value (`"Float"`, `"Long"`, ...).
    public var libtorchName: String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard ct_dtype_name(rawValue, &buffer, buffer.count) == 0 else { return "?" }
        return string(fromCBuffer: buffer)
    }

    /// libtorch's element size for this raw value.
    public var libtorchByteSize: Int { Int(ct_dtype_size(rawValue)) }
}

/// Memory layouts. Raw values are `c10::MemoryFormat`'s.
public enum MemoryFormat: Int32, Sendable {
    case contiguous = 0
    case preserve = 1
    /// NHWC strides for a 4-d NCHW tensor; often faster for CPU convolutions.
    case channelsLast = 2

    /// libtorch's name for this raw value.
    public var libtorchName: String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard ct_memory_format_name(rawValue, &buffer, buffer.count) == 0 else { return "?" }
        return string(fromCBuffer: buffer)
    }
}

/// Swift types that map one-to-one to a tensor element type.
public protocol TensorElement: Sendable {
    static var dtype: DType { get }
}
extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension Int: TensorElement { public static var dtype: DType { .int64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension Int16: TensorElement { public static var dtype: DType { .int16 } }
extension Int8: TensorElement { public static var dtype: DType { .int8 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }
#if arch(x86_64) || arch(arm64)
extension Float16: TensorElement { public static var dtype: DType { .float16 } }
#endif
