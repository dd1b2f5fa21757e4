import Foundation

/// Reads and writes PyTorch checkpoints (`torch.save` files, usually `.pth` or `.pt`).
///
/// Two layouts are read, told apart by their first bytes:
/// - **zip** (PyTorch 1.6 and later): stored entries under one top folder, whose name varies
///   (`archive/`, or the file's stem): `data.pkl`, the protocol 2 pickle of the object;
///   `data/<key>`, the raw little-endian bytes of each storage; `byteorder` (`little`, or
///   missing for old files, meaning little); `version`.
/// - **legacy** (before 1.6): five pickles in a row (the magic number
///   `0x1950a86a20f9469cfc6c`, the protocol version 1001, a `sys_info` dict, the object, and
///   the list of storage keys), then for each key in that list's order an 8-byte little-endian
///   element count followed by the storage's bytes.
///
/// In both, the object refers to storages by persistent id
/// `('storage', torch.<Type>Storage, key, location, elementCount)` and tensors are
/// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` views into them.
/// The pickle is read by a restricted unpickler that executes nothing; see ``readObject(_:)``.
public enum TorchCheckpoint {
    /// Reads the state dict of a checkpoint: the top-level dict of tensors, or the one under
    /// `state_dict`, `model` or `model_state_dict`. Tensors point into the memory-mapped file.
    public static func read(_ url: URL) throws -> StateDict {
        try read(ByteBuffer.map(url))
    }

    /// Reads the whole pickled object, e.g. to see a training checkpoint's epoch or settings.
    ///
    /// Python globals are limited to `collections.OrderedDict`,
    /// `torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`, `_rebuild_parameter_with_state`
    /// and the `torch.<Type>Storage` classes; any other throws
    /// ``CheckpointError/forbiddenGlobal(file:global:)`` naming it.
    public static func readObject(_ url: URL) throws -> PickleValue {
        try readObject(ByteBuffer.map(url))
    }

    /// Writes `dict` as a zip checkpoint that `torch.load(path, weights_only=True)` loads as an
    /// `OrderedDict` of tensors: `archive/data.pkl`, `archive/byteorder` (`little`),
    /// `archive/data/<i>` (the `i`-th tensor, contiguous, in its own storage) and
    /// `archive/version` (`3`), each entry's data aligned to 64 bytes, zip64 where needed.
    /// ``StateDict/metadata`` is not written. The file is replaced atomically.
    public static func write(_ dict: StateDict, to url: URL) throws {
        try write(dict, to: url, zip64Threshold: 0xFFFF_FFFF)
    }

    static func write(_ dict: StateDict, to url: URL, zip64Threshold: UInt64) throws {
        try dict.checkUniqueKeys(file: url.path)
        let pickle = StateDictPickler.pickle(dict)
        try writeAtomically(to: url) { sink in
            var zip = ZipWriter(zip64Threshold: zip64Threshold)
            try pickle.withUnsafeBytes { try zip.add("archive/data.pkl", $0, to: &sink) }
            try Array("little".utf8).withUnsafeBytes { try zip.add("archive/byteorder", $0, to: &sink) }
            for (i, entry) in dict.entries.enumerated() {
                try entry.tensor.withContiguousBytes { try zip.add("archive/data/\(i)", $0, to: &sink) }
            }
            try Array("3\n".utf8).withUnsafeBytes { try zip.add("archive/version", $0, to: &sink) }
            try zip.finish(&sink)
        }
    }

    static func read(_ buffer: ByteBuffer) throws -> StateDict {
        let object = try readObject(buffer)
        guard let dict = object.stateDict else {
            throw CheckpointError.noStateDict(file: buffer.name, topLevelKeys: object.stringKeys)
        }
        return dict
    }

    /// Whether `buffer` starts like a zip or a legacy checkpoint.
    static func recognizes(_ buffer: ByteBuffer) -> Bool {
        isZip(buffer) || buffer.starts(with: legacyMagic)
    }

    static func readObject(_ buffer: ByteBuffer) throws -> PickleValue {
        if isZip(buffer) { return try readZip(buffer) }
        if buffer.starts(with: legacyMagic) { return try readLegacy(buffer) }
        throw CheckpointError.unsupported(
            file: buffer.name, key: nil,
            detail: "it is neither a zip nor a legacy PyTorch checkpoint; use CheckpointFile.read for safetensors")
    }

    /// `PROTO 2, LONG1 0x1950a86a20f9469cfc6c, STOP`: the legacy format's first pickle.
    static let legacyMagic: [UInt8] = [
        0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E,
    ]

    private static func isZip(_ buffer: ByteBuffer) -> Bool {
        buffer.starts(with: [0x50, 0x4B, 0x03, 0x04]) || buffer.starts(with: [0x50, 0x4B, 0x05, 0x06])
    }

