import Foundation

/// Reads a checkpoint whatever its format, judged by content rather than file extension.
public enum CheckpointFile {
    /// Reads a safetensors file, a zip PyTorch checkpoint or a legacy PyTorch checkpoint
    /// (see ``SafeTensors`` and ``TorchCheckpoint``). Tensors point into the memory-mapped file.
    public static func read(_ url: URL) throws -> StateDict {
        let buffer = try ByteBuffer.map(url)
        if TorchCheckpoint.recognizes(buffer) { return try TorchCheckpoint.read(buffer) }
        // A safetensors header is a JSON object right after the 8-byte length.
        if buffer.count > 8, buffer.bytes(8..<9)[0] == UInt8(ascii: "{") { return try SafeTensors.read(buffer) }
        throw CheckpointError.unsupported(
            file: buffer.name, key: nil,
            detail: "the format is not recognised; expected safetensors, a zip PyTorch checkpoint "
                + "or a legacy (pre-1.6) PyTorch checkpoint")
    }
}
