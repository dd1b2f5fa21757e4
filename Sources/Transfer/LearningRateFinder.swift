import Foundation
import ImageData
import NN
import Optimizers
import Torch

/// fastai's learning-rate finder (`Learner.lr_find`): a mock training whose learning rate
/// grows exponentially batch after batch, from `start` to `end` over `iterations` batches,
/// recording the smoothed loss, stopped early once the smoothed loss passes 4× its best
/// (`stop_div`), then the weights put back. The suggestion is fastai's `valley`.
public struct LearningRateSweep: Codable, Sendable, Equatable {
    public var start = 1e-7
    public var end = 10.0
    /// Batches of the sweep (fastai's `num_it`; at least 6).
    public var iterations = 100
    public var stopOnDivergence = true

    public init(start: Double = 1e-7, end: Double = 10, iterations: Int = 100, stopOnDivergence: Bool = true) {
        (self.start, self.end, self.iterations, self.stopOnDivergence) = (start, end, max(6, iterations), stopOnDivergence)
    }

    /// The rate of batch `t` (0-based): `start · (end/start)^(t/iterations)` (fastai's `SchedExp`).
    public func learningRate(at t: Int) -> Double { start * pow(end / start, Double(t) / Double(iterations)) }

    /// Why this sweep can't run, or nil.
    public var problem: String? {
        guard start.isFinite, end.isFinite, start > 0, end > start else {
            return "the sweep needs 0 < start < end, got \(start) and \(end)"
        }
        return nil
    }
}

/// The record of a sweep and fastai's reading of it.
public struct LearningRateFinding: Codable, Sendable, Equatable {
    public var sweep: LearningRateSweep
    /// Per batch: its learning rate, its loss, and the smoothed loss after it (what fastai plots).
    public var learningRates: [Double] = []
    public var losses: [Double] = []
    public var smoothedLosses: [Double] = []
    /// Whether the sweep stopped because the loss diverged (before `iterations` batches).
    public var diverged = false
    /// fastai's `valley` suggestion and its index in the arrays; nil when too few batches ran.
    public var suggestion: Double?
    public var suggestionIndex: Int?
    public var seconds = 0.0

    public init(sweep: LearningRateSweep) { self.sweep = sweep }

    /// fastai's Recorder smoothing: an exponential moving average of the batch losses with
    /// β 0.98 (`torch.lerp(loss, avg, β)`), debiased by 1 − β^count.
    static let beta = 0.98

    /// Adds batch `losses.count`'s loss; returns false once the sweep is to stop (its last
    /// batch, or the smoothed loss above 4× the best so far).
    public mutating func record(loss: Double) -> Bool {
        let t = losses.count
        learningRates.append(sweep.learningRate(at: t))
        losses.append(loss)
        average = Self.beta * average + (1 - Self.beta) * loss
        let smoothed = average / (1 - pow(Self.beta, Double(t + 1)))
        smoothedLosses.append(smoothed)
        if smoothed < best { best = smoothed }
        // As fastai: a NaN smoothed loss compares false and never stops the sweep on its own.
        if sweep.stopOnDivergence && smoothed > 4 * best {
            diverged = true
            return false
        }
        return t + 1 < sweep.iterations
    }

    private var average = 0.0
    private var best = Double.infinity

    /// fastai's `lr_find` suggestion: the first tenth and the last 5 batches are dropped, then
    /// everything from the first NaN loss, and `valley` reads the rest.
    public mutating func suggest() {
        let lower = sweep.iterations / 10, upper = smoothedLosses.count - 5
        guard upper > lower else { (suggestion, suggestionIndex) = (nil, nil); return }
        var window = Array(smoothedLosses[lower..<upper])
        if let nan = window.firstIndex(where: \.isNaN) { window = Array(window[..<nan]) }
        guard let index = Self.valley(window) else { (suggestion, suggestionIndex) = (nil, nil); return }
        suggestionIndex = lower + index
        suggestion = learningRates[lower + index]
    }

    /// fastai's `valley`: the longest decreasing run of losses (by longest decreasing
    /// subsequence lengths), and the point 1/3 + 1/6 of the way along it. nil for no losses.
    static func valley(_ losses: [Double]) -> Int? {
        let n = losses.count
        guard n > 0 else { return nil }
        var lengths = Array(repeating: 1, count: n)
        var maxStart = 0, maxEnd = 0
        for i in 1..<max(n, 1) {
            for j in 0..<i {
                if losses[i] < losses[j] && lengths[i] < lengths[j] + 1 { lengths[i] = lengths[j] + 1 }
                if lengths[maxEnd] < lengths[i] {
                    maxEnd = i
                    maxStart = maxEnd - lengths[maxEnd]
                }
            }
        }
        let sections = Double(maxEnd - maxStart) / 3
        return maxStart + Int(sections) + Int(sections / 2)
    }
}

