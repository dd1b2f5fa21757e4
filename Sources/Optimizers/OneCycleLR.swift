import Foundation

/// The 1cycle policy (Smith & Topin; fastai's default), as `OneCycleLR`: per batch, the
/// learning rate climbs from `max / divFactor` to `max` over the first `pctStart` of
/// `totalSteps`, then anneals to `max / divFactor / finalDivFactor`; the momentum (SGD's
/// momentum, Adam's β₁) moves the opposite way between `maxMomentum` and `baseMomentum`.
///
/// With `threePhase`, the rate comes back down to the initial rate symmetrically before
/// a third phase anneals it to the minimum. Within a phase from `a` to `b`, at fraction
/// `p` of the phase:
///
///     cos:     b + (a − b)/2 · (1 + cos(πp))
///     linear:  (b − a)·p + a
///
/// Phases end at steps `pctStart·N − 1` (and `2·pctStart·N − 2` with three phases) and
/// `N − 1`. Stepping past `totalSteps` is a programming error and traps, as PyTorch raises.
public final class OneCycleLR: EpochScheduler {
    public enum AnnealStrategy: String, Codable, Sendable {
        case cos, linear
    }

    public let totalSteps: Int
    /// Per group: the starting, peak and final learning rates.
    public let initialLearningRates: [Double]
    public let maxLearningRates: [Double]
    public let minLearningRates: [Double]
    public let annealStrategy: AnnealStrategy
    /// The momentum range `(base, max)` when momentum is cycled, else nil.
    public let momentumRange: (base: Double, max: Double)?

    private enum Level { case initial, peak, final }
    private enum MomentumLevel { case base, max }
    /// One phase, as PyTorch's `_schedule_phases` entries.
    private struct Phase {
        let endStep: Double
        let learningRate: (from: Level, to: Level)
        let momentum: (from: MomentumLevel, to: MomentumLevel)
    }
    private let phases: [Phase]

    /// - Parameters:
    ///   - maxLearningRates: the peak rate, one for all groups or one per group.
    ///   - totalSteps: the number of `step()` calls planned (epochs × batches per epoch).
    ///   - cycleMomentum: whether to cycle each group's `momentum` between `maxMomentum` and `baseMomentum`.
    public init(_ optimizer: any Optimizer, maxLearningRates: [Double], totalSteps: Int, pctStart: Double = 0.3,
                annealStrategy: AnnealStrategy = .cos, cycleMomentum: Bool = true, baseMomentum: Double = 0.85,
                maxMomentum: Double = 0.95, divFactor: Double = 25, finalDivFactor: Double = 1e4,
                threePhase: Bool = false) {
        let groups = optimizer.parameterGroups.count
        precondition(totalSteps > 0, "OneCycleLR: totalSteps \(totalSteps) ≤ 0")
        precondition(pctStart >= 0 && pctStart <= 1, "OneCycleLR: pctStart \(pctStart) not in [0, 1]")
        precondition(maxLearningRates.count == 1 || maxLearningRates.count == groups,
                     "OneCycleLR: \(maxLearningRates.count) max learning rates for \(groups) groups")
        let n = Double(totalSteps)
        phases = threePhase
            ? [Phase(endStep: pctStart * n - 1, learningRate: (.initial, .peak), momentum: (.max, .base)),
               Phase(endStep: 2 * pctStart * n - 2, learningRate: (.peak, .initial), momentum: (.base, .max)),
               Phase(endStep: n - 1, learningRate: (.initial, .final), momentum: (.max, .max))]
            : [Phase(endStep: pctStart * n - 1, learningRate: (.initial, .peak), momentum: (.max, .base)),
               Phase(endStep: n - 1, learningRate: (.peak, .final), momentum: (.base, .max))]
        self.totalSteps = totalSteps
        self.annealStrategy = annealStrategy
        self.maxLearningRates = maxLearningRates.count == groups
            ? maxLearningRates : Array(repeating: maxLearningRates[0], count: groups)
        initialLearningRates = self.maxLearningRates.map { $0 / divFactor }
        minLearningRates = initialLearningRates.map { $0 / finalDivFactor }
        momentumRange = cycleMomentum ? (baseMomentum, maxMomentum) : nil
        for i in 0..<groups {
            optimizer.parameterGroups[i].initialLearningRate = initialLearningRates[i]
            if cycleMomentum { optimizer.parameterGroups[i].momentum = maxMomentum }
        }
        super.init(attachingTo: optimizer)
    }

    /// Per optimizer step: `totalSteps` counts batches.
    public override var granularity: StepGranularity { .batch }

    override func learningRates() -> [Double] {
        precondition(lastEpoch <= totalSteps,
                     "OneCycleLR: tried to step \(lastEpoch) times; totalSteps is \(totalSteps)")
        let step = Double(lastEpoch)
        var start = 0.0
        var phase = phases[phases.count - 1]
        for candidate in phases.dropLast() {
            if step <= candidate.endStep { phase = candidate; break }
            start = candidate.endStep
        }
        let pct = (step - start) / (phase.endStep - start)
        if let range = momentumRange {
            let value = { (level: MomentumLevel) in level == .base ? range.base : range.max }
            let momentum = anneal(value(phase.momentum.from), value(phase.momentum.to), pct)
            var groups = optimizer.parameterGroups
            for i in groups.indices { groups[i].momentum = momentum }
            optimizer.parameterGroups = groups
        }
        return optimizer.parameterGroups.indices.map {
            anneal(level(phase.learningRate.from, group: $0), level(phase.learningRate.to, group: $0), pct)
        }
    }

    private func level(_ level: Level, group: Int) -> Double {
        switch level {
        case .initial: initialLearningRates[group]
        case .peak: maxLearningRates[group]
        case .final: minLearningRates[group]
        }
    }

    private func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        switch annealStrategy {
        case .cos: end + (start - end) / 2.0 * (cos(Double.pi * pct) + 1)
        case .linear: (end - start) * pct + start
        }
    }
}
