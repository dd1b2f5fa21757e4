import Foundation

/// A learning-rate schedule attached to an optimizer, as `torch.optim.lr_scheduler`.
///
/// Metric-free schedules (``EpochScheduler`` and its subclasses) advance with `step()`;
/// ``ReduceLROnPlateau`` advances with `step(metric:)`. Call either after the optimizer's `step()`.
///
/// To resume, save ``state()`` (Codable) together with the optimizer's state, which holds the
/// current learning rates and momenta; then make the optimizer and the schedule as before and
/// load both. As in PyTorch, making a schedule writes the optimizer's learning rates, so make
/// it before loading the optimizer's state (loading the schedule's own state touches no optimizer).
public protocol LRScheduler: AnyObject {
    /// The optimizer whose groups the schedule sets.
    var optimizer: any Optimizer { get }
    /// The learning rate of each group after the latest step, as `get_last_lr()`.
    var lastLearningRates: [Double] { get }
    /// Steps taken (`last_epoch`).
    var lastEpoch: Int { get }
    /// Everything later steps depend on.
    func state() -> SchedulerState
    /// Restores ``state()`` of a schedule made with the same configuration.
    func load(_ state: SchedulerState) throws
    /// When a training loop advances this schedule: after every optimizer step (``OneCycleLR``)
    /// or once per epoch (the others).
    var granularity: StepGranularity { get }
    /// Advances one step at the schedule's ``granularity``. `metric` is the epoch's monitored
    /// value (validation loss or accuracy); metric-driven schedules (``ReduceLROnPlateau``)
    /// need it and take no step without it, the others ignore it.
    func advance(metric: Double?)
}

/// How often a schedule steps.
public enum StepGranularity: Sendable, Equatable {
    /// After every optimizer step (a batch).
    case batch
    /// After every epoch.
    case epoch
}

/// A schedule's resumable state: PyTorch's `scheduler.state_dict()` without the configuration.
public struct SchedulerState: Codable, Sendable, Equatable {
    /// The schedule's type name (`"CosineAnnealingLR"`), checked on load.
    public var kind: String
    public var lastEpoch: Int
    public var lastLearningRates: [Double]
    /// `base_lrs`; nil for ``ReduceLROnPlateau``.
    public var baseLearningRates: [Double]?
    /// ``SequentialLR``'s schedules.
    public var schedulers: [SchedulerState]?
    /// ``ReduceLROnPlateau``'s counters.
    public var plateau: PlateauState?

    public init(kind: String, lastEpoch: Int, lastLearningRates: [Double], baseLearningRates: [Double]? = nil,
                schedulers: [SchedulerState]? = nil, plateau: PlateauState? = nil) {
        self.kind = kind
        self.lastEpoch = lastEpoch
        self.lastLearningRates = lastLearningRates
        self.baseLearningRates = baseLearningRates
        self.schedulers = schedulers
        self.plateau = plateau
    }
}

/// Why a ``SchedulerState`` cannot be loaded.
public enum SchedulerStateError: Error, CustomStringConvertible, Equatable {
    case wrongScheduler(expected: String, found: String)
    case groupCount(expected: Int, found: Int)
    case missing(String)

    public var description: String {
        switch self {
        case .wrongScheduler(let expected, let found): "the state is a \(found)'s, not \(expected)'s"
        case .groupCount(let expected, let found):
            "the state has learning rates for \(found) groups, the optimizer \(expected)"
        case .missing(let field): "the state has no \(field)"
        }
    }
}

/// The base of schedules stepped without a metric — once per epoch, or per batch for
/// ``OneCycleLR`` — as PyTorch's `LRScheduler`.
///
/// Making one records each group's `initialLearningRate` (when not yet set) as its base
/// rate and takes the first step (epoch 0). Each ``step()`` then computes the next rates
/// from the current ones, with PyTorch's recursive (chainable) formulas, so the values
/// equal PyTorch's to the last bit. On its own, the base class keeps every rate constant.
public class EpochScheduler: LRScheduler {
    public let optimizer: any Optimizer
    public internal(set) var lastEpoch: Int
    public internal(set) var lastLearningRates: [Double]
    /// Each group's `initialLearningRate` when the schedule was made (`base_lrs`).
    public internal(set) var baseLearningRates: [Double]
    /// True while the first step runs (`_is_initial`).
    var isInitial = false

    /// A schedule that keeps the learning rates as they are.
    public convenience init(_ optimizer: any Optimizer) {
        self.init(attachingTo: optimizer)
    }

