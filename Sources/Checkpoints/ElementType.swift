/// The element types that checkpoints store.
///
/// All multi-byte types are stored little-endian, both in safetensors files and in
/// PyTorch checkpoints written on little-endian machines (the only ones this module reads).
public enum ElementType: String, Sendable, CaseIterable {
    case float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// The `dtype` string of a safetensors header (`"F32"`, `"BF16"`, `"BOOL"`, ...).
    var safetensorsName: String {
        switch self {
        case .float64: "F64"
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .int64: "I64"
        case .int32: "I32"
        case .int16: "I16"
        case .int8: "I8"
        case .uint8: "U8"
        case .bool: "BOOL"
        }
    }

    init?(safetensorsName: String) {
        guard let type = Self.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = type
    }

    /// Position in the order the official safetensors writer lays tensors out:
    /// it sorts by its `Dtype` enum descending, then by name, which keeps wider types first
    /// and every tensor aligned to its element size.
    var safetensorsWriteRank: Int {
        switch self {
        case .int64: 0
        case .float64: 1
        case .float32: 2
        case .int32: 3
        case .bfloat16: 4
        case .float16: 5
        case .int16: 6
        case .int8: 7
        case .uint8: 8
        case .bool: 9
        }
    }

    /// The legacy typed-storage class PyTorch names in a checkpoint's persistent ids
    /// (`torch.FloatStorage` and so on), without the `torch.` module.
    var torchStorageName: String {
        switch self {
        case .float64: "DoubleStorage"
        case .float32: "FloatStorage"
        case .float16: "HalfStorage"
        case .bfloat16: "BFloat16Storage"
        case .int64: "LongStorage"
        case .int32: "IntStorage"
        case .int16: "ShortStorage"
        case .int8: "CharStorage"
        case .uint8: "ByteStorage"
        case .bool: "BoolStorage"
        }
    }

    init?(torchStorageName: String) {
        guard let type = Self.allCases.first(where: { $0.torchStorageName == torchStorageName }) else { return nil }
        self = type
    }
}
