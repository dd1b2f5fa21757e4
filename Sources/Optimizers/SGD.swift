import NN
import Torch

/// Stochastic gradient descent with momentum, as `torch.optim.SGD` (single-tensor path).
///
/// For each parameter θ with gradient g, with group learning rate γ, weight decay λ and
/// momentum μ, and dampening τ:
///
///     g ← −g                         if maximize
///     g ← g + λθ                     if λ ≠ 0
///     b ← g  (first step),  b ← μb + (1 − τ)g  (later steps)     if μ ≠ 0
///     g ← g + μb  if nesterov,  else  g ← b                      if μ ≠ 0
///     θ ← θ − γg
///
/// The momentum buffer `b` is the parameter's `momentum_buffer` in ``OptimizerState``.
public final class SGD: Optimizer {
    public var parameterGroups: [ParameterGroup] {
        didSet {
            let live = identities(parameterGroups)
            buffers = buffers.filter { live.contains($0.key) }
        }
    }
    /// τ: the share of the gradient left out of the momentum buffer.
    public var dampening: Double
    public var nesterov: Bool
    /// Ascends the objective instead of descending it.
    public var maximize: Bool

    /// μ for groups whose `momentum` is nil (groups added later).
    public let defaultMomentum: Double

    private var buffers: [ObjectIdentifier: Tensor] = [:]
    static let momentumBuffer = "momentum_buffer"

    /// - Parameters:
    ///   - momentum: μ for groups that don't set their own.
    public init(_ groups: [ParameterGroup], momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false,
                maximize: Bool = false) {
        precondition(momentum >= 0, "SGD: momentum \(momentum) < 0")
        precondition(groups.allSatisfy { $0.learningRate >= 0 && $0.weightDecay >= 0 },
                     "SGD: learning rates and weight decays must be ≥ 0")
        precondition(!nesterov || (groups.allSatisfy { ($0.momentum ?? momentum) > 0 } && dampening == 0),
                     "SGD: Nesterov momentum requires a momentum and zero dampening")
        checkDistinct(groups)
        parameterGroups = groups.map { var g = $0; g.momentum = g.momentum ?? momentum; return g }
        defaultMomentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.maximize = maximize
    }

    /// One group of `parameters`.
    public convenience init(_ parameters: [Parameter], learningRate: Double = 1e-3, momentum: Double = 0,
                            dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false,
                            maximize: Bool = false) {
        self.init([ParameterGroup(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  momentum: momentum, dampening: dampening, nesterov: nesterov, maximize: maximize)
    }

    public func step() {
        Torch.noGrad {
            for group in parameterGroups {
                let momentum = group.momentum ?? defaultMomentum
                for parameter in group.parameters {
                    let param = parameter.value
                    guard let gradient = param.grad else { continue }
                    var grad = maximize ? -gradient : gradient
                    if group.weightDecay != 0 { grad = grad.adding(param, alpha: group.weightDecay) }
                    if momentum != 0 {
                        let id = ObjectIdentifier(parameter)
                        let buffer: Tensor
                        if let existing = buffers[id] {
                            buffer = existing.mul_(momentum).add_(grad, alpha: 1 - dampening)
                        } else {
                            buffer = grad.detach().clone()
                            buffers[id] = buffer
                        }
                        grad = nesterov ? grad.adding(buffer, alpha: momentum) : buffer
                    }
                    param.add_(grad, alpha: -group.learningRate)
                }
            }
        }
    }

    public func state() -> OptimizerState {
        OptimizerState(
            kind: "SGD",
            options: ["dampening": dampening, "nesterov": nesterov ? 1 : 0, "maximize": maximize ? 1 : 0],
            groups: groupStates,
            parameters: flatParameters.map { p in
                buffers[ObjectIdentifier(p)].map { .init(step: 0, buffers: [Self.momentumBuffer: $0.clone()]) }
            })
    }

    public func load(_ state: OptimizerState) throws {
        try state.check(kind: "SGD")
        let dampening = try state.option("dampening"), nesterov = try state.option("nesterov") != 0
        let maximize = try state.option("maximize") != 0
        let parameters = try checkCompatible(state, required: [Self.momentumBuffer])
        restoreGroups(from: state)
        buffers = [:]
        for (slot, parameter) in zip(state.parameters, parameters) {
            if let buffer = slot?.buffers[Self.momentumBuffer] {
                buffers[ObjectIdentifier(parameter)] = restored(buffer, like: parameter)
            }
        }
        self.dampening = dampening
        self.nesterov = nesterov
        self.maximize = maximize
    }
}