    /// Records base rates, then takes the initial step (PyTorch's `LRScheduler.__init__`).
    init(attachingTo optimizer: any Optimizer) {
        self.optimizer = optimizer
        for i in optimizer.parameterGroups.indices where optimizer.parameterGroups[i].initialLearningRate == nil {
            optimizer.parameterGroups[i].initialLearningRate = optimizer.parameterGroups[i].learningRate
        }
        baseLearningRates = optimizer.parameterGroups.map { $0.initialLearningRate ?? $0.learningRate }
        lastEpoch = -1
        lastLearningRates = optimizer.learningRates
        initialStep()
    }

    /// A schedule that takes no initial step (``SequentialLR``).
    init(optimizer: any Optimizer, lastEpoch: Int, baseLearningRates: [Double]) {
        self.optimizer = optimizer
        self.lastEpoch = lastEpoch
        self.baseLearningRates = baseLearningRates
        lastLearningRates = optimizer.learningRates
    }

    /// Advances one epoch (or batch) and sets the optimizer's learning rates.
    public func step() { update(epoch: nil) }

    /// Epoch-wise, except ``OneCycleLR``, which steps per batch.
    public var granularity: StepGranularity { .epoch }

    public func advance(metric: Double?) { step() }

    /// Epoch 0's step, made when the schedule is attached (`_initial_step`).
    func initialStep() {
        isInitial = true
        defer { isInitial = false }
        step()
    }

    /// `_update_lr`: the next epoch by the recursive formula, or jumps to `epoch` by the
    /// closed form where the schedule has one (``SequentialLR`` restarts a schedule so).
    func update(epoch: Int?) {
        let values: [Double]
        if let epoch {
            lastEpoch = epoch
            values = closedFormLearningRates() ?? learningRates()
        } else {
            lastEpoch += 1
            values = learningRates()
        }
        optimizer.learningRates = values
        lastLearningRates = values
    }

    /// The rates at ``lastEpoch`` from the current ones (`get_lr`); subclasses override.
    func learningRates() -> [Double] { optimizer.learningRates }

    /// The rates at ``lastEpoch`` from the base rates (`_get_closed_form_lr`), if there is a formula.
    func closedFormLearningRates() -> [Double]? { nil }

    /// The name stored in ``SchedulerState/kind``.
    var kind: String { String(describing: type(of: self)) }

    public func state() -> SchedulerState {
        SchedulerState(kind: kind, lastEpoch: lastEpoch, lastLearningRates: lastLearningRates,
                       baseLearningRates: baseLearningRates)
    }

    public func load(_ state: SchedulerState) throws {
        try check(state)
        guard let base = state.baseLearningRates else { throw SchedulerStateError.missing("baseLearningRates") }
        lastEpoch = state.lastEpoch
        lastLearningRates = state.lastLearningRates
        baseLearningRates = base
    }

    /// Checks the kind and the number of groups.
    func check(_ state: SchedulerState) throws {
        guard state.kind == kind else { throw SchedulerStateError.wrongScheduler(expected: kind, found: state.kind) }
        let groups = optimizer.parameterGroups.count
        for rates in [state.lastLearningRates, state.baseLearningRates ?? []] where rates.count != groups {
            throw SchedulerStateError.groupCount(expected: groups, found: rates.count)
        }
    }
}

// MARK: - Step decay

/// Multiplies the learning rates by `gamma` every `stepSize` epochs, as `StepLR`:
/// `lrₜ = lrₜ₋₁ · γ` when `t > 0` and `t mod stepSize = 0`, else `lrₜ = lrₜ₋₁`.
public final class StepLR: EpochScheduler {
    public let stepSize: Int
    public let gamma: Double

    public init(_ optimizer: any Optimizer, stepSize: Int, gamma: Double = 0.1) {
        precondition(stepSize > 0, "StepLR: stepSize \(stepSize) ≤ 0")
        self.stepSize = stepSize
        self.gamma = gamma
        super.init(attachingTo: optimizer)
    }

    override func learningRates() -> [Double] {
        let current = optimizer.learningRates
        if lastEpoch == 0 || lastEpoch % stepSize != 0 { return current }
        return current.map { $0 * gamma }
    }

    override func closedFormLearningRates() -> [Double]? {
        baseLearningRates.map { $0 * pow(gamma, Double(lastEpoch / stepSize)) }
    }
}

