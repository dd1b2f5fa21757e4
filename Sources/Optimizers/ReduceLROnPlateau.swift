/// Cuts the learning rates when a metric stops improving, as `ReduceLROnPlateau`.
///
/// Each ``step(metric:)`` compares the metric `a` with the best so far `b`. It improves when
///
///     min, relative:  a < b · (1 − threshold)        max, relative:  a > b · (1 + threshold)
///     min, absolute:  a < b − threshold              max, absolute:  a > b + threshold
///
/// After more than `patience` steps in a row without improvement, every group's rate
/// becomes `max(lr · factor, minLearningRate)` — unless that changes it by no more than
/// `eps` — and the next `cooldown` steps count no bad epochs.
public final class ReduceLROnPlateau: LRScheduler {
    public enum Mode: String, Codable, Sendable {
        /// Lower is better (a loss).
        case min
        /// Higher is better (an accuracy).
        case max
    }
    public enum ThresholdMode: String, Codable, Sendable {
        case relative = "rel"
        case absolute = "abs"
    }

    public let optimizer: any Optimizer
    public let mode: Mode
    public let factor: Double
    public let patience: Int
    public let threshold: Double
    public let thresholdMode: ThresholdMode
    public let cooldown: Int
    /// The floor: one for all groups, or one per group.
    public let minLearningRates: [Double]
    /// The smallest change of a rate worth making.
    public let eps: Double

    public private(set) var lastEpoch = 0
    public private(set) var lastLearningRates: [Double]
    /// The best metric so far (±∞ before the first step).
    public private(set) var best: Double
    public private(set) var badEpochs = 0
    public private(set) var cooldownCounter = 0

    /// - Parameters:
    ///   - minLearningRates: a floor, one for all groups or one per group.
    public init(_ optimizer: any Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10,
                threshold: Double = 1e-4, thresholdMode: ThresholdMode = .relative, cooldown: Int = 0,
                minLearningRates: [Double] = [0], eps: Double = 1e-8) {
        let groups = optimizer.parameterGroups.count
        precondition(factor < 1, "ReduceLROnPlateau: factor \(factor) ≥ 1")
        precondition(minLearningRates.count == 1 || minLearningRates.count == groups,
                     "ReduceLROnPlateau: \(minLearningRates.count) minimum learning rates for \(groups) groups")
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minLearningRates = minLearningRates
        self.eps = eps
        lastLearningRates = optimizer.learningRates
        best = mode == .min ? .infinity : -.infinity
    }

    public var granularity: StepGranularity { .epoch }

    /// ``step(metric:)`` with the epoch's metric; without one, no step.
    public func advance(metric: Double?) {
        if let metric { step(metric: metric) }
    }

    /// Records this epoch's metric and cuts the rates after a plateau.
    public func step(metric: Double) {
        lastEpoch += 1
        if isBetter(metric) {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            badEpochs = 0
        }
        if badEpochs > patience {
            reduce()
            cooldownCounter = cooldown
            badEpochs = 0
        }
        lastLearningRates = optimizer.learningRates
    }

    private func isBetter(_ metric: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .relative): metric < best * (1.0 - threshold)
        case (.min, .absolute): metric < best - threshold
        case (.max, .relative): metric > best * (threshold + 1.0)
        case (.max, .absolute): metric > best + threshold
        }
    }

    private func reduce() {
        for (i, old) in optimizer.learningRates.enumerated() {
            let floor = minimum(group: i), scaled = old * factor
            let new = floor > scaled ? floor : scaled  // Python's max(scaled, floor)
            if old - new > eps { optimizer.parameterGroups[i].learningRate = new }
        }
    }

    /// The floor of group `i`.
    private func minimum(group i: Int) -> Double {
        if minLearningRates.count == 1 { return minLearningRates[0] }
        precondition(i < minLearningRates.count,
                     "ReduceLROnPlateau: no minimum learning rate for group \(i), added after the schedule was made")
        return minLearningRates[i]
    }

    public func state() -> SchedulerState {
        SchedulerState(kind: "ReduceLROnPlateau", lastEpoch: lastEpoch, lastLearningRates: lastLearningRates,
                       plateau: PlateauState(best: best, badEpochs: badEpochs, cooldownCounter: cooldownCounter))
    }

    public func load(_ state: SchedulerState) throws {
        guard state.kind == "ReduceLROnPlateau" else {
            throw SchedulerStateError.wrongScheduler(expected: "ReduceLROnPlateau", found: state.kind)
        }
        guard state.lastLearningRates.count == optimizer.parameterGroups.count else {
            throw SchedulerStateError.groupCount(expected: optimizer.parameterGroups.count,
                                                 found: state.lastLearningRates.count)
        }
        guard let plateau = state.plateau else { throw SchedulerStateError.missing("plateau") }
        lastEpoch = state.lastEpoch
        lastLearningRates = state.lastLearningRates
        best = plateau.best
        badEpochs = plateau.badEpochs
        cooldownCounter = plateau.cooldownCounter
    }
}

/// ``ReduceLROnPlateau``'s counters. `best` is written as a JSON number, or as the string
/// `"inf"` / `"-inf"` / `"nan"` when not finite (as before the first step).
public struct PlateauState: Codable, Sendable, Equatable {
    public var best: Double
    public var badEpochs: Int
    public var cooldownCounter: Int

    public init(best: Double, badEpochs: Int, cooldownCounter: Int) {
        self.best = best
        self.badEpochs = badEpochs
        self.cooldownCounter = cooldownCounter
    }

    enum CodingKeys: String, CodingKey { case best, badEpochs, cooldownCounter }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let number = try? c.decode(Double.self, forKey: .best) {
            best = number
        } else {
            let text = try c.decode(String.self, forKey: .best)
            guard let value = Double(text) else {
                throw DecodingError.dataCorruptedError(forKey: .best, in: c, debugDescription: "not a number: \(text)")
            }
            best = value
        }
        badEpochs = try c.decode(Int.self, forKey: .badEpochs)
        cooldownCounter = try c.decode(Int.self, forKey: .cooldownCounter)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if best.isFinite { try c.encode(best, forKey: .best) } else { try c.encode("\(best)", forKey: .best) }
        try c.encode(badEpochs, forKey: .badEpochs)
        try c.encode(cooldownCounter, forKey: .cooldownCounter)
    }

    public static func == (a: PlateauState, b: PlateauState) -> Bool {
        (a.best == b.best || (a.best.isNaN && b.best.isNaN)) && a.badEpochs == b.badEpochs
            && a.cooldownCounter == b.cooldownCounter
    }
}
