import Foundation

/// Reads a checkpoint whatever its format, judged by content rather than file extension.
public enum CheckpointFile {
    /// Reads a safetensors file, a zip PyTorch checkpoint or a legacy PyTorch checkpoint
    /// (see ``SafeTensors`` and ``TorchCheckpoint``). Tensors point into the memory-mapped file.
    public static func read(_ url: URL) throws -> StateDict {
        try read(ByteBuffer.map(url))
    }

    /// Reads a checkpoint held in memory, in any of the formats ``read(_:)`` reads. The bytes
    /// are copied once; tensors point into that copy. Errors name the checkpoint `name`.
    public static func read(data: Data, name: String = "<memory>") throws -> StateDict {
        try read(ByteBuffer(copying: data, name: name))
    }

    static func read(_ buffer: ByteBuffer) throws -> StateDict {
        if TorchCheckpoint.recognizes(buffer) { return try TorchCheckpoint.read(buffer) }
        // A safetensors header is a JSON object right after the 8-byte length.
        if buffer.count > 8, buffer.bytes(8..<9)[0] == UInt8(ascii: "{") { return try SafeTensors.read(buffer) }
        throw CheckpointError.unsupported(
            file: buffer.name, key: nil,
            detail: "the format is not recognised; expected safetensors, a zip PyTorch checkpoint "
                + "or a legacy (pre-1.6) PyTorch checkpoint")
    }
}
