import ArgumentParser
import Foundation
import Torch

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Small demonstrations of the engine.",
        subcommands: [Autograd.self]
    )

    struct Autograd: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fits y = 3x - 2 + noise by gradient descent, with libtorch's autograd.",
            discussion: "Example:\n  graft demo autograd --steps 200"
        )

        @Option(help: "Gradient steps.") var steps = 200
        @Option(help: "Learning rate.") var lr = 0.1
        @Option(help: "Random seed.") var seed: UInt64 = 0

        func validate() throws {
            guard steps > 0 else { throw ValidationError("--steps must be positive, got \(steps)") }
            guard lr > 0 else { throw ValidationError("--lr must be positive, got \(lr)") }
        }

        func run() throws {
            print(Graft.versionLine())
            Torch.manualSeed(seed)
            let x = Tensor.rand([256, 1]) * 4 - 2
            let y = x * 3 - 2 + Tensor.randn([256, 1]) * 0.1
            let w = Tensor.zeros([1, 1]).requiresGrad(), b = Tensor.zeros([1]).requiresGrad()
            for step in 1...steps {
                let loss = Functional.mseLoss(Functional.linear(x, weight: w, bias: b), y)
                loss.backward()
                Torch.noGrad {
                    w.add_(w.grad!, alpha: -lr)
                    b.add_(b.grad!, alpha: -lr)
                }
                w.zeroGrad()
                b.zeroGrad()
                if step == 1 || step % 50 == 0 || step == steps {
                    print(String(format: "step %4d  loss %.5f  w %.4f  b %.4f", step, loss.double, w.double, b.double))
                }
            }
        }
    }
}
