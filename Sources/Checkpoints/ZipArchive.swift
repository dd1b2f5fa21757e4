/// The entries of a zip archive whose bytes are in memory (a mapped file).
///
/// Layout read: the end of central directory record (`PK\5\6`, found by scanning back over
/// at most a 64 KiB comment), or the zip64 end record its locator (`PK\6\7`) points to;
/// then the central directory (`PK\1\2` records, sizes and offsets from the zip64 extra
/// field `0x0001` where they read `0xFFFFFFFF`); each entry's data follows its local header
/// (`PK\3\4`, 30 bytes + name + extra). Only stored (uncompressed) entries can be read, which
/// is all `torch.save` writes. CRCs are not checked.
struct ZipArchive {
    struct Entry {
        let name: String
        /// 0 = stored; anything else is compressed.
        let method: Int
        /// Where the entry's bytes lie in the archive's buffer.
        let dataRange: Range<Int>
    }

    let buffer: ByteBuffer
    /// The entries in central directory order.
    let entries: [Entry]
    private let index: [String: Int]

    init(_ buffer: ByteBuffer) throws {
        self.buffer = buffer
        let file = buffer.name
        func u16(_ offset: Int, _ what: @autoclosure () -> String) throws -> Int {
            Int(try buffer.integer(UInt16.self, at: offset, what()))
        }
        func u32(_ offset: Int, _ what: @autoclosure () -> String) throws -> Int {
            Int(try buffer.integer(UInt32.self, at: offset, what()))
        }
        func u64(_ offset: Int, _ what: @autoclosure () -> String) throws -> Int {
            let value = try buffer.integer(UInt64.self, at: offset, what())
            guard let result = Int(exactly: value) else {
                throw CheckpointError.malformed(file: file, key: nil, detail: "\(what()) \(value) is out of range")
            }
            return result
        }
        func malformed(_ key: String?, _ detail: String) -> CheckpointError {
            .malformed(file: file, key: key, detail: detail)
        }

        guard buffer.count >= 22 else {
            throw CheckpointError.truncated(
                file: file, detail: "a zip has at least 22 bytes, this file has \(buffer.count)")
        }
        var endRecord = buffer.count - 22
        let earliest = max(0, endRecord - 0xFFFF)
        while try u32(endRecord, "the end of central directory") != 0x0605_4B50 {
            guard endRecord > earliest else {
                throw CheckpointError.truncated(
                    file: file, detail: "no zip end of central directory record was found; the archive is cut short")
            }
            endRecord -= 1
        }
        var entryCount = try u16(endRecord + 10, "the entry count")
        var directorySize = try u32(endRecord + 12, "the central directory size")
        var directoryOffset = try u32(endRecord + 16, "the central directory offset")
        let locator = endRecord - 20
        if locator >= 0, try u32(locator, "the zip64 locator") == 0x0706_4B50 {
            let record = try u64(locator + 8, "the zip64 end record offset")
            guard try u32(record, "the zip64 end record") == 0x0606_4B50 else {
                throw malformed(nil, "the zip64 locator points to offset \(record), which holds no zip64 end record")
            }
            entryCount = try u64(record + 32, "the zip64 entry count")
            directorySize = try u64(record + 40, "the zip64 directory size")
            directoryOffset = try u64(record + 48, "the zip64 directory offset")
        }
        _ = try buffer.range(at: directoryOffset, length: directorySize, "the central directory")

        var entries: [Entry] = []
        var record = directoryOffset
        for _ in 0..<entryCount {
            guard try u32(record, "a central directory record") == 0x0201_4B50 else {
                throw malformed(nil, "no central directory record at offset \(record)")
            }
            let flags = try u16(record + 8, "the entry flags")
            let method = try u16(record + 10, "the compression method")
            var size = try u32(record + 20, "the compressed size")
            var uncompressedSize = try u32(record + 24, "the size")
            let nameLength = try u16(record + 28, "the name length")
            let extraLength = try u16(record + 30, "the extra length")
            let commentLength = try u16(record + 32, "the comment length")
            var localHeader = try u32(record + 42, "the local header offset")
            let nameRange = try buffer.range(at: record + 46, length: nameLength, "an entry name")
            let name = String(decoding: buffer.bytes(nameRange), as: UTF8.self)
            // Zip64 extra field: the 64-bit values of the fields that read 0xFFFFFFFF, in this order.
            var extra = try buffer.range(
                at: nameRange.upperBound, length: extraLength, "the extra field of '\(excerpt(name))'")
            while extra.count >= 4 {
                let id = try u16(extra.lowerBound, "an extra field")
                let length = try u16(extra.lowerBound + 2, "an extra field")
                let fieldsEnd = min(extra.lowerBound + 4 + length, extra.upperBound)
                if id == 0x0001 {
                    var field = extra.lowerBound + 4
                    func next() throws -> Int {
                        guard field + 8 <= fieldsEnd else {
                            throw malformed(name, "the zip64 extra field is too short")
                        }
                        defer { field += 8 }
                        return try u64(field, "a zip64 size or offset")
                    }
                    if uncompressedSize == 0xFFFF_FFFF { uncompressedSize = try next() }
                    if size == 0xFFFF_FFFF { size = try next() }
                    if localHeader == 0xFFFF_FFFF { localHeader = try next() }
                }
                extra = fieldsEnd..<extra.upperBound
            }
            guard flags & 1 == 0 else {
                throw CheckpointError.unsupported(file: file, key: name, detail: "the zip entry is encrypted")
            }
            guard try u32(localHeader, "the local header of '\(excerpt(name))'") == 0x0403_4B50 else {
                throw malformed(name, "no local header at offset \(localHeader)")
            }
            let localName = try u16(localHeader + 26, "the local header of '\(excerpt(name))'")
            let localExtra = try u16(localHeader + 28, "the local header of '\(excerpt(name))'")
            let dataStart = localHeader + 30 + localName + localExtra
            let data = try buffer.range(at: dataStart, length: size, "the data of '\(excerpt(name))'")
            guard method != 0 || size == uncompressedSize else {
                throw malformed(name, "stored entry has size \(size) but uncompressed size \(uncompressedSize)")
            }
            entries.append(Entry(name: name, method: method, dataRange: data))
            record = extra.upperBound + commentLength
        }
        self.entries = entries
        index = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The entry called `name`.
    func entry(named name: String) -> Entry? {
        index[name].map { entries[$0] }
    }

    /// Where `entry`'s bytes lie in ``buffer``; throws for compressed entries.
    func data(_ entry: Entry) throws -> Range<Int> {
        guard entry.method == 0 else {
            throw CheckpointError.unsupported(
                file: buffer.name, key: entry.name,
                detail: "the zip entry is compressed (method \(entry.method)); torch.save writes stored entries, "
                    + "so re-save the checkpoint with torch.save instead of re-zipping it")
        }
        return entry.dataRange
    }
}

/// Writes a zip archive the way PyTorch's serializer lays it out: stored entries with
/// CRC-32, each entry's data aligned to 64 bytes by padding the local header's extra field
/// (id `FB`, filled with `Z`), and zip64 records for sizes and offsets of 4 GiB or more.
struct ZipWriter {
    private struct Record {
        let name: [UInt8]
        let crc: UInt32
        let size: UInt64
        let offset: UInt64
    }