/// Multiplies the learning rates by `gamma` at each milestone epoch, as `MultiStepLR`:
/// `lrₜ = lrₜ₋₁ · γⁿ` where `n` is how often `t` appears in `milestones`.
public final class MultiStepLR: EpochScheduler {
    /// Sorted; a milestone listed twice decays twice.
    public let milestones: [Int]
    public let gamma: Double

    public init(_ optimizer: any Optimizer, milestones: [Int], gamma: Double = 0.1) {
        self.milestones = milestones.sorted()
        self.gamma = gamma
        super.init(attachingTo: optimizer)
    }

    override func learningRates() -> [Double] {
        let current = optimizer.learningRates
        let hits = milestones.count(where: { $0 == lastEpoch })
        if hits == 0 { return current }
        return current.map { $0 * pow(gamma, Double(hits)) }
    }

    override func closedFormLearningRates() -> [Double]? {
        let passed = milestones.count(where: { $0 <= lastEpoch })
        return baseLearningRates.map { $0 * pow(gamma, Double(passed)) }
    }
}

// MARK: - Linear and cosine

/// Scales the learning rates by a factor going linearly from `startFactor` to `endFactor`
/// over `totalIterations` epochs, as `LinearLR` (the usual warm-up):
/// `lr₀ = lr · s`, then `lrₜ = lrₜ₋₁ · (1 + (e − s) / (n·s + (t − 1)(e − s)))` for `t ≤ n`.
public final class LinearLR: EpochScheduler {
    public let startFactor: Double
    public let endFactor: Double
    public let totalIterations: Int

    public init(_ optimizer: any Optimizer, startFactor: Double = 1.0 / 3, endFactor: Double = 1,
                totalIterations: Int = 5) {
        precondition(startFactor > 0 && startFactor <= 1, "LinearLR: startFactor \(startFactor) not in (0, 1]")
        precondition(endFactor >= 0 && endFactor <= 1, "LinearLR: endFactor \(endFactor) not in [0, 1]")
        self.startFactor = startFactor
        self.endFactor = endFactor
        self.totalIterations = totalIterations
        super.init(attachingTo: optimizer)
    }

    override func learningRates() -> [Double] {
        let current = optimizer.learningRates
        if lastEpoch == 0 { return current.map { $0 * startFactor } }
        if isInitial || lastEpoch > totalIterations { return current }
        let change = endFactor - startFactor
        let factor = 1.0 + change / (Double(totalIterations) * startFactor + Double(lastEpoch - 1) * change)
        return current.map { $0 * factor }
    }

    override func closedFormLearningRates() -> [Double]? {
        baseLearningRates.map {
            $0 * (startFactor + (endFactor - startFactor) * Double(min(totalIterations, lastEpoch))
                / Double(totalIterations))
        }
    }
}

/// Cosine annealing from each base rate to `etaMin` over `tMax` epochs, as
/// `CosineAnnealingLR`, stepped recursively as PyTorch does:
///
///     lrₜ = η + (lrₜ₋₁ − η) · (1 + cos(πt/T)) / (1 + cos(π(t − 1)/T))
///
/// which follows `η + (base − η)(1 + cos(πt/T))/2` up to rounding; past `T` the rate
/// climbs back as the cosine does (at `t − 1 − T ≡ 0 mod 2T` by
/// `lrₜ₋₁ + (base − η)(1 − cos(π/T))/2`).
public final class CosineAnnealingLR: EpochScheduler {
    public let tMax: Int
    public let etaMin: Double

    public init(_ optimizer: any Optimizer, tMax: Int, etaMin: Double = 0) {
        precondition(tMax > 0, "CosineAnnealingLR: tMax \(tMax) ≤ 0")
        self.tMax = tMax
        self.etaMin = etaMin
        super.init(attachingTo: optimizer)
    }

    override func learningRates() -> [Double] {
        let current = optimizer.learningRates
        if isInitial { return current }
        let T = Double(tMax)
        if (lastEpoch - 1 - tMax) % (2 * tMax) == 0 {
            return zip(current, baseLearningRates).map { lr, base in
                lr + (base - etaMin) * (1 - cos(Double.pi / T)) / 2
            }
        }
        let t = Double(lastEpoch)
        let ratio = (1 + cos(Double.pi * t / T)) / (1 + cos(Double.pi * (t - 1) / T))
        return current.map { ratio * ($0 - etaMin) + etaMin }
    }

    override func closedFormLearningRates() -> [Double]? {
        baseLearningRates.map { etaMin + ($0 - etaMin) * (1 + cos(Double.pi * Double(lastEpoch) / Double(tMax))) / 2 }
    }
}

