import Checkpoints
import Foundation

/// One libFuzzer input: reads it as a checkpoint in memory, as `CheckpointFile.read` reads a
/// file. It must either give a state dict whose tensors can all be read, or throw a
/// ``CheckpointError`` whose description is one line of bounded length. Anything else (a
/// crash, a leak, another error type, a long or multi-line message) is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        let dict = try CheckpointFile.read(data: Data(bytes: data, count: size), name: "input.pth")
        // Reads every element of every view; stride-0 views may declare up to 4 GiB, skip those.
        for (_, tensor) in dict.entries where tensor.byteCount <= 1 << 20 {
            _ = tensor.doubleValues()
        }
    } catch let error as CheckpointError {
        let text = error.description
        if text.contains(where: \.isNewline) || text.count > 1000 {
            fatalError("the error is not one short line (\(text.count) characters): \(text.prefix(1200))")
        }
    } catch {
        fatalError("CheckpointFile.read threw \(type(of: error)), not a CheckpointError")
    }
    return 0
}
