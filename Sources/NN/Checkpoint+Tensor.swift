import Checkpoints
import Foundation
import Torch

extension DType {
    /// The checkpoint element type of the same layout.
    public var elementType: ElementType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .int16: .int16
        case .int32: .int32
        case .int64: .int64
        case .float16: .float16
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .bfloat16: .bfloat16
        }
    }

    public init(_ elementType: ElementType) {
        switch elementType {
        case .uint8: self = .uint8
        case .int8: self = .int8
        case .int16: self = .int16
        case .int32: self = .int32
        case .int64: self = .int64
        case .float16: self = .float16
        case .float32: self = .float32
        case .float64: self = .float64
        case .bool: self = .bool
        case .bfloat16: self = .bfloat16
        }
    }
}

extension Tensor {
    /// A CPU tensor holding a copy of a checkpoint entry.
    public convenience init(_ data: TensorData) {
        let t = Tensor.empty(data.shape, dtype: DType(data.elementType))
        data.withContiguousBytes { bytes in
            guard bytes.count > 0 else { return }
            // Sizes match by construction: same shape, same element size.
            try? t.copyBytes(into: bytes)
        }
        self.init(sharing: t)
    }

    /// The tensor's values as a checkpoint entry (contiguous, on the CPU).
    public func tensorData() throws -> TensorData {
        try TensorData(elementType: dtype.elementType, shape: shape) { try copyBytes(to: $0) }
    }
}

extension StateDict {
    /// Every entry as a CPU tensor, in file order.
    public func tensors() -> [(key: String, tensor: Tensor)] {
        entries.map { ($0.key, Tensor($0.tensor)) }
    }
}

extension Module {
    /// Loads weights from a `.safetensors`, `.pth` (zip or legacy) file, detected by content.
    ///
    /// - Parameters:
    ///   - strict: see ``load(stateDict:strict:source:)``.
    ///   - renameKey: one explicit mapping for files with another naming (applied to each file key).
    @discardableResult
    public func loadWeights(from url: URL, strict: Bool = true,
                            renameKey: ((String) -> String)? = nil) throws -> LoadReport {
        var dict = try CheckpointFile.read(url)
        if let renameKey { dict.entries = dict.entries.map { (renameKey($0.key), $0.tensor) } }
        return try load(stateDict: dict.tensors(), strict: strict, source: url.path)
    }

    /// Writes the state dict as `.safetensors` (atomically), with string metadata.
    public func saveWeights(to url: URL, metadata: [String: String] = [:]) throws {
        let entries = try stateDict().map { (key: $0.key, tensor: try $0.tensor.tensorData()) }
        try SafeTensors.write(StateDict(entries: entries, metadata: metadata), to: url)
    }
}