// MARK: - Sequences

/// Runs `schedulers` one after another, switching at each of `milestones`, as `SequentialLR`.
/// At a milestone the next schedule restarts from epoch 0 by its closed form.
///
/// Linear warm-up for `w` epochs, then cosine annealing to epoch `T`:
/// ```swift
/// let schedule = SequentialLR(optimizer, schedulers: [
///     LinearLR(optimizer, startFactor: 0.01, totalIterations: w),
///     CosineAnnealingLR(optimizer, tMax: T - w, etaMin: 1e-6),
/// ], milestones: [w])
/// ```
/// (``warmupCosine(_:warmupEpochs:totalEpochs:startFactor:etaMin:)`` makes exactly this.)
public final class SequentialLR: EpochScheduler {
    public let schedulers: [EpochScheduler]
    public let milestones: [Int]

    public init(_ optimizer: any Optimizer, schedulers: [EpochScheduler], milestones: [Int]) {
        precondition(!schedulers.isEmpty, "SequentialLR: no schedulers")
        precondition(milestones.count == schedulers.count - 1,
                     "SequentialLR: \(schedulers.count) schedulers need \(schedulers.count - 1) milestones")
        precondition(schedulers.allSatisfy { $0.optimizer === optimizer },
                     "SequentialLR: every scheduler must belong to the same optimizer")
        precondition(!schedulers.contains { $0 is SequentialLR }, "SequentialLR: schedulers cannot be nested")
        self.schedulers = schedulers
        self.milestones = milestones
        super.init(optimizer: optimizer, lastEpoch: 0,
                   baseLearningRates: optimizer.parameterGroups.map { $0.initialLearningRate ?? $0.learningRate })
        // Undo the initial steps the schedules took when made, then take the first one's again.
        optimizer.learningRates = baseLearningRates
        for scheduler in schedulers { scheduler.lastEpoch -= 1 }
        let first = schedulers[bisectRight(milestones, 0)]
        first.initialStep()
        lastLearningRates = first.lastLearningRates
    }

    public override func step() {
        lastEpoch += 1
        let index = bisectRight(milestones, lastEpoch)
        let scheduler = schedulers[index]
        if index > 0 && milestones[index - 1] == lastEpoch {
            scheduler.update(epoch: 0)
        } else {
            scheduler.step()
        }
        lastLearningRates = scheduler.lastLearningRates
    }

    public override func state() -> SchedulerState {
        var state = super.state()
        state.schedulers = schedulers.map { $0.state() }
        return state
    }

    public override func load(_ state: SchedulerState) throws {
        try check(state)
        guard let children = state.schedulers, children.count == schedulers.count else {
            throw SchedulerStateError.missing("the states of \(schedulers.count) schedulers")
        }
        for (child, scheduler) in zip(children, schedulers) { try scheduler.check(child) }
        try super.load(state)
        for (child, scheduler) in zip(children, schedulers) { try scheduler.load(child) }
    }
}

extension SequentialLR {
    /// Linear warm-up from `startFactor` × each group's rate over `warmupEpochs`, then cosine
    /// annealing to `etaMin` at `totalEpochs`: PyTorch's
    /// `SequentialLR([LinearLR(start_factor, total_iters=w), CosineAnnealingLR(T_max=T − w, eta_min)], milestones=[w])`.
    public static func warmupCosine(_ optimizer: any Optimizer, warmupEpochs: Int, totalEpochs: Int,
                                    startFactor: Double = 0.01, etaMin: Double = 0) -> SequentialLR {
        precondition(warmupEpochs > 0 && warmupEpochs < totalEpochs,
                     "warmupCosine: need 0 < warmupEpochs (\(warmupEpochs)) < totalEpochs (\(totalEpochs))")
        return SequentialLR(optimizer, schedulers: [
            LinearLR(optimizer, startFactor: startFactor, totalIterations: warmupEpochs),
            CosineAnnealingLR(optimizer, tMax: totalEpochs - warmupEpochs, etaMin: etaMin),
        ], milestones: [warmupEpochs])
    }
}

/// Python's `bisect_right`: how many elements of sorted `values` are ≤ `x`.
func bisectRight(_ values: [Int], _ x: Int) -> Int {
    var low = 0, high = values.count
    while low < high {
        let mid = (low + high) / 2
        if x < values[mid] { high = mid } else { low = mid + 1 }
    }
    return low
}