    private var records: [Record] = []
    /// Sizes and offsets at or above this use zip64 fields; lowered only to test those paths.
    private let zip64Threshold: UInt64
    static let alignment = 64

    init(zip64Threshold: UInt64 = 0xFFFF_FFFF) {
        self.zip64Threshold = zip64Threshold
    }

    /// Appends a stored entry.
    mutating func add(_ name: String, _ data: UnsafeRawBufferPointer, to sink: inout FileSink) throws {
        let nameBytes = Array(name.utf8)
        let size = UInt64(data.count)
        let large = size >= zip64Threshold
        var extra = ByteWriter()
        if large {
            extra.u16(0x0001)
            extra.u16(16)
            extra.u64(size)
            extra.u64(size)
        }
        let unpadded = Int(sink.offset % UInt64(Self.alignment)) + 30 + nameBytes.count + extra.bytes.count + 4
        let padding = (Self.alignment - unpadded % Self.alignment) % Self.alignment
        extra.u16(0x4246) // "FB"
        extra.u16(UInt16(padding))
        extra.bytes += [UInt8](repeating: UInt8(ascii: "Z"), count: padding)

        let crc = CRC32.checksum(data)
        var header = ByteWriter()
        header.u32(0x0403_4B50)
        header.u16(large ? 45 : 20) // version needed
        header.u16(0) // flags
        header.u16(0) // method: stored
        header.u16(0) // time
        header.u16(0x21) // date: 1980-01-01
        header.u32(crc)
        header.u32(large ? 0xFFFF_FFFF : UInt32(size))
        header.u32(large ? 0xFFFF_FFFF : UInt32(size))
        header.u16(UInt16(nameBytes.count))
        header.u16(UInt16(extra.bytes.count))
        header.bytes += nameBytes + extra.bytes
        records.append(Record(name: nameBytes, crc: crc, size: size, offset: sink.offset))
        try sink.append(header.bytes)
        try sink.append(data)
    }

