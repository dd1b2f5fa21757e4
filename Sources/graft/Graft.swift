import ArgumentParser
import Torch

/// Graft's version (the project's, not libtorch's).
let graftVersion = "0.1.0"

@main
struct Graft: ParsableCommand {
    static func main() {
        Torch.keepFreedMemory()
        main(nil)
    }

    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "graft",
            abstract: "Transfer learning for Swift, on PyTorch's own engine.",
            discussion: """
                Examples:
                  graft --version
                  graft models
                  graft convert resnet18-f37072fd.pth resnet18.safetensors
                  graft demo autograd
                """,
            version: versionLine(),
            subcommands: [Train.self, Eval.self, Predict.self, Doctor.self, Models.self, Convert.self, Demo.self]
        )
    }

    static func versionLine() -> String {
        let cuda = CUDA.isAvailable ? "available (\(CUDA.deviceCount) device(s))" : "not available"
        return "graft \(graftVersion), libtorch \(Torch.version), CUDA \(cuda)"
    }
}
