import Foundation

/// Reads and writes the safetensors format.
///
/// Layout:
/// - 8 bytes: the header length `N`, a little-endian `UInt64`;
/// - `N` bytes: a UTF-8 JSON object mapping each tensor name to
///   `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}`, plus an optional
///   `"__metadata__"` object of string values; writers pad it with spaces to a multiple of 8;
/// - the data buffer: tensor `t` occupies bytes `begin..<end` (relative to the buffer's start)
///   as contiguous little-endian elements, `end - begin` = element size × product of the shape.
///
/// Dtypes: `F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL`.
public enum SafeTensors {
    /// Reads the file through a memory map: tensors point into it, nothing is copied.
    /// Tensors come in the order of their data offsets.
    public static func read(_ url: URL) throws -> StateDict {
        try read(ByteBuffer.map(url))
    }

    /// Writes `dict` atomically (temporary file, `fsync`, rename). Tensors are laid out as the
    /// official writer does, wider element types first and by name within a type, so every
    /// tensor stays aligned to its element size; the header lists `__metadata__` first (when
    /// there is any) and the tensors in that order.
    public static func write(_ dict: StateDict, to url: URL) throws {
        try dict.checkUniqueKeys(file: url.path)
        let ordered = dict.entries.sorted {
            ($0.tensor.elementType.safetensorsWriteRank, $0.key) < ($1.tensor.elementType.safetensorsWriteRank, $1.key)
        }
        var fields: [String] = []
        if !dict.metadata.isEmpty {
            let pairs = dict.metadata.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + jsonString($0.value) }
            fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for (key, tensor) in ordered {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            let dtype = tensor.elementType.safetensorsName
            fields.append(jsonString(key) + ":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(offset),\(offset + tensor.byteCount)]}")
            offset += tensor.byteCount
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        try writeAtomically(to: url) { sink in
            try sink.append(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) })
            try sink.append(header)
            for (_, tensor) in ordered {
                try tensor.withContiguousBytes { try sink.append($0) }
            }
        }
    }

    static func read(_ buffer: ByteBuffer) throws -> StateDict {
        let file = buffer.name
        let headerLength = try buffer.integer(UInt64.self, at: 0, "the header length")
        guard headerLength <= UInt64(buffer.count - 8) else {
            throw CheckpointError.truncated(
                file: file, detail: "the header length is \(headerLength) but only \(buffer.count - 8) bytes follow it")
        }
        let headerRange = 8..<(8 + Int(headerLength))
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(buffer.bytes(headerRange)))
        } catch {
            throw CheckpointError.malformed(
                file: file, key: nil, detail: "the header is not valid JSON (\(excerpt("\(error)", limit: 200)))")
        }
        guard let header = json as? [String: Any] else {
            throw CheckpointError.malformed(file: file, key: nil, detail: "the header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        if let value = header["__metadata__"] {
            guard let strings = value as? [String: Any], let typed = strings as? [String: String] else {
                throw CheckpointError.malformed(
                    file: file, key: "__metadata__", detail: "metadata must map strings to strings")
            }
            metadata = typed
        }
        let dataStart = headerRange.upperBound
        let dataCount = buffer.count - dataStart
        var entries: [(begin: Int, key: String, tensor: TensorData)] = []
        for (key, value) in header where key != "__metadata__" {
            func fail(_ detail: String) -> CheckpointError { .malformed(file: file, key: key, detail: detail) }
            guard let info = value as? [String: Any] else { throw fail("the entry is not a JSON object") }
            guard let dtype = info["dtype"] as? String else { throw fail("\"dtype\" is missing or not a string") }
            guard let elementType = ElementType(safetensorsName: dtype) else {
                throw CheckpointError.unsupported(
                    file: file, key: key,
                    detail: "dtype \"\(excerpt(dtype))\" (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)")
            }
            guard let shape = integers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("\"shape\" must be a list of non-negative integers")
            }
            guard let offsets = integers(info["data_offsets"]), offsets.count == 2 else {
                throw fail("\"data_offsets\" must be a list of two integers")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard 0 <= begin, begin <= end, end <= dataCount else {
                throw fail("data_offsets [\(begin), \(end)] lie outside the \(dataCount)-byte data buffer")
            }
            let expected = TensorData.checkedProduct(shape + [elementType.byteSize])
            guard end - begin == expected else {
                throw fail("data_offsets [\(begin), \(end)] span \(end - begin) bytes "
                    + "but \(dtype) \(excerpt(shape)) needs " + (expected.map(String.init) ?? "more than Int.max"))
            }
            let tensor = try TensorData(
                elementType: elementType, shape: shape, strides: TensorData.contiguousStrides(shape),
                storageOffset: 0, buffer: buffer, storageRange: (dataStart + begin)..<(dataStart + end), key: key)
            entries.append((begin, key, tensor))
        }
        entries.sort { ($0.begin, $0.key) < ($1.begin, $1.key) }
        return StateDict(entries: entries.map { ($0.key, $0.tensor) }, metadata: metadata)
    }

    /// `value` as integers when it is a JSON array of integral numbers.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        let result = array.compactMap { $0 as? Int }
        return result.count == array.count ? result : nil
    }

    /// `string` as a JSON string literal, escaped as serde_json (the official writer) does.
    private static func jsonString(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}":
                out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