    /// Writes the central directory and the end records.
    func finish(_ sink: inout FileSink) throws {
        let directoryOffset = sink.offset
        var directory = ByteWriter()
        for record in records {
            let largeSize = record.size >= zip64Threshold
            let largeOffset = record.offset >= zip64Threshold
            var extra = ByteWriter()
            if largeSize || largeOffset {
                extra.u16(0x0001)
                extra.u16((largeSize ? 16 : 0) + (largeOffset ? 8 : 0))
                if largeSize {
                    extra.u64(record.size)
                    extra.u64(record.size)
                }
                if largeOffset { extra.u64(record.offset) }
            }
            let version: UInt16 = largeSize || largeOffset ? 45 : 20
            directory.u32(0x0201_4B50)
            directory.u16(version) // made by
            directory.u16(version) // needed
            directory.u16(0) // flags
            directory.u16(0) // method
            directory.u16(0) // time
            directory.u16(0x21) // date
            directory.u32(record.crc)
            directory.u32(largeSize ? 0xFFFF_FFFF : UInt32(record.size))
            directory.u32(largeSize ? 0xFFFF_FFFF : UInt32(record.size))
            directory.u16(UInt16(record.name.count))
            directory.u16(UInt16(extra.bytes.count))
            directory.u16(0) // comment length
            directory.u16(0) // disk
            directory.u16(0) // internal attributes
            directory.u32(0) // external attributes
            directory.u32(largeOffset ? 0xFFFF_FFFF : UInt32(record.offset))
            directory.bytes += record.name + extra.bytes
        }
        let directorySize = UInt64(directory.bytes.count)
        let zip64 = records.count >= 0xFFFF || directoryOffset >= zip64Threshold || directorySize >= zip64Threshold
        if zip64 {
            let recordOffset = directoryOffset + directorySize
            directory.u32(0x0606_4B50)
            directory.u64(44) // size of the rest of this record
            directory.u16(45)
            directory.u16(45)
            directory.u32(0)
            directory.u32(0)
            directory.u64(UInt64(records.count))
            directory.u64(UInt64(records.count))
            directory.u64(directorySize)
            directory.u64(directoryOffset)
            directory.u32(0x0706_4B50) // locator
            directory.u32(0)
            directory.u64(recordOffset)
            directory.u32(1)
        }
        directory.u32(0x0605_4B50)
        directory.u16(0)
        directory.u16(0)
        directory.u16(zip64 ? 0xFFFF : UInt16(records.count))
        directory.u16(zip64 ? 0xFFFF : UInt16(records.count))
        directory.u32(zip64 ? 0xFFFF_FFFF : UInt32(directorySize))
        directory.u32(zip64 ? 0xFFFF_FFFF : UInt32(directoryOffset))
        directory.u16(0) // comment length
        try sink.append(directory.bytes)
    }
}

/// Little-endian bytes appended to an array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
}

/// CRC-32 (ISO-HDLC, polynomial 0xEDB88320) as zip uses it, eight bytes per step
/// ("slicing by 8": table `k` advances a byte through `k` further zero bytes).
enum CRC32 {
    private static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 {
                let previous = table[(k - 1) * 256 + n]
                table[k * 256 + n] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()

    static func checksum(_ data: UnsafeRawBufferPointer) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            func lookup(_ k: Int, _ byte: UInt32) -> UInt32 { t[k * 256 + Int(byte & 0xFF)] }
            var crc: UInt32 = 0xFFFF_FFFF
            var i = 0
            while i + 8 <= data.count {
                let low = crc ^ UInt32(littleEndian: data.loadUnaligned(fromByteOffset: i, as: UInt32.self))
                let high = UInt32(littleEndian: data.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                crc = lookup(7, low) ^ lookup(6, low >> 8) ^ lookup(5, low >> 16) ^ lookup(4, low >> 24)
                    ^ lookup(3, high) ^ lookup(2, high >> 8) ^ lookup(1, high >> 16) ^ lookup(0, high >> 24)
                i += 8
            }
            while i < data.count {
                crc = lookup(0, crc ^ UInt32(data[i])) ^ (crc >> 8)
                i += 1
            }
            return ~crc
        }
    }
}
