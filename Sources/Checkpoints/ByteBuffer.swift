#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Immutable bytes that tensors point into: a read-only memory map of a whole file
/// (unmapped when the last tensor referring to it goes away) or a heap copy owned by Swift.
///
/// The reads below are bounds-checked and little-endian; a read past the end throws
/// ``CheckpointError/truncated(file:detail:)`` naming ``name`` and what was being read.
final class ByteBuffer: @unchecked Sendable {
    /// The file's path, or `<memory>` for bytes handed in by the caller.
    let name: String
    let base: UnsafeRawPointer
    let count: Int
    private let isMapped: Bool

    private init(name: String, base: UnsafeRawPointer, count: Int, isMapped: Bool) {
        self.name = name
        self.base = base
        self.count = count
        self.isMapped = isMapped
    }

    /// Maps the whole file read-only (`MAP_PRIVATE`); nothing is read until touched.
    static func map(_ url: URL) throws -> ByteBuffer {
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError.io(file: path, operation: "open", code: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw CheckpointError.io(file: path, operation: "stat", code: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw CheckpointError.unsupported(file: path, key: nil, detail: "it is not a regular file")
        }
        let size = Int(info.st_size)
        guard size > 0 else { throw CheckpointError.truncated(file: path, detail: "the file is empty") }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw CheckpointError.io(file: path, operation: "mmap", code: errno)
        }
        return ByteBuffer(name: path, base: UnsafeRawPointer(address), count: size, isMapped: true)
    }

    /// Copies `bytes` into memory this buffer owns; errors call it `name`.
    convenience init(copying bytes: some Collection<UInt8>, name: String = "<memory>") {
        self.init(count: bytes.count, name: name) { $0.copyBytes(from: bytes) }
    }

    /// `count` bytes of memory this buffer owns, written by `fill` (which must write them all).
    convenience init(
        count: Int, name: String = "<memory>", fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) rethrows {
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
        do {
            try fill(UnsafeMutableRawBufferPointer(rebasing: memory[0..<count]))
        } catch {
            memory.deallocate()
            throw error
        }
        self.init(name: name, base: UnsafeRawPointer(memory.baseAddress!), count: count, isMapped: false)
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            base.deallocate()
        }
    }

    /// Checks that `length` bytes at `offset` lie inside the buffer and returns their range.
    func range(at offset: Int, length: Int, _ what: @autoclosure () -> String) throws -> Range<Int> {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw CheckpointError.truncated(
                file: name, detail: "\(what()) needs \(length) bytes at offset \(offset) but the file has \(count)")
        }
        return offset..<(offset + length)
    }

    /// The bytes in `range`, which must come from ``range(at:length:_:)``.
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// The little-endian integer at `offset`.
    func integer<T: FixedWidthInteger>(_: T.Type, at offset: Int, _ what: @autoclosure () -> String) throws -> T {
        _ = try range(at: offset, length: MemoryLayout<T>.size, what())
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    func starts(with prefix: [UInt8]) -> Bool {
        count >= prefix.count && bytes(0..<prefix.count).elementsEqual(prefix)
    }
}
