import ArgumentParser
import Foundation
import Graft

@main
struct GraftCommand: ParsableCommand {
    static func main() {
        Torch.keepFreedMemory()
        // Past a file-size limit (ulimit -f), a write fails with EFBIG and is reported like
        // a full disk, instead of SIGXFSZ ending the process mid-run.
        signal(SIGXFSZ, SIG_IGN)
        let arguments = Array(CommandLine.arguments.dropFirst())
        // `--version` probes CUDA (it loads libtorch_cuda.so); nothing else does unless asked.
        if arguments == ["--version"] || arguments == ["version"] {
            print(versionLine())
            return
        }
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)  // with the usage of the (sub)command that was parsed
        }
        do {
            try command.run()
        } catch {
            // While running, the usage is not the problem: one line, the flag named where
            // the error is about one.
            switch error {
            case is ExitCode, is CleanExit: exit(withError: error)
            case let error as ValidationError:
                FileHandle.standardError.write(Data("Error: \(error.message)\n".utf8))
                Foundation.exit(ExitCode.validationFailure.rawValue)
            default:
                exit(withError: cliMessage(for: error).map { CLIError(message: $0) } ?? error)
            }
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
            subcommands: [Train.self, LRFind.self, Eval.self, Predict.self, Select.self, Doctor.self, Models.self, Convert.self,
                          Demo.self]
        )
    }

    static func versionLine() -> String {
        let cuda = CUDA.isAvailable ? "available (\(CUDA.deviceCount) device(s))" : "not available"
        let cpu = CPUFeatures.current
        let auto = (try? PrecisionChoice.auto.resolve(on: .cpu))?.description ?? "fp32"
        return "graft \(GraftInfo.version), libtorch \(Torch.version), CUDA \(cuda)\n"
            + "CPU: \(cpu.model ?? "unknown"), kernels \(cpu.kernelISA); precision on the CPU: \(auto)"
            + (CUDA.isAvailable ? "\nprecision on cuda:0: " + ((try? PrecisionChoice.auto.resolve(on: .cuda(0)))?.description ?? "fp32") : "")
    }
}

/// An error as the CLI words it (see ``cliMessage(for:)``).
struct CLIError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
