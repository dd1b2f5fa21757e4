import ArgumentParser
import Graft
import Foundation

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert weights between PyTorch .pth (zip or legacy) and .safetensors.",
        discussion: """
            The output format follows OUT's extension (.safetensors, or .pth/.pt/.bin for \
            PyTorch's zip format). Nothing in the input is executed: .pth files are read with \
            a restricted unpickler that refuses anything but tensors and containers.

            Examples:
              graft convert resnet18-f37072fd.pth resnet18.safetensors
              graft convert model.safetensors model.pth
            """
    )

    @Argument(help: "The weights to read (.pth, .pt, .bin or .safetensors; detected by content).")
    var input: String
    @Argument(help: "The file to write.") var output: String
    @Flag(help: "Print a JSON summary.") var json = false

    func validate() throws { try requireExists(input, "INPUT") }

    func run() throws {
        let source = URL(fileURLWithPath: input), destination = URL(fileURLWithPath: output)
        let dict = try CheckpointFile.read(source)
        switch destination.pathExtension.lowercased() {
        case "safetensors": try SafeTensors.write(dict, to: destination)
        case "pth", "pt", "bin": try TorchCheckpoint.write(dict, to: destination)
        default:
            throw ValidationError("OUT must end in .safetensors, .pth, .pt or .bin, got \(output)")
        }
        let bytes = dict.entries.reduce(0) { $0 + $1.tensor.byteCount }
        if json {
            print(try jsonLine(["input": input, "output": output, "tensors": dict.count, "bytes": bytes]))
        } else {
            print("wrote \(dict.count) tensors (\(bytes) bytes) to \(output)")
        }
    }
}
