import Foundation
import NN
import Torch

/// Adam, as `torch.optim.Adam` (single-tensor path); ``AdamW`` is the same with decoupled
/// weight decay.
///
/// For each parameter θ with gradient g, at its step t (counted from 1), with group learning
/// rate γ, weight decay λ and β₁ (the group's `momentum`):
///
///     g ← −g                                   if maximize
///     θ ← θ(1 − γλ)  if decoupled,  else  g ← g + λθ        if λ ≠ 0
///     m ← m + (1 − β₁)(g − m)                  (lerp: exp_avg)
///     v ← β₂v + (1 − β₂)g²                     (exp_avg_sq)
///     v̂ ← max(v̂, v), v ← v̂                    if amsgrad  (max_exp_avg_sq)
///     θ ← θ − γ / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// The bias corrections are computed in `Double` as Python does; the step count is exact
/// (PyTorch keeps it in a float32 tensor, which stops counting at 2²⁴ steps).
public class Adam: Optimizer {
    public var parameterGroups: [ParameterGroup] {
        didSet {
            let live = identities(parameterGroups)
            slots = slots.filter { live.contains($0.key) }
        }
    }
    /// β₂, the second-moment coefficient.
    public var beta2: Double
    /// ε, added to the denominator.
    public var eps: Double
    /// Divides by the largest second moment seen so far (AMSGrad).
    public var amsgrad: Bool
    /// Ascends the objective instead of descending it.
    public var maximize: Bool
    /// Whether weight decay shrinks the parameters directly (AdamW) instead of adding to the gradient.
    public let decoupledWeightDecay: Bool
    /// β₁ for groups whose `momentum` is nil (groups added later).
    public let defaultBeta1: Double

    final class Slot {
        var step = 0
        let expAvg: Tensor
        let expAvgSq: Tensor
        var maxExpAvgSq: Tensor?

        init(step: Int, expAvg: Tensor, expAvgSq: Tensor, maxExpAvgSq: Tensor?) {
            self.step = step
            self.expAvg = expAvg
            self.expAvgSq = expAvgSq
            self.maxExpAvgSq = maxExpAvgSq
        }
    }
    private var slots: [ObjectIdentifier: Slot] = [:]