extension Trainer {
    /// Runs fastai's learning-rate finder on `phase`'s set-up (its freeze, optimizer and
    /// batches: cached features when the phase caches them) and puts the model back as it
    /// was. Every group's rate is the sweep's times its ratio to the head's, so the recipe's
    /// trunk factor or layer decay holds through the sweep.
    public func findLearningRate(phase: Phase, sweep: LearningRateSweep = .init()) throws -> LearningRateFinding {
        if let problem = sweep.problem { throw TrainingError.unsupported("the learning-rate finder: \(problem)") }
        try checkLayerDecay()
        model.to(device)
        if recipe.channelsLast && device == .cpu { model.to(memoryFormat: .channelsLast) }
        try applyFreeze(for: phase)
        try checkMemory()
        let cache = try featureCacheIfUseful()
        let optimizer = makeOptimizer(phase: phase)
        return try sweepLearningRate(phase: phase, sweep: sweep, optimizer: optimizer, cache: cache)
    }

    /// The sweep itself on a made optimizer; the weights, buffers and training mode are
    /// restored after it, and the optimizer's rates set back to the recipe's.
    func sweepLearningRate(phase: Phase, sweep: LearningRateSweep, optimizer: any Optimizer,
                           cache: Tensor?) throws -> LearningRateFinding {
        let started = Date()
        let saved = Torch.noGrad { model.stateDict().map { (key: $0.key, tensor: $0.tensor.clone()) } }
        let wasTraining = model.isTraining
        let baseRates = optimizer.learningRates
        let headRate = recipe.learningRate
        defer {
            Torch.noGrad {
                let current = Dictionary(model.stateDict().map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
                for (key, tensor) in saved { current[key]?.copy_(tensor) }
            }
            optimizer.zeroGrad()
            optimizer.learningRates = baseRates
            model.train(wasTraining)
        }
        let weights = try classWeights()
        var finding = LearningRateFinding(sweep: sweep)
        let train = phase == .fineTune ? (fineTuneTrain ?? self.train) : self.train
        model.train()
        try Torch.withManualSeed(mixSeed(recipe.seed, 0x1F1D, phase == .head ? 0 : 1)) {
            var epoch = 0
            // One loss scale for the whole sweep (float16 only), as the run's own.
            let sweepScaler = precision.precision.needsLossScaling ? GradScaler(device: device) : nil
            sweepLoop: while true {
                var ranAny = false
                let stop = try eachTrainingBatch(train, epoch: epoch, cache: cache) { images, labels, ids, isFeatures in
                    ranAny = true
                    let lr = sweep.learningRate(at: finding.losses.count)
                    optimizer.learningRates = baseRates.map { lr * $0 / headRate }
                    let value = try guarded("the learning-rate sweep", epoch: epoch, batch: finding.losses.count,
                                            modelKept: false) { () -> Double in
                        optimizer.zeroGrad()
                        let (logits, auxiliary) = isFeatures ? (model.head(images), [])
                            : autocast { model.trainingLogits(images) }
                        let targets = multiLabel ? multiHot(ids, of: train) : nil
                        func criterion(_ logits: Tensor) -> Tensor {
                            if let targets { return Functional.binaryCrossEntropyWithLogits(logits, targets) }
                            return Functional.crossEntropy(logits, labels, weight: weights, labelSmoothing: recipe.labelSmoothing)
                        }
                        var loss = criterion(logits)
                        for aux in auxiliary {
                            loss = loss + criterion(aux.logits) * aux.lossWeight
                        }
                        let value = loss.double
                        if value.isFinite {
                            (sweepScaler?.scale(loss) ?? loss).backward()
                            _ = try stepOptimizer(optimizer, scaler: sweepScaler, clip: nil)
                        }
                        return value
                    }
                    if cancellation.isSet { throw CancellationError() }
                    // A non-finite loss ends the sweep (fastai's would go on to num_it with NaN weights).
                    guard value.isFinite else {
                        _ = finding.record(loss: value)
                        finding.diverged = true
                        return true
                    }
                    return !finding.record(loss: value)
                }
                if stop || !ranAny { break sweepLoop }
                epoch += 1
            }
        }
        finding.suggest()
        finding.seconds = Date().timeIntervalSince(started)
        return finding
    }

    /// Runs `body` on each training batch of `epoch` (cached features when `cache` is given,
    /// else images), on the device; `body` returns true to stop. Returns whether it stopped.
    func eachTrainingBatch(_ train: any BatchProvider, epoch: Int, cache: Tensor?,
                           _ body: (_ inputs: Tensor, _ labels: Tensor, _ ids: [Int], _ isFeatures: Bool) throws -> Bool)
        throws -> Bool
    {
        if let cache {
            // Samples the cache pass could not read leave their batch, as the loader leaves
            // them out of theirs on the uncached path: the same batches.
            let labels = train.sampleLabels
            let order = train.indices(epoch: epoch)
            for start in stride(from: 0, to: order.count, by: train.batchSize) {
                let ids = order[start..<min(start + train.batchSize, order.count)].filter { cachedTrainRows.contains($0) }
                if ids.isEmpty { continue }
                let features = cache.indexSelect(dim: 0, index: Tensor(ids.map(Int64.init))).to(device)
                if try body(features, Tensor(ids.map { Int64(labels[$0]) }).to(device), Array(ids), true) { return true }
            }
            return false
        }
        var stopped = false
        struct Stop: Error {}
        do {
            try train.forEachBatch(epoch: epoch) { batch in
                if try body(batch.images.to(device), batch.labels.to(device), batch.indices, false) {
                    stopped = true
                    throw Stop()
                }
            }
        } catch is Stop {}
        return stopped
    }
}
