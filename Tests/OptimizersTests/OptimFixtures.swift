import Checkpoints
import Foundation
import NN
import Testing
import Torch
import Optimizers

/// The fixtures of Fixtures/make_optim_fixtures.py and the inputs it makes from seeds.
enum OptimFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// `optimizers.safetensors`: parameters after steps 1, 10, 100 and the state after step 100.
    static let optimizers: [String: Tensor] = {
        do {
            let dict = try SafeTensors.read(folder.appendingPathComponent("optimizers.safetensors"))
            return Dictionary(uniqueKeysWithValues: dict.tensors().map { ($0.key, $0.tensor) })
        } catch {
            Issue.record("cannot read optimizers.safetensors: \(error)")
            return [:]
        }
    }()

    struct Schedule: Decodable {
        let lr: [[String]]
        let momentum: [[String]]
        let metrics: [String]?
    }

    /// `schedules.json`: learning rates and momenta after construction and each step.
    static let schedules: [String: Schedule] = {
        do {
            let data = try Data(contentsOf: folder.appendingPathComponent("schedules.json"))
            return try JSONDecoder().decode([String: Schedule].self, from: data)
        } catch {
            Issue.record("cannot read schedules.json: \(error)")
            return [:]
        }
    }()
}

/// `torch.manual_seed(seed); torch.randn(*shape)`.
func seeded(_ seed: UInt64, _ shape: [Int]) -> Tensor {
    Torch.manualSeed(seed)
    return Tensor.randn(shape)
}

/// The generator's problem: x (3, 6), y (4, 6) and parameters p0 (4, 3), p1 (4), p2 (5).
struct Problem {
    let x = seeded(1, [3, 6])
    let y = seeded(2, [4, 6])
    let parameters: [Parameter]

    /// Fresh parameters from the generator's seeds, or copies of `values`.
    init(values: [Tensor]? = nil) {
        let start = values ?? [seeded(3, [4, 3]), seeded(4, [4]), seeded(5, [5])]
        parameters = start.map { Parameter(wrappedValue: $0.detach().clone()) }
    }

    /// `sign · (Σ(p0 x + p1[:, None] − y)² + Σ(p2² − 1)²)`.
    func loss(sign: Double) -> Tensor {
        let (p0, p1, p2) = (parameters[0].value, parameters[1].value, parameters[2].value)
        let r = p0.matmul(x) + p1.unsqueeze(1) - y
        return sign * (r.pow(2).sum() + (p2.pow(2) - 1).pow(2).sum())
    }

    /// zero_grad, backward, step; returns the loss.
    @discardableResult
    func step(_ optimizer: any Optimizer, sign: Double) -> Double {
        optimizer.zeroGrad()
        let loss = loss(sign: sign)
        loss.backward()
        optimizer.step()
        return loss.double
    }

    var groups: (first: [Parameter], second: [Parameter]) { (Array(parameters[..<2]), [parameters[2]]) }
}

/// One optimizer configuration of the generator: two groups (p0, p1) and (p2).
struct OptimizerConfig: CustomTestStringConvertible, Sendable {
    let name: String
    let maximize: Bool
    let make: @Sendable (_ first: [Parameter], _ second: [Parameter]) -> any Optimizer

    var testDescription: String { name }
    var sign: Double { maximize ? -1 : 1 }

    static let all: [OptimizerConfig] = [
        .init(name: "sgd_plain", maximize: false) { a, b in SGD([group(a, 0.01), group(b, 0.005)]) },
        .init(name: "sgd_momentum", maximize: false) { a, b in
            SGD([group(a, 0.01, 1e-3), group(b, 0.002)], momentum: 0.9)
        },
        .init(name: "sgd_nesterov_wd", maximize: false) { a, b in
            SGD([group(a, 0.01, 1e-2), group(b, 0.003, 1e-4)], momentum: 0.9, nesterov: true)
        },
        .init(name: "sgd_dampening", maximize: false) { a, b in
            SGD([group(a, 0.01), group(b, 0.005, 1e-3)], momentum: 0.8, dampening: 0.5)
        },
        .init(name: "sgd_maximize", maximize: true) { a, b in
            SGD([group(a, 0.01, 1e-3), group(b, 0.004)], momentum: 0.5, maximize: true)
        },
        .init(name: "adam_plain", maximize: false) { a, b in Adam([group(a, 0.01), group(b, 0.005)]) },
        .init(name: "adam_weight_decay", maximize: false) { a, b in
            Adam([group(a, 0.01, 1e-2), group(b, 0.005, 0.1)])
        },
        .init(name: "adam_amsgrad", maximize: false) { a, b in
            Adam([group(a, 0.02, 1e-3), group(b, 0.01)], betas: (0.8, 0.99), eps: 1e-6, amsgrad: true)
        },
        .init(name: "adamw", maximize: false) { a, b in AdamW([group(a, 0.01, 1e-2), group(b, 0.005, 0)]) },
        .init(name: "adamw_amsgrad_maximize", maximize: true) { a, b in
            AdamW([group(a, 0.01, 0.05), group(b, 0.02, 1e-3)], betas: (0.85, 0.995), amsgrad: true,
                  maximize: true)
        },
    ]

    static func group(_ parameters: [Parameter], _ lr: Double, _ weightDecay: Double = 0) -> ParameterGroup {
        ParameterGroup(parameters: parameters, learningRate: lr, weightDecay: weightDecay)
    }
}

/// The largest absolute and relative differences between `actual` and `expected`.
func differences(_ actual: Tensor, _ expected: Tensor) -> (absolute: Double, relative: Double) {
    var absolute = 0.0, relative = 0.0
    for (a, e) in zip(actual.toArray(Double.self), expected.toArray(Double.self)) {
        let d = abs(a - e)
        absolute = max(absolute, d)
        relative = max(relative, e == 0 ? (d == 0 ? 0 : .infinity) : d / abs(e))
    }
    return (absolute, relative)
}
