#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Sequential writes into a file descriptor, counting the bytes written.
struct FileSink {
    /// The destination path, for error messages.
    let name: String
    fileprivate let fd: Int32
    private(set) var offset: UInt64 = 0

    fileprivate init(name: String, fd: Int32) {
        self.name = name
        self.fd = fd
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while let start = rest.baseAddress, !rest.isEmpty {
            let written = write(fd, start, rest.count)
            if written < 0 {
                if errno == EINTR { continue }
                throw CheckpointError.io(file: name, operation: "write", code: errno)
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[written...])
        }
        offset += UInt64(bytes.count)
    }

    mutating func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }
}

/// Writes `url` atomically: `body` writes into a new temporary file in the same directory,
/// which is `fsync`ed and renamed over `url` only if `body` succeeds; on any error the
/// temporary file is removed and `url` is left as it was.
func writeAtomically(to url: URL, _ body: (inout FileSink) throws -> Void) throws {
    let path = url.path
    let directory = url.deletingLastPathComponent().path
    let temporary = directory + "/." + url.lastPathComponent + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    // The error names the file asked for, not the temporary one the user never chose.
    guard fd >= 0 else { throw CheckpointError.io(file: path, operation: "create", code: errno) }
    var closed = false
    do {
        var sink = FileSink(name: path, fd: fd)
        try body(&sink)
        guard fsync(fd) == 0 else { throw CheckpointError.io(file: path, operation: "fsync", code: errno) }
        closed = true
        guard close(fd) == 0 else { throw CheckpointError.io(file: path, operation: "close", code: errno) }
        guard rename(temporary, path) == 0 else {
            throw CheckpointError.io(file: path, operation: "rename", code: errno)
        }
    } catch {
        if !closed { close(fd) }
        unlink(temporary)
        throw error
    }
    // Make the rename itself durable; best effort, as not every file system can sync a directory.
    let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directoryFD >= 0 {
        fsync(directoryFD)
        close(directoryFD)
    }
}
