/// Writes the `data.pkl` of a zip checkpoint for a state dict, as `torch.save` would:
///
/// ```text
/// PROTO 2
/// collections.OrderedDict() MARK
///   'key' torch._utils._rebuild_tensor_v2(
///           BINPERSID ('storage', torch.FloatStorage, '<i>', 'cpu', numel),
///           0, (sizes...), (contiguous strides...), False, collections.OrderedDict())
///   ...
/// SETITEMS STOP
/// ```
///
/// Tensor `i` gets storage key `"<i>"`, whose bytes go to the zip entry `archive/data/<i>`.
enum StateDictPickler {
    static func pickle(_ dict: StateDict) -> [UInt8] {
        var pickle = PickleBytes()
        pickle.opcode(0x80, 2) // PROTO 2
        pickle.emptyOrderedDict()
        if !dict.entries.isEmpty {
            pickle.opcode(0x28) // MARK
            for (i, (key, tensor)) in dict.entries.enumerated() {
                pickle.string(key)
                pickle.global("torch._utils", "_rebuild_tensor_v2")
                pickle.opcode(0x28) // MARK: the arguments
                pickle.opcode(0x28) // MARK: the persistent id
                pickle.string("storage")
                pickle.global("torch", tensor.elementType.torchStorageName)
                pickle.string(String(i))
                pickle.string("cpu")
                pickle.int(tensor.elementCount)
                pickle.opcode(0x74, 0x51) // TUPLE, BINPERSID
                pickle.int(0) // storage offset
                pickle.tuple(tensor.shape)
                pickle.tuple(TensorData.contiguousStrides(tensor.shape))
                pickle.opcode(0x89) // NEWFALSE: requires_grad
                pickle.emptyOrderedDict() // backward hooks
                pickle.opcode(0x74, 0x52) // TUPLE, REDUCE
            }
            pickle.opcode(0x75) // SETITEMS
        }
        pickle.opcode(0x2E) // STOP
        return pickle.bytes
    }
}

/// Pickle opcodes appended to a byte array.
private struct PickleBytes {
    var bytes: [UInt8] = []

    mutating func opcode(_ codes: UInt8...) {
        bytes += codes
    }

    /// GLOBAL: `module` and `name` on newline-terminated lines.
    mutating func global(_ module: String, _ name: String) {
        bytes.append(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    mutating func emptyOrderedDict() {
        global("collections", "OrderedDict")
        opcode(0x29, 0x52) // EMPTY_TUPLE, REDUCE
    }

    /// BINUNICODE: a 4-byte little-endian length and UTF-8.
    mutating func string(_ string: String) {
        let utf8 = Array(string.utf8)
        bytes.append(0x58)
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes += $0 }
        bytes += utf8
    }

    /// BININT1, BININT2 or BININT as Python picks them; LONG1 with 8 bytes beyond 32 bits.
    mutating func int(_ value: Int) {
        switch value {
        case 0...0xFF: opcode(0x4B, UInt8(value))
        case 0...0xFFFF: bytes.append(0x4D); withUnsafeBytes(of: UInt16(value).littleEndian) { bytes += $0 }
        case Int(Int32.min)...Int(Int32.max):
            bytes.append(0x4A); withUnsafeBytes(of: Int32(value).littleEndian) { bytes += $0 }
        default: opcode(0x8A, 8); withUnsafeBytes(of: Int64(value).littleEndian) { bytes += $0 }
        }
    }

    /// A tuple of integers: EMPTY_TUPLE, TUPLE1/2/3, or MARK ... TUPLE.
    mutating func tuple(_ values: [Int]) {
        if values.isEmpty { return opcode(0x29) }
        if values.count > 3 { opcode(0x28) }
        for value in values { int(value) }
        opcode(values.count > 3 ? 0x74 : 0x84 + UInt8(values.count))
    }
}