    /// - Parameters:
    ///   - betas: (β₁, β₂); β₁ is the default for groups that don't set `momentum`.
    public init(_ groups: [ParameterGroup], betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                amsgrad: Bool = false, maximize: Bool = false, decoupledWeightDecay: Bool = false) {
        precondition((0..<1).contains(betas.0) && (0..<1).contains(betas.1), "Adam: betas \(betas) not in [0, 1)")
        precondition(eps >= 0, "Adam: eps \(eps) < 0")
        precondition(groups.allSatisfy { $0.learningRate >= 0 && $0.weightDecay >= 0 },
                     "Adam: learning rates and weight decays must be ≥ 0")
        checkDistinct(groups)
        parameterGroups = groups.map { var g = $0; g.momentum = g.momentum ?? betas.0; return g }
        defaultBeta1 = betas.0
        beta2 = betas.1
        self.eps = eps
        self.amsgrad = amsgrad
        self.maximize = maximize
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// One group of `parameters`.
    public convenience init(_ parameters: [Parameter], learningRate: Double = 1e-3,
                            betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8, weightDecay: Double = 0,
                            amsgrad: Bool = false, maximize: Bool = false) {
        self.init([ParameterGroup(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  betas: betas, eps: eps, amsgrad: amsgrad, maximize: maximize)
    }

    /// `"Adam"` or `"AdamW"`: the kind recorded in ``OptimizerState``.
    var kind: String { decoupledWeightDecay ? "AdamW" : "Adam" }

    public func step() {
        Torch.noGrad {
            for group in parameterGroups {
                let lr = group.learningRate, beta1 = group.momentum ?? defaultBeta1
                for parameter in group.parameters {
                    let param = parameter.value
                    guard let gradient = param.grad else { continue }
                    var grad = maximize ? -gradient : gradient
                    let slot = self.slot(for: parameter)
                    slot.step += 1
                    if group.weightDecay != 0 {
                        if decoupledWeightDecay {
                            param.mul_(1 - lr * group.weightDecay)
                        } else {
                            grad = grad.adding(param, alpha: group.weightDecay)
                        }
                    }
                    slot.expAvg.lerp_(grad, weight: 1 - beta1)
                    slot.expAvgSq.mul_(beta2).addcmul_(grad, grad, value: 1 - beta2)

                    let t = Double(slot.step)
                    let biasCorrection1 = 1 - pow(beta1, t)
                    let biasCorrection2 = 1 - pow(beta2, t)
                    let stepSize = lr / biasCorrection1
                    let biasCorrection2Sqrt = pow(biasCorrection2, 0.5)
                    var secondMoment = slot.expAvgSq
                    if amsgrad {
                        let maximum = slot.maxExpAvgSq ?? Tensor.zeros(like: param)
                        slot.maxExpAvgSq = maximum.maximum_(slot.expAvgSq)
                        secondMoment = maximum
                    }
                    let denominator = (secondMoment.sqrt() / biasCorrection2Sqrt).add_(eps)
                    param.addcdiv_(slot.expAvg, denominator, value: -stepSize)
                }
            }
        }
    }

    /// The parameter's state, made (zeros, step 0) on its first update.
    private func slot(for parameter: Parameter) -> Slot {
        let id = ObjectIdentifier(parameter)
        if let slot = slots[id] { return slot }
        let p = parameter.value
        let slot = Slot(step: 0, expAvg: Tensor.zeros(like: p), expAvgSq: Tensor.zeros(like: p),
                        maxExpAvgSq: amsgrad ? Tensor.zeros(like: p) : nil)
        slots[id] = slot
        return slot
    }

    static let expAvg = "exp_avg", expAvgSq = "exp_avg_sq", maxExpAvgSq = "max_exp_avg_sq"

    public func state() -> OptimizerState {
        OptimizerState(
            kind: kind,
            options: ["beta2": beta2, "eps": eps, "amsgrad": amsgrad ? 1 : 0, "maximize": maximize ? 1 : 0],
            groups: groupStates,
            parameters: flatParameters.map { p in
                slots[ObjectIdentifier(p)].map { slot in
                    var buffers = [Self.expAvg: slot.expAvg.clone(), Self.expAvgSq: slot.expAvgSq.clone()]
                    buffers[Self.maxExpAvgSq] = slot.maxExpAvgSq?.clone()
                    return .init(step: slot.step, buffers: buffers)
                }
            })
    }

    public func load(_ state: OptimizerState) throws {
        try state.check(kind: kind)
        let beta2 = try state.option("beta2"), eps = try state.option("eps")
        let amsgrad = try state.option("amsgrad") != 0, maximize = try state.option("maximize") != 0
        let required = [Self.expAvg, Self.expAvgSq] + (amsgrad ? [Self.maxExpAvgSq] : [])
        let parameters = try checkCompatible(state, required: required)
        restoreGroups(from: state)
        slots = [:]
        for (slot, parameter) in zip(state.parameters, parameters) {
            guard let slot, let m = slot.buffers[Self.expAvg], let v = slot.buffers[Self.expAvgSq] else { continue }
            slots[ObjectIdentifier(parameter)] = Slot(
                step: slot.step, expAvg: restored(m, like: parameter), expAvgSq: restored(v, like: parameter),
                maxExpAvgSq: slot.buffers[Self.maxExpAvgSq].map { restored($0, like: parameter) })
        }
        self.beta2 = beta2
        self.eps = eps
        self.amsgrad = amsgrad
        self.maximize = maximize
    }
}

/// Adam with decoupled weight decay (Loshchilov & Hutter), as `torch.optim.AdamW`:
/// each step first shrinks θ ← θ(1 − γλ), and λ never enters the moments.
public final class AdamW: Adam {
    /// - Parameters:
    ///   - betas: (β₁, β₂); β₁ is the default for groups that don't set `momentum`.
    public init(_ groups: [ParameterGroup], betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                amsgrad: Bool = false, maximize: Bool = false) {
        super.init(groups, betas: betas, eps: eps, amsgrad: amsgrad, maximize: maximize, decoupledWeightDecay: true)
    }

    /// One group of `parameters`, with PyTorch's default weight decay 1e-2.
    public convenience init(_ parameters: [Parameter], learningRate: Double = 1e-3,
                            betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8, weightDecay: Double = 1e-2,
                            amsgrad: Bool = false, maximize: Bool = false) {
        self.init([ParameterGroup(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  betas: betas, eps: eps, amsgrad: amsgrad, maximize: maximize)
    }
}
