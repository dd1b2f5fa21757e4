import ArgumentParser
import Foundation
import Graft

@main
struct GraftCommand: ParsableCommand {
    static func main() {
        Torch.keepFreedMemory()
        let arguments = Array(CommandLine.arguments.dropFirst())
        // `--version` probes CUDA (it loads libtorch_cuda.so); nothing else does unless asked.
        if arguments == ["--version"] || arguments == ["version"] {
            print(versionLine())
            return
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            exit(withError: withFlagHint(error))
        }
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
            version: "graft \(GraftInfo.version), libtorch \(Torch.version)",
            subcommands: [Train.self, Eval.self, Predict.self, Doctor.self, Models.self, Convert.self, Demo.self]
        )
    }

    static func versionLine() -> String {
        let cuda = CUDA.isAvailable ? "available (\(CUDA.deviceCount) device(s))" : "not available"
        return "graft \(GraftInfo.version), libtorch \(Torch.version), CUDA \(cuda)"
    }

    /// A library error gets the flag that set the value it is about.
    static func withFlagHint(_ error: any Error) -> any Error {
        guard let flag = flagHint(for: error) else { return error }
        return FlaggedError(flag: flag, message: "\(error)")
    }
}

/// A library error with the CLI flag it concerns, printed as `--flag: message`.
struct FlaggedError: Error, CustomStringConvertible {
    let flag: String
    let message: String
    var description: String { "\(flag): \(message)" }
}