    private static func readZip(_ buffer: ByteBuffer) throws -> PickleValue {
        let zip = try ZipArchive(buffer)
        guard let pickle = zip.entries.first(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) else {
            throw CheckpointError.malformed(
                file: buffer.name, key: nil, detail: "the zip holds no data.pkl, so it is not a PyTorch checkpoint")
        }
        let folder = String(pickle.name.dropLast("data.pkl".count))
        if let entry = zip.entry(named: folder + "byteorder") {
            let order = String(decoding: buffer.bytes(try zip.data(entry)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard order == "little" else {
                throw CheckpointError.unsupported(
                    file: buffer.name, key: entry.name,
                    detail: "byte order '\(excerpt(order))'; only little-endian checkpoints can be read")
            }
        }
        let pickleRange = try zip.data(pickle)
        var unpickler = Unpickler(buffer, range: pickleRange)
        let root = try unpickler.load()
        var converter = PickleConverter(
            file: buffer.name, heap: unpickler.heap, budget: budget(pickleRange.count)
        ) { reference, key in
            let name = folder + "data/" + reference.storage.key
            guard let entry = zip.entry(named: name) else {
                throw CheckpointError.malformed(
                    file: buffer.name, key: key, detail: "its storage entry '\(excerpt(name))' is missing from the zip")
            }
            return try tensor(reference, storage: zip.data(entry), buffer: buffer, key: key)
        }
        return try converter.convert(root)
    }

    private static func readLegacy(_ buffer: ByteBuffer) throws -> PickleValue {
        var unpickler = Unpickler(buffer, range: legacyMagic.count..<buffer.count)
        switch try unpickler.load() {
        case .int(1001): break
        case let .int(version):
            throw CheckpointError.unsupported(
                file: buffer.name, key: nil, detail: "legacy protocol version \(version) (only 1001 exists)")
        case let version: // never printed: it may be nested arbitrarily deep
            throw CheckpointError.malformed(
                file: buffer.name, key: nil, detail: "the legacy protocol version is \(version.typeName), not an int")
        }
        guard case let .dict(systemInfo) = try unpickler.load() else {
            throw CheckpointError.malformed(file: buffer.name, key: nil, detail: "the sys_info dict is missing")
        }
        for (key, value) in unpickler.heap.dicts[systemInfo] {
            if case .string("little_endian") = key, case .bool(false) = value {
                throw CheckpointError.unsupported(
                    file: buffer.name, key: nil, detail: "it was saved on a big-endian machine")
            }
        }
        let root = try unpickler.load()
        let objectEnd = unpickler.position
        guard case let .list(keys) = try unpickler.load() else {
            throw CheckpointError.malformed(
                file: buffer.name, key: nil, detail: "the storage key list after offset \(objectEnd) is not a list")
        }
        var position = unpickler.position
        var storages: [String: Range<Int>] = [:]
        for item in unpickler.heap.lists[keys] {
            guard case let .string(key) = item, let reference = unpickler.storages[key] else {
                throw CheckpointError.malformed(
                    file: buffer.name, key: nil, detail: "the storage key list names a storage the object does not use")
            }
            let count = try buffer.integer(UInt64.self, at: position, "the element count of storage '\(excerpt(key))'")
            guard count == UInt64(reference.elementCount),
                  let length = TensorData.checkedProduct([reference.elementCount, reference.elementType.byteSize])
            else {
                throw CheckpointError.malformed(
                    file: buffer.name, key: nil,
                    detail: "storage '\(excerpt(key))' at offset \(position) holds \(count) elements "
                        + "but its id declares \(reference.elementCount)")
            }
            storages[key] = try buffer.range(at: position + 8, length: length, "storage '\(excerpt(key))'")
            position += 8 + length
        }
        var converter = PickleConverter(
            file: buffer.name, heap: unpickler.heap, budget: budget(objectEnd)
        ) { reference, key in
            guard let storage = storages[reference.storage.key] else {
                throw CheckpointError.malformed(
                    file: buffer.name, key: key,
                    detail: "its storage '\(excerpt(reference.storage.key))' is missing from the file's storage list")
            }
            return try tensor(reference, storage: storage, buffer: buffer, key: key)
        }
        return try converter.convert(root)
    }

    /// At most this many values may come out of a pickle of `length` bytes: far more than a
    /// real checkpoint's, which has about one value per opcode.
    private static func budget(_ length: Int) -> Int {
        1_000_000 + 16 * length
    }

    /// The tensor `reference` describes, over the storage bytes `storage` of `buffer`.
    private static func tensor(
        _ reference: TensorReference, storage: Range<Int>, buffer: ByteBuffer, key: String
    ) throws -> TensorData {
        let declared = reference.storage
        let size = declared.elementType.byteSize
        guard storage.count == TensorData.checkedProduct([declared.elementCount, size]) else {
            throw CheckpointError.malformed(
                file: buffer.name, key: key,
                detail: "storage '\(excerpt(declared.key))' has \(storage.count) bytes but its id declares "
                    + "\(declared.elementCount) \(declared.elementType) elements")
        }
        var range = storage
        if let view = declared.view {
            guard view.count <= declared.elementCount - view.offset else {
                throw CheckpointError.malformed(
                    file: buffer.name, key: key,
                    detail: "a view of \(view.count) elements at \(view.offset) "
                        + "exceeds storage '\(excerpt(declared.key))'")
            }
            range = (storage.lowerBound + view.offset * size)..<(storage.lowerBound + (view.offset + view.count) * size)
        }
        return try TensorData(
            elementType: declared.elementType, shape: reference.shape, strides: reference.strides,
            storageOffset: reference.storageOffset, buffer: buffer, storageRange: range, key: key)
    }
}
