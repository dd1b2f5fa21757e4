import Foundation
import ImageData
import NN
import Optimizers
import Torch
import Transferability
import Vision

/// Where the trainer gets batches (a ``DataLoader`` is one). The order of an epoch
/// is a pure function of the epoch, so runs and resumes repeat and the feature cache
/// can walk the same order.
public protocol BatchProvider {
    var batchSize: Int { get }
    var dropLast: Bool { get }
    /// Dataset indices in the order epoch `epoch` visits them (already cut for `dropLast`).
    func indices(epoch: Int) -> [Int]
    /// Runs `body` on each batch of `epoch`, in `indices(epoch:)` order; `body` may throw to stop.
    func forEachBatch(epoch: Int, _ body: (Batch) throws -> Void) throws
    /// Every sample's label, without decoding.
    var sampleLabels: [Int] { get }
    /// Every sample's classes for a multi-label dataset (``ImageData/Dataset/labelSets``), else nil.
    var labelSets: [[Int]]? { get }
}

extension BatchProvider {
    public var labelSets: [[Int]]? { nil }
}

extension DataLoader: BatchProvider {
    public var sampleLabels: [Int] { dataset.labels }
    public var labelSets: [[Int]]? { dataset.labelSets }
}

/// Batches from tensors in memory, ordered like ``DataLoader``: in dataset order, or
/// shuffled by a `randperm` seeded by (seed, epoch).
public struct TensorBatches: BatchProvider {
    /// N×C×H×W.
    public let images: Tensor
    public let labels: [Int]
    public let batchSize: Int
    public var shuffle: Bool
    public var seed: UInt64
    public var dropLast: Bool { false }
    public var sampleLabels: [Int] { labels }
    public var labelSets: [[Int]]?

    public init(images: Tensor, labels: [Int], batchSize: Int, shuffle: Bool = false, seed: UInt64 = 0,
                labelSets: [[Int]]? = nil) {
        precondition(images.size(0) == labels.count, "TensorBatches: \(images.size(0)) images, \(labels.count) labels")
        (self.images, self.labels, self.batchSize, self.shuffle, self.seed) = (images, labels, batchSize, shuffle, seed)
        self.labelSets = labelSets
    }

    public func indices(epoch: Int) -> [Int] {
        shuffle ? Tensor.randperm(labels.count, generator: Generator(seed: mixSeed(seed, UInt64(epoch)))).toArray(Int.self)
                : Array(labels.indices)
    }

    public func forEachBatch(epoch: Int, _ body: (Batch) throws -> Void) throws {
        let order = indices(epoch: epoch)
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let ids = Array(order[start..<min(start + batchSize, order.count)])
            let index = Tensor(ids.map(Int64.init))
            try body(Batch(images: images.indexSelect(dim: 0, index: index),
                           labels: Tensor(ids.map { Int64(labels[$0]) }), indices: ids))
        }
    }
}

/// The phase of a run.
public enum Phase: String, Codable, Sendable {
    /// First phase: the recipe's freeze spec (head only, for `backbone`).
    case head
    /// Second phase: everything unfrozen, smaller trunk learning rate.
    case fineTune = "fine-tune"
}

/// One row of the training history (and of metrics.csv).
public struct EpochRecord: Codable, Sendable, Equatable {
    /// 0-based in the library (as loops count); every file and message a user reads
    /// (model card, metrics.csv, report, CLI) shows it 1-based.
    public var epoch: Int
    public var phase: Phase
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var valLoss: Double?
    public var valAccuracy: Double?
    public var valTop5: Double?
    /// Validation mean average precision (multi-label runs; their `valAccuracy` is the share
    /// of per-class decisions right at 0.5, fastai's `accuracy_multi`).
    public var valMAP: Double? = nil
    public var learningRate: Double
    public var seconds: Double
    public var cached: Bool
    public var isBest = false
    /// The L2 strength the converged head fit chose (its epoch only).
    public var l2: Double? = nil
}

/// What a run reports as it goes; callbacks may throw (e.g. `CancellationError`) to stop it.
public enum TrainingEvent {
    case phaseStarted(Phase, trainableParameters: Int, cachedFeatures: Bool)
    case featuresCached(samples: Int, seconds: Double)
    /// The learning-rate finder ran for the phase (``Recipe/learningRateSweep``); its suggestion is the phase's rate.
    case learningRateFound(Phase, LearningRateFinding)
    /// The loss's class weights (`classWeights` auto), in class order.
    case classWeights([Double])
    case epochStarted(epoch: Int, of: Int, batches: Int)
    case batchFinished(epoch: Int, batch: Int, of: Int, loss: Double, accuracy: Double, imagesPerSecond: Double)
    case epochFinished(EpochRecord)
    case checkpointSaved(URL)
}

/// Why a run stopped before its last epoch.
public enum TrainingError: Error, CustomStringConvertible {
    /// `epoch` and `batch` are 0-based; the message shows them 1-based. `modelKept`: a best
    /// model from an earlier epoch is in the run folder.
    case nonFiniteLoss(epoch: Int, batch: Int, value: Double, modelKept: Bool)
    /// Validation gave a non-finite loss, or the weights after an epoch hold non-finite values.
    case nonFiniteModel(epoch: Int, what: String, modelKept: Bool)
    case noTrainableParameters
    /// A classifier needs two classes at least.
    case tooFewClasses([String])
    case emptyData(String)
    /// The recipe asks for something this run can't do (a converged head without cached features).
    case unsupported(String)
    /// Layer-wise learning-rate decay asked of a family without a layer grouping.
    case noLayerGroups(String)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let epoch, let batch, let value, let kept):
            "the loss became \(value) at epoch \(epoch + 1), batch \(batch + 1); training stopped"
                + (kept ? " and the best model so far was kept" : " before any model was saved")
                + ". Lower the learning rate or check the data"
        case .nonFiniteModel(let epoch, let what, let kept):
            "\(what) after epoch \(epoch + 1); training stopped"
                + (kept ? " and the best model so far was kept" : " before any model was saved")
                + ". Lower the learning rate or check the data"
        case .noTrainableParameters: "nothing to train: every parameter is frozen"
        case .tooFewClasses(let classes):
            "a classifier needs at least two classes; the training set has \(classes.count)"
                + (classes.isEmpty ? "" : " (\(classes.joined(separator: ", ")))") + ": add a folder per class"
        case .emptyData(let what): "\(what) has no samples"
        case .unsupported(let why): why
        case .noLayerGroups(let model):
            "layer-wise learning-rate decay needs the model's layers grouped, and \(model) has no grouping "
                + "(ConvNeXt, ViT and Swin have)"
        }
    }
}

/// What a finished run produced.
public struct TrainingResult: Sendable {
    public var modelPath: URL?
    public var bestEpoch: Int?
    public var bestValAccuracy: Double?
    public var bestValLoss: Double?
    public var epochsRun: Int
    public var seconds: Double
    public var history: [EpochRecord]
    public var stoppedEarly: Bool
}

/// Fine-tunes an ``ImageClassifier``: phases, epochs, validation, the best model,
/// early stopping, the feature cache, and checkpoints to resume from exactly.
///
/// ```swift
/// let trainer = Trainer(recipe: recipe, model: model, classes: classes, train: trainLoader,
///                       validation: valLoader, cacheSource: cacheLoader, runDirectory: run)
/// trainer.onEvent = { event in print(event) }
/// let result = try trainer.fit()
/// ```
///
/// Determinism: each epoch runs with libtorch's default generator seeded from (seed, epoch)
/// and restored after it (``Torch/withManualSeed(_:_:)``), and the
/// loaders derive their order and per-sample randomness from (seed, epoch, index), so an
/// interrupted run resumed from its last checkpoint ends with the same weights as an
/// uninterrupted one.
public final class Trainer {
    public let recipe: Recipe
    public let model: ImageClassifier
    public let classes: [String]
    public let train: any BatchProvider
    /// Batches for the fine-tuning phase when they differ (other augmentation); nil: `train`.
    public var fineTuneTrain: (any BatchProvider)?
    public let validation: (any BatchProvider)?
    /// Unshuffled batches of the training set with a deterministic transform, used to
    /// compute cached features when the trunk is frozen; nil disables the cache.
    public let cacheSource: (any BatchProvider)?
    public let runDirectory: URL?
    public let device: Device
    /// The side of the images the loaders give, in pixels: with it, each phase first checks
    /// that its batches fit in memory (``MemoryEstimate``); nil skips the check.
    public var inputSize: Int?
    /// Extra card fields for the saved model (source weights, preprocessing).
    public var card: ModelCard
    /// Reports events as they happen (progress bars, logs); may throw to stop the run.
    public var onEvent: ((TrainingEvent) throws -> Void)?
    /// Run after each epoch, in order, once its record is in ``history`` and before its
    /// checkpoint is written. By default: keep the best model (``KeepBestModel``) and,
    /// with a patience in the recipe, ``EarlyStopping``.
    public var callbacks: [any TrainingCallback]
    /// Set from another thread (a signal handler) to stop after the current batch.
    public var externalCancellation = CancellationFlag()
    var cancellation: CancellationFlag { externalCancellation }
    /// The epochs run so far; callbacks may mark a record ``EpochRecord/isBest``.
    public internal(set) var history: [EpochRecord] = []

    public init(recipe: Recipe, model: ImageClassifier, classes: [String], train: any BatchProvider,
                validation: (any BatchProvider)?, cacheSource: (any BatchProvider)? = nil, runDirectory: URL?,
                card: ModelCard, device: Device = .cpu) {
        self.recipe = recipe
        self.model = model
        self.classes = classes
        self.train = train
        self.validation = validation
        self.cacheSource = cacheSource
        self.runDirectory = runDirectory
        self.card = card
        self.device = device
        callbacks = [KeepBestModel(metric: recipe.bestMetric)]
        if let patience = recipe.earlyStoppingPatience { callbacks.append(EarlyStopping(patience: patience)) }
    }

    /// The arithmetic of the trunk's forward passes (training, validation, feature caching):
    /// fp32, or autocast to bf16/fp16 (``Torch/autocast(_:dtype:enabled:cacheEnabled:_:)``) with
    /// fp32 weights, optimizer state, losses, cached features and metrics. A trainer made
    /// directly runs in fp32; a ``TrainingSession`` sets the recipe's precision, resolved.
    public var precision = ResolvedPrecision(precision: .fp32, reason: "the trainer's default")
    /// float16's dynamic loss scale (``GradScaler``), made when the precision needs one.
    public internal(set) var gradScaler: GradScaler?

    /// The trunk's forward pass in the run's precision; the outputs come back in fp32.
    func autocast(_ forward: () -> (Tensor, [(logits: Tensor, lossWeight: Double)]))
        -> (Tensor, [(logits: Tensor, lossWeight: Double)])
    {
        guard precision.precision != .fp32 else { return forward() }
        let (logits, auxiliary) = Torch.withPrecision(precision.precision, on: device) { forward() }
        return (logits.to(.float32), auxiliary.map { (logits: $0.logits.to(.float32), lossWeight: $0.lossWeight) })
    }

    public var modelURL: URL? { runDirectory?.appendingPathComponent("model.safetensors") }
    public var checkpointURL: URL? { runDirectory?.appendingPathComponent("checkpoint.safetensors") }

    // MARK: Run

    /// Trains for the recipe's epochs, from the run folder's checkpoint when `resume` is set.
    public func fit(resume: Bool = false) throws -> TrainingResult {
        let start = Date()
        var startEpoch = 0
        var restored: TrainingCheckpoint?
        var previousSeconds = 0.0
        if resume, let url = checkpointURL, FileManager.default.fileExists(atPath: url.path) {
            let checkpoint = try TrainingCheckpoint.read(url)
            guard recipe.canContinue(from: checkpoint.recipe) else {
                throw CheckpointMismatch.recipe(url.path, differences: recipe.differences(from: checkpoint.recipe))
            }
            previousSeconds = checkpoint.history.map(\.seconds).reduce(0, +)
            try model.load(stateDict: try Self.wholeModel(checkpoint, model: model, path: url.path), strict: true,
                           source: url.path)
            history = checkpoint.history
            startEpoch = checkpoint.epochsDone
            restored = checkpoint
        }
        model.to(device)
        if recipe.channelsLast && device == .cpu { model.to(memoryFormat: .channelsLast) }
        let weights = try classWeights()
        try checkLayerDecay()
        if let problem = recipe.multiLabelProblem { throw TrainingError.unsupported("multi-label: \(problem)") }
        if multiLabel && train.labelSets == nil {
            throw TrainingError.unsupported("multi-label training needs a multi-label list (a CSV whose label field holds "
                                            + "several classes)")
        }
        stopRequested = false
        ema = nil
        gradScaler = nil
        if precision.precision.needsLossScaling {
            let scaler = GradScaler(device: device)
            if let saved = restored?.lossScale { scaler.load(scale: saved.scale, growthTracker: saved.growthTracker) }
            gradScaler = scaler
        }
        if let decay = recipe.ema {
            let average = ModelEMA(model: model, decay: decay, warmup: recipe.emaWarmup ?? false)
            if let restored, let entries = restored.ema, let updates = restored.emaUpdates {
                average.load(entries.map { (key: $0.key, tensor: $0.tensor.to(device)) }, updates: updates, model: model)
            }
            ema = average
        }
        let phases: [(Phase, Range<Int>)] = [(.head, 0..<recipe.epochs),
                                             (.fineTune, recipe.epochs..<recipe.totalEpochs)]
        phaseLoop: for (phase, epochs) in phases where !epochs.isEmpty && startEpoch < epochs.upperBound {
            try applyFreeze(for: phase)
            ema?.track(model)
            let optimizer = makeOptimizer(phase: phase)
            try checkMemory()
            let cache = try featureCacheIfUseful()
            try onEvent?(.phaseStarted(phase, trainableParameters: model.parameterCount(trainableOnly: true),
                                   cachedFeatures: cache != nil))
            let converged = phase == .head && recipe.resolvedHeadFit == .converged
            let resumesInPhase = restored.map { $0.phase == phase && $0.epochsDone > epochs.lowerBound } ?? false
            if let sweep = recipe.learningRateSweep, !converged, !resumesInPhase {
                // The phase's rates from fastai's finder, before any schedule takes them as its
                // base; a run resumed inside the phase has them in its optimizer state.
                let finding = try sweepLearningRate(phase: phase, sweep: sweep, optimizer: optimizer, cache: cache)
                guard let found = finding.suggestion else {
                    throw TrainingError.unsupported("the learning-rate finder stopped after \(finding.losses.count) batches, "
                                                    + "too few to suggest a rate: give the rate (--lr) or more data")
                }
                optimizer.learningRates = optimizer.learningRates.map { found * $0 / recipe.learningRate }
                learningRateFindings[phase] = finding
                try onEvent?(.learningRateFound(phase, finding))
            }
            let scheduler = makeScheduler(optimizer, epochs: epochs.count, stepsPerEpoch: stepsPerEpoch())
            if let restored, resumesInPhase {
                try optimizer.load(restored.optimizer)
                if let state = restored.scheduler { try scheduler?.load(state) }
            }
            if converged {
                if let problem = recipe.convergedHeadProblem { throw TrainingError.unsupported(problem) }
                guard cache != nil else {
                    throw TrainingError.unsupported("the converged head fit needs the training features cached, and "
                                                    + "this run has no deterministic pass to cache them with")
                }
            }
            for epoch in max(startEpoch, epochs.lowerBound)..<epochs.upperBound {
                if phase == .fineTune, let every = recipe.unfreezeEvery, every > 0 {
                    try thawGradually(epochInPhase: epoch - epochs.lowerBound, every: every)
                }
                let record = try Torch.withManualSeed(mixSeed(recipe.seed, 0x5EED, UInt64(epoch))) {
                    if converged, let cache { return try convergedHeadEpoch(epoch, cache: cache) }
                    return try runEpoch(epoch, phase: phase, optimizer: optimizer, scheduler: scheduler, cache: cache,
                                        weights: weights)
                }
                history.append(record)
                for callback in callbacks { try callback.epochFinished(self) }
                try saveCheckpoint(epochsDone: epoch + 1, phase: phase, optimizer: optimizer, scheduler: scheduler)
                try onEvent?(.epochFinished(history[history.count - 1]))
                if stopRequested { break phaseLoop }
            }
        }
        let best = bestRecord()
        calibration = nil
        if recipe.calibrate == true, let logits = bestValidationLogits, !logits.labels.isEmpty {
            calibration = Calibration.fit(logits: logits.logits, labels: logits.labels)
        }
        multiLabelThresholds = nil
        if multiLabel, let logits = bestValidationLogits, let validation, !logits.rows.isEmpty {
            let targets = multiHot(logits.rows, of: validation).to(.cpu)
            let c = classes.count
            let p = logits.logits.sigmoid().toArray(Double.self), t = targets.toArray(Double.self)
            let probabilities = logits.rows.indices.map { Array(p[($0 * c)..<($0 * c + c)]) }
            let truth = logits.rows.indices.map { i in (0..<c).map { t[i * c + $0] > 0.5 } }
            let thresholds = MultiLabelMetrics.bestThresholds(probabilities: probabilities, targets: truth, classes: c)
            multiLabelThresholds = thresholds
            bestMultiLabel = MultiLabelMetrics(classes: classes, probabilities: probabilities, targets: truth,
                                               thresholds: thresholds, loss: bestMultiLabel?.loss)
        }
        try finalizeModelFile(best: best)
        return TrainingResult(modelPath: modelURL, bestEpoch: best?.epoch, bestValAccuracy: best?.valAccuracy,
                              bestValLoss: best?.valLoss, epochsRun: history.count,
                              seconds: previousSeconds + Date().timeIntervalSince(start), history: history,
                              stoppedEarly: stopRequested)
    }

    /// The checkpoint's model tensors plus the frozen ones it left out, taken from `model`
    /// (built from the same source weights) once their digest matches.
    static func wholeModel(_ checkpoint: TrainingCheckpoint, model: Module, path: String) throws
        -> [(key: String, tensor: Tensor)]
    {
        guard let frozen = checkpoint.frozen else { return checkpoint.model }
        let current = Dictionary(model.stateDict().map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let missing = frozen.keys.filter { current[$0] == nil }
        guard missing.isEmpty else { throw CheckpointTrunkError.missingFrozen(path, keys: missing) }
        let tensors = frozen.keys.map { (key: $0, tensor: current[$0]!) }
        guard try TrainingCheckpoint.FrozenTensors.digest(of: tensors) == frozen.sha256 else {
            let source = frozen.sourceWeights.map { name in
                "it was trained on " + name + (frozen.sourceSHA256.map { " with SHA-256 \($0.prefix(12))…" } ?? "")
            }
            throw CheckpointTrunkError.trunkChanged(path, source: source)
        }
        return checkpoint.model + tensors
    }

    /// SHA-256 of the frozen parameters during the head phase (they don't change, so once).
    var frozenDigest: String?

    /// The learning-rate finder's sweeps, per phase, when the recipe asks for them.
    public internal(set) var learningRateFindings: [Phase: LearningRateFinding] = [:]

    /// Set by a callback (``EarlyStopping``) to end the run after the current epoch's checkpoint.
    public var stopRequested = false

    /// The weights' moving average when the recipe keeps one (``Recipe/ema``).
    public private(set) var ema: ModelEMA?

    // MARK: One epoch

    func runEpoch(_ epoch: Int, phase: Phase, optimizer: any Optimizer, scheduler: LRScheduler?, cache: Tensor?,
                  weights: Tensor?) throws -> EpochRecord {
        let started = Date()
        model.train()
        let learningRate = optimizer.parameterGroups.last?.learningRate ?? recipe.learningRate
        var lossSum = 0.0, correct = 0.0, seen = 0
        let train = phase == .fineTune ? (fineTuneTrain ?? self.train) : self.train
        let order = train.indices(epoch: epoch)
        let batches = (order.count + train.batchSize - 1) / train.batchSize
        try onEvent?(.epochStarted(epoch: epoch, of: recipe.totalEpochs, batches: batches))
        var batchIndex = 0
        let accumulate = max(1, recipe.accumulate ?? 1)
        var groupSamples = 0
        var groupOpen = false
        /// The optimizer step that closes a group of batches: the summed gradients divided by
        /// the group's samples (with accumulation), clipped, stepped, averaged into the EMA.
        func closeGroup(batch: Int, kept: Bool) throws {
            try guarded("the optimizer step", epoch: epoch, batch: batch, modelKept: kept) {
                if accumulate > 1 {
                    let scale = 1 / Double(groupSamples)
                    Torch.noGrad { for p in optimizer.parameterGroups.flatMap(\.parameters) { p.value.grad?.mul_(scale) } }
                }
                if try stepOptimizer(optimizer, scaler: gradScaler, clip: recipe.gradientClip) { ema?.update(model) }
            }
            groupOpen = false
            if let scheduler, scheduler.granularity == .batch { scheduler.advance(metric: nil) }
        }
        /// One batch; `forward` gives the logits (and auxiliary logits). Each stage runs
        /// guarded, so a libtorch failure (memory, most often) stops the run with a
        /// ``ComputationError`` before a half-done step can touch the weights. With
        /// accumulation, each batch's loss is weighted by its samples and the group's summed
        /// gradients are divided by theirs before the one step: the step of one big batch.
        func step(labels: Tensor, soft: Tensor? = nil,
                  forward: () -> (Tensor, [(logits: Tensor, lossWeight: Double)])) throws {
            let kept = bestRecord() != nil
            func criterion(_ logits: Tensor) -> Tensor {
                if multiLabel, let soft { return Functional.binaryCrossEntropyWithLogits(logits, soft) }
                guard let soft else {
                    return Functional.crossEntropy(logits, labels, weight: weights, labelSmoothing: recipe.labelSmoothing)
                }
                // F.cross_entropy with probability targets: smoothing mixes them with uniform.
                let e = recipe.labelSmoothing, c = Double(soft.size(1))
                let target = e > 0 ? soft * (1 - e) + e / c : soft
                return -(target * logits.logSoftmax(dim: 1)).sum(dim: 1).mean()
            }
            let (loss, value, batchCorrect) = try guarded("the forward pass", epoch: epoch, batch: batchIndex,
                                                          modelKept: kept) {
                let (logits, auxiliary) = forward()
                var loss = criterion(logits)
                for aux in auxiliary { loss = loss + criterion(aux.logits) * aux.lossWeight }
                let right = Torch.noGrad { () -> Double in
                    guard multiLabel, let soft else { return Double(logits.argmax(dim: 1).eq(labels).sum().int) }
                    // Per sample, the share of its classes decided right at 0.5 (fastai's accuracy_multi).
                    return logits.gt(0).eq(soft.gt(0.5)).to(.float64).mean(dim: 1).sum().double
                }
                return (loss, loss.double, right)
            }
            guard value.isFinite else {
                throw TrainingError.nonFiniteLoss(epoch: epoch, batch: batchIndex, value: value, modelKept: kept)
            }
            let n = labels.size(0)
            let groupStarts = batchIndex % accumulate == 0
            let groupEnds = (batchIndex + 1) % accumulate == 0 || batchIndex + 1 == batches
            groupSamples = (groupStarts ? 0 : groupSamples) + n
            try guarded("the backward pass", epoch: epoch, batch: batchIndex, modelKept: kept) {
                if groupStarts { optimizer.zeroGrad() }
                let summed = accumulate > 1 ? loss * Double(n) : loss
                (gradScaler?.scale(summed) ?? summed).backward()
            }
            groupOpen = true
            if groupEnds { try closeGroup(batch: batchIndex, kept: kept) }
            lossSum += value * Double(n)
            correct += batchCorrect
            seen += n
            batchIndex += 1
            let rate = Double(seen) / max(Date().timeIntervalSince(started), 1e-9)
            try onEvent?(.batchFinished(epoch: epoch, batch: batchIndex, of: batches, loss: value,
                                        accuracy: correct / Double(seen), imagesPerSecond: rate))
            if cancellation.isSet { throw CancellationError() }
        }
        if let cache {
            _ = try eachTrainingBatch(train, epoch: epoch, cache: cache) { features, labels, ids, _ in
                try step(labels: labels, soft: multiLabel ? multiHot(ids, of: train) : nil) { (model.head(features), []) }
                return false
            }
        } else {
            let mixes = [recipe.mixup.map { BatchMix.mixUp(alpha: $0) }, recipe.cutmix.map { BatchMix.cutMix(alpha: $0) }]
                .compactMap { $0 }
            try train.forEachBatch(epoch: epoch) { batch in
                guard !mixes.isEmpty else {
                    try step(labels: batch.labels.to(device), soft: multiLabel ? multiHot(batch.indices, of: train) : nil) {
                        autocast { model.trainingLogits(batch.images.to(device)) }
                    }
                    return
                }
                // As v2.RandomChoice([MixUp, CutMix]) when both: one drawn per batch.
                let mix = mixes.count == 1 ? mixes[0] : mixes[Tensor([0.5, 0.5] as [Float]).multinomial(1).int]
                let (images, soft) = mix(images: batch.images, labels: batch.labels, classes: classes.count)
                let target = self.device
                let format: MemoryFormat = recipe.channelsLast && target == .cpu ? .channelsLast : .contiguous
                try step(labels: soft.argmax(dim: 1).to(target), soft: soft.to(target)) {
                    autocast { model.trainingLogits(images.contiguous(format).to(target)) }
                }
            }
        }
        // The epoch's last batches were skipped (unreadable files): the open group steps now.
        if groupOpen { try closeGroup(batch: batchIndex, kept: bestRecord() != nil) }
        guard seen > 0 else { throw TrainingError.emptyData("the training set (after dropping bad files)") }
        let record = EpochRecord(epoch: epoch, phase: phase, trainLoss: lossSum / Double(seen),
                                 trainAccuracy: correct / Double(seen), learningRate: learningRate,
                                 seconds: 0, cached: cache != nil)
        return try finish(record, started: started, scheduler: scheduler)
    }

    /// Checks the weights, validates, advances an epoch-wise schedule, and stamps the time.
    func finish(_ trained: EpochRecord, started: Date, scheduler: LRScheduler?) throws -> EpochRecord {
        var record = trained
        let epoch = record.epoch
        if let bad = nonFiniteTensors() {
            throw TrainingError.nonFiniteModel(epoch: epoch, what: "\(bad.count) tensors (\(bad.prefix(3).joined(separator: ", "))"
                                                   + "\(bad.count > 3 ? ", ..." : "")) hold non-finite values",
                                               modelKept: bestRecord() != nil)
        }
        if let metrics = try (ema.map { average in try average.withAverage { try evaluate() } } ?? evaluate()) {
            guard metrics.meanLoss.isFinite else {
                throw TrainingError.nonFiniteModel(epoch: epoch, what: "the validation loss is \(metrics.meanLoss)",
                                                   modelKept: bestRecord() != nil)
            }
            record.valLoss = metrics.meanLoss
            record.valAccuracy = metrics.accuracy
            record.valTop5 = classes.count > 5 ? metrics.top5Accuracy : nil  // always 1 with ≤ 5 classes
            lastValidation = metrics
            if multiLabel, let logits = lastValidationLogits, let validation {
                let m = MultiLabelMetrics(classes: classes, logits: logits.logits,
                                          targets: multiHot(logits.rows, of: validation).to(.cpu))
                record.valLoss = m.loss
                record.valAccuracy = m.elementAccuracy
                record.valMAP = m.meanAveragePrecision
                record.valTop5 = nil
                lastMultiLabel = m
            }
        }
        if let scheduler, scheduler.granularity == .epoch { scheduler.advance(metric: recipe.bestMetric.value(of: record)) }
        record.seconds = Date().timeIntervalSince(started)
        return record
    }

    /// The head phase's one step under `HeadFit.converged`: the classifier's inputs for
    /// every cached training sample (the head with its final Linear set aside: a norm, if
    /// the head has one, applied), multinomial logistic regression on them to convergence
    /// with the L2 that stratified 5-fold CV on these features prefers, and that solution
    /// written into the Linear (undoing the fit's standardisation).
    func convergedHeadEpoch(_ epoch: Int, cache: Tensor) throws -> EpochRecord {
        let started = Date()
        try onEvent?(.epochStarted(epoch: epoch, of: recipe.totalEpochs, batches: 1))
        guard let linear = model.module(at: model.classifierKey) as? Linear else {
            throw TrainingError.unsupported("the converged head fit needs a Linear classifier at \(model.classifierKey)")
        }
        // Every cached training sample once (a sampler's order or repeats don't apply to one fit).
        let rows = cachedTrainRows.sorted()
        guard !rows.isEmpty else { throw TrainingError.emptyData("the training set (after dropping bad files)") }
        let labels = rows.map { train.sampleLabels[$0] }
        let features = cache.indexSelect(dim: 0, index: Tensor(rows.map(Int64.init)))
        let inputs = try classifierInputs(features, linear: linear, epoch: epoch)
        // Multi-label: multi-hot targets, an independent logistic regression per class.
        let targets = multiLabel ? multiHot(rows, of: train).to(.cpu).to(.float64) : nil
        let (l2, fitted) = try guarded("the head fit", epoch: epoch, batch: 0, modelKept: false) { () throws -> (Double, LinearProbe.Model) in
            if let targets {
                let c = classes.count, t = targets.toArray(Double.self)
                let truth = rows.indices.map { i in (0..<c).map { t[i * c + $0] > 0.5 } }
                let l2 = rows.count >= 10
                    ? try Torch.withThreadLocalThreads(1) {
                        try LinearProbe.crossValidatedMultiLabel(features: inputs, targets: truth, seed: recipe.seed).l2
                    }
                    : 1e-2
                return (l2, LinearProbe.fitMultiLabel(features: inputs, targets: targets, l2: l2))
            }
            let l2 = rows.count >= 10
                ? try Torch.withThreadLocalThreads(1) { try LinearProbe.crossValidated(features: inputs, labels: labels, seed: recipe.seed).l2 }
                : 1e-2
            return (l2, LinearProbe.fit(features: inputs, labels: labels, classes: classes.count, l2: l2))
        }
        // logits = ((z − μ)/σ) W + b = z (W/σᵀ) + (b − (μ/σ) W).
        let weight = (fitted.weight / fitted.scale.transposed(0, 1)).transposed(0, 1)
        let bias = fitted.bias - (fitted.mean / fitted.scale).matmul(fitted.weight).view([-1])
        Torch.noGrad {
            linear.weight.copy_(weight.to(linear.weight.dtype).to(device))
            linear.bias?.copy_(bias.to(linear.weight.dtype).to(device))
        }
        ema?.update(model)
        let logits = fitted.logits(inputs)
        let target = Tensor(labels.map(Int64.init))
        let loss: Double, accuracy: Double
        if let targets {
            loss = Functional.binaryCrossEntropyWithLogits(logits, targets).double
            accuracy = logits.gt(0).eq(targets.gt(0.5)).to(.float64).mean().double
        } else {
            loss = Functional.crossEntropy(logits, target).double
            accuracy = Double(logits.argmax(dim: 1).eq(target).sum().int) / Double(rows.count)
        }
        var record = EpochRecord(epoch: epoch, phase: .head, trainLoss: loss, trainAccuracy: accuracy, learningRate: 0,
                                 seconds: 0, cached: true)
        record.l2 = l2
        return try finish(record, started: started, scheduler: nil)
    }

    /// Gradual unfreezing: for the fine-tuning phase's epoch `epochInPhase` (0-based), the
    /// top 1 + ⌊epoch / every⌋ stages and the head train, the stages below stay frozen (their
    /// BatchNorm per `recipe.batchNorm`, as in the head phase). A function of the epoch, so a
    /// resumed run thaws the same.
    func thawGradually(epochInPhase: Int, every: Int) throws {
        let stages = model.stageKeys
        let thawed = min(stages.count, 1 + epochInPhase / every)
        if thawed >= stages.count {
            try model.applyFreeze(.none, trainableBatchNorm: recipe.fineTuneBatchNorm,
                                  batchNormMomentum: recipe.batchNormMomentum)
        } else {
            try model.applyFreeze(.upTo(stages[stages.count - thawed - 1]), batchNorm: recipe.batchNorm,
                                  trainableBatchNorm: recipe.fineTuneBatchNorm, batchNormMomentum: recipe.batchNormMomentum)
        }
        ema?.track(model)
    }

    /// What the head's final Linear sees for `features` (eval mode): the head run with that
    /// Linear set aside for an Identity, then put back.
    func classifierInputs(_ features: Tensor, linear: Linear, epoch: Int) throws -> Tensor {
        let wasTraining = model.isTraining
        model.replaceClassifier(with: Identity())
        defer {
            model.replaceClassifier(with: linear)
            if wasTraining { model.train() }
        }
        model.eval()
        return try guarded("the head fit", epoch: epoch, batch: 0, modelKept: false) {
            Torch.inferenceMode { model.head(features.to(device)).to(.cpu).to(.float64) }
        }
    }

    /// The latest and the best validation metrics (per-class and confusion matrix for reports).
    public private(set) var lastValidation: ClassificationMetrics?
    public internal(set) var bestValidation: ClassificationMetrics?
    /// The validation logits (float64, on the CPU) and labels of the latest and of the best
    /// epoch, for calibration.
    public internal(set) var lastValidationLogits: (logits: Tensor, labels: [Int], rows: [Int])?
    public internal(set) var bestValidationLogits: (logits: Tensor, labels: [Int], rows: [Int])?
    /// Multi-label validation metrics of the latest and the best epoch (at 0.5); once the run
    /// ends, the best one's at the per-class thresholds chosen on it (``multiLabelThresholds``).
    public internal(set) var lastMultiLabel: MultiLabelMetrics?
    public internal(set) var bestMultiLabel: MultiLabelMetrics?
    /// The per-class thresholds that maximise each class's validation F1, chosen when the run ends.
    public internal(set) var multiLabelThresholds: [Double]?

    /// Whether the run is multi-label (``Recipe/multiLabel``): BCE-with-logits on multi-hot targets.
    var multiLabel: Bool { recipe.multiLabel == true }

    /// Multi-hot targets (float32, on the device) of samples `ids` of `provider`.
    func multiHot(_ ids: [Int], of provider: any BatchProvider) -> Tensor {
        let sets = provider.labelSets ?? []
        let c = classes.count
        var values = [Float](repeating: 0, count: ids.count * c)
        for (row, id) in ids.enumerated() where sets.indices.contains(id) {
            for label in sets[id] where label >= 0 && label < c { values[row * c + label] = 1 }
        }
        return Tensor(values).view([ids.count, c]).to(device)
    }
    /// Temperature scaling of the best model on the validation set (``Recipe/calibrate``),
    /// fitted when the run ends; its temperature goes into the model card.
    public internal(set) var calibration: Calibration?

    /// Validation metrics of the current model, or nil without a validation set. While the
    /// trunk is frozen and cached, the head runs on the validation set's cached features.
    public func evaluate() throws -> ClassificationMetrics? {
        guard let validation else { return nil }
        var metrics = ClassificationMetrics(classes: classes)
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var logitBatches: [Tensor] = [], labelRows: [Int] = [], sampleRows: [Int] = []
        defer {
            lastValidationLogits = logitBatches.isEmpty ? nil : (Tensor.cat(logitBatches), labelRows, sampleRows)
        }
        try Torch.inferenceMode {
            if let cached = validationFeatures {
                let labels = validation.sampleLabels
                let readable = (0..<labels.count).filter { validationRows.contains($0) }
                for start in stride(from: 0, to: readable.count, by: validation.batchSize) {
                    let rows = Array(readable[start..<min(start + validation.batchSize, readable.count)])
                    let y = Tensor(rows.map { Int64(labels[$0]) }).to(device)
                    try guarded("validation", batch: start / validation.batchSize) {
                        let features = cached.indexSelect(dim: 0, index: Tensor(rows.map(Int64.init))).to(device)
                        let logits = model.head(features)
                        metrics.update(logits: logits, labels: y,
                                       lossSum: Functional.crossEntropy(logits, y, reduction: .sum).double)
                        logitBatches.append(logits.to(.cpu).to(.float64))
                        labelRows += rows.map { labels[$0] }
                        sampleRows += rows
                    }
                }
                return
            }
            var batchIndex = 0
            try validation.forEachBatch(epoch: 0) { batch in
                try guarded("validation", batch: batchIndex) {
                    let y = batch.labels.to(device)
                    let logits = Torch.float32Result(of: precision.precision, on: device) { model(batch.images.to(device)) }
                    let loss = Functional.crossEntropy(logits, y, reduction: .sum).double
                    metrics.update(logits: logits, labels: y, lossSum: loss)
                    logitBatches.append(logits.to(.cpu).to(.float64))
                    labelRows += batch.labels.toArray(Int.self)
                    sampleRows += batch.indices
                }
                batchIndex += 1
            }
        }
        return metrics
    }

    /// The validation set's pooled features while the current phase caches them.
    var validationFeatures: Tensor?
    /// The rows of the cached features that hold a sample (unreadable ones skipped).
    var cachedTrainRows: Set<Int> = []
    var validationRows: Set<Int> = []

    // MARK: Pieces

    func makeOptimizer(phase: Phase) -> any Optimizer {
        let isHead: (String) -> Bool = { [model] key in model.isHead(key) }
        let noDecay: (String, Tensor) -> Bool = { [model] key, tensor in
            ParameterGroup.isBiasOrOneDimensional(key, tensor) || model.excludesFromWeightDecay(key)
        }
        let groups: [ParameterGroup]
        if let decay = recipe.layerDecay, let layers = model.layerIDs() {
            // timm's layer decay sets every trunk rate from the head's: no trunk factor on top.
            groups = ParameterGroup.layerDecay(model, learningRate: recipe.learningRate, weightDecay: recipe.weightDecay,
                                               layerDecay: decay, layers: layers, noDecay: noDecay)
        } else {
            let trunkLR = phase == .fineTune ? recipe.learningRate * recipe.trunkLearningRateFactor : recipe.learningRate
            groups = ParameterGroup.split(model, learningRate: trunkLR, weightDecay: recipe.weightDecay,
                                          isHead: isHead, headLearningRate: recipe.learningRate, noDecay: noDecay)
        }
        switch recipe.optimizer {
        case .sgd: return SGD(groups, momentum: recipe.momentum)
        case .adam: return Adam(groups)
        case .adamw: return AdamW(groups)
        }
    }

    /// The phase's freeze: the recipe's spec in the head phase, everything in the fine-tuning
    /// phase; refuses a phase with nothing to train.
    func applyFreeze(for phase: Phase) throws {
        if phase == .head {
            try model.applyFreeze(recipe.freeze, batchNorm: recipe.batchNorm, batchNormMomentum: recipe.batchNormMomentum)
        } else {
            try model.applyFreeze(.none, trainableBatchNorm: recipe.fineTuneBatchNorm,
                                  batchNormMomentum: recipe.batchNormMomentum)
        }
        guard model.parameterCount(trainableOnly: true) > 0 else { throw TrainingError.noTrainableParameters }
    }

    /// Layer-wise decay needs the family's layer grouping.
    func checkLayerDecay() throws {
        if recipe.layerDecay != nil && model.layerOrdinal == nil { throw TrainingError.noLayerGroups(recipe.model) }
    }

    /// Optimizer steps per epoch (batches, or groups of `accumulate` of them).
    func stepsPerEpoch() -> Int {
        let n = train.sampleLabels.count
        let batches = train.dropLast ? n / train.batchSize : (n + train.batchSize - 1) / train.batchSize
        let accumulate = max(1, recipe.accumulate ?? 1)
        return (batches + accumulate - 1) / accumulate
    }

    func makeScheduler(_ optimizer: any Optimizer, epochs: Int, stepsPerEpoch: Int) -> LRScheduler? {
        switch recipe.schedule {
        case .constant: return nil
        case .step: return StepLR(optimizer, stepSize: recipe.stepSize ?? max(1, epochs / 3), gamma: 0.1)
        case .cosine:
            if recipe.warmupEpochs > 0 && recipe.warmupEpochs < epochs {
                return SequentialLR.warmupCosine(optimizer, warmupEpochs: recipe.warmupEpochs, totalEpochs: epochs)
            }
            return CosineAnnealingLR(optimizer, tMax: max(1, epochs))
        case .onecycle:
            return OneCycleLR(optimizer, maxLearningRates: optimizer.learningRates,
                              totalSteps: max(1, epochs * stepsPerEpoch), cycleMomentum: recipe.optimizer == .sgd)
        case .plateau:
            return ReduceLROnPlateau(optimizer, mode: recipe.bestMetric.higherIsBetter ? .max : .min, factor: 0.1,
                                     patience: 2)
        }
    }

    /// `auto`: inverse class frequency, normalised to mean 1 (scikit-learn's "balanced").
    func classWeights() throws -> Tensor? {
        guard let weights = classWeightValues() else { return nil }
        try onEvent?(.classWeights(weights))
        return Tensor(weights.map(Float.init)).to(device)
    }

    /// The loss's class weights in class order, or nil (`classWeights` none).
    public func classWeightValues() -> [Double]? {
        guard recipe.classWeights == .auto else { return nil }
        var counts = Array(repeating: 0, count: classes.count)
        for label in train.sampleLabels where label >= 0 && label < counts.count { counts[label] += 1 }
        let total = Double(counts.reduce(0, +))
        return counts.map { $0 > 0 ? total / (Double(classes.count) * Double($0)) : 0 }
    }

    /// Clips (when `clip` is set) and steps the optimizer, through float16's loss scaler when
    /// there is one: clipping sees the unscaled gradients, and a step whose gradients overflowed
    /// is skipped (the scale backs off). Returns whether the optimizer stepped.
    func stepOptimizer(_ optimizer: any Optimizer, scaler: GradScaler?, clip: Double?) throws -> Bool {
        if let clip {
            try scaler?.unscale(optimizer)
            clipGradientNorm(optimizer, maxNorm: clip)
        }
        guard let scaler else {
            optimizer.step()
            return true
        }
        let stepped = try scaler.step(optimizer)
        try scaler.update()
        return stepped
    }

    /// Rescales gradients so their global L2 norm is at most `maxNorm` (`clip_grad_norm_`).
    func clipGradientNorm(_ optimizer: any Optimizer, maxNorm: Double) {
        let grads = optimizer.parameterGroups.flatMap(\.parameters).compactMap(\.value.grad)
        guard !grads.isEmpty else { return }
        let norms = Tensor.stack(grads.map { $0.norm(2) })
        let total = norms.norm(2).double
        let scale = maxNorm / (total + 1e-6)
        if scale < 1 { Torch.noGrad { for g in grads { g.mul_(scale) } } }
    }

    /// Pooled features of the whole training set (and of the validation set, which the
    /// evaluation then uses), computed once with the frozen trunk.
    func featureCacheIfUseful() throws -> Tensor? {
        validationFeatures = nil
        guard cachesFeatures, let source = cacheSource else { return nil }
        let started = Date()
        let train = try pooledFeatures(of: source)
        cachedTrainRows = train.rows
        if let validation {
            let features = try pooledFeatures(of: validation)
            (validationFeatures, validationRows) = (features.cache, features.rows)
        }
        let cache = train.cache
        try onEvent?(.featuresCached(samples: source.sampleLabels.count + (validation?.sampleLabels.count ?? 0),
                                     seconds: Date().timeIntervalSince(started)))
        return cache
    }

    /// Whether the current phase trains the head on cached features (frozen trunk, frozen
    /// BatchNorm statistics, a deterministic transform to cache with).
    var cachesFeatures: Bool {
        recipe.cacheFeatures == .auto && cacheSource != nil && model.isTrunkFrozen && recipe.batchNorm != .train
            && !recipe.mixesBatches
    }

    /// Refuses a phase whose batches would not fit in memory (``MemoryEstimate``): the
    /// feature-caching pass when the phase caches, else a training step. Needs ``inputSize``.
    func checkMemory() throws {
        guard let size = inputSize else { return }
        let format: MemoryFormat = recipe.channelsLast && device == .cpu ? .channelsLast : .contiguous
        if cachesFeatures, let source = cacheSource {
            try MemoryEstimate.check(model, pass: .inference, name: "feature caching", imageSize: size,
                                     batchSize: min(source.batchSize, max(source.sampleLabels.count, 1)),
                                     probeSize: MemoryEstimate.probeSize(for: recipe.model, training: false),
                                     device: device, memoryFormat: format)
        } else {
            try MemoryEstimate.check(model, pass: .training, name: "training", imageSize: size,
                                     batchSize: min(train.batchSize, max(train.sampleLabels.count, 1)),
                                     probeSize: MemoryEstimate.probeSize(for: recipe.model, training: true),
                                     device: device, memoryFormat: format)
        }
    }

    /// Pooled features of every sample of `source` (rows in dataset order), in eval mode.
    func pooledFeatures(of source: any BatchProvider) throws -> (cache: Tensor?, rows: Set<Int>) {
        try Transfer.pooledFeatures(of: model, batches: source, device: device, precision: precision.precision,
                                    stage: "feature caching")
    }

    /// The keys of trainable parameters and of buffers that hold NaN or ±inf (frozen
    /// parameters can't change, so they aren't checked); nil when all are finite.
    func nonFiniteTensors() -> [String]? {
        let bad = Torch.noGrad {
            model.namedParameters().filter { $0.parameter.requiresGrad }.map { ($0.key, $0.parameter.value) }
                + model.namedBuffers().map { ($0.key, $0.buffer.value) }
        }.filter { $0.1.dtype.isFloatingPoint && $0.1.isFinite().all().double == 0 }.map(\.0)
        return bad.isEmpty ? nil : bad
    }

    public func bestRecord() -> EpochRecord? { history.filter(\.isBest).last }

    public func metricsDictionary(_ record: EpochRecord) -> [String: Double] {
        var m: [String: Double] = ["epoch": Double(record.epoch + 1), "train_loss": record.trainLoss,
                                   "train_accuracy": record.trainAccuracy]
        if let v = record.valAccuracy { m["val_accuracy"] = v }
        if let v = record.valLoss { m["val_loss"] = v }
        if let v = record.valTop5 { m["val_top5"] = v }
        if let v = record.valMAP { m["val_map"] = v }
        return m
    }

    /// The card for the saved model: the caller's, plus the recipe and its head.
    func finalCard(metrics: [String: Double]) -> ModelCard {
        var card = self.card
        card.recipe = recipe
        card.trainingPrecision = precision.precision
        card.multiLabel = multiLabel ? true : nil
        card.headHidden = recipe.headHidden
        card.headDropout = recipe.headDropout
        card.metrics = metrics
        return card
    }

    /// Saves the model (its moving average, when the run keeps one).
    public func saveModel(to url: URL, metrics: [String: Double]) throws {
        if let ema {
            try ema.withAverage { try ModelFile.save(model, card: finalCard(metrics: metrics), to: url) }
        } else {
            try ModelFile.save(model, card: finalCard(metrics: metrics), to: url)
        }
    }

    /// Rewrites the best model's card with the run's final numbers.
    func finalizeModelFile(best: EpochRecord?) throws {
        guard let url = modelURL, let best, FileManager.default.fileExists(atPath: url.path) else { return }
        let (bestModel, _) = try ModelFile.load(url)
        var card = finalCard(metrics: metricsDictionary(best))
        card.metrics["best_epoch"] = Double(best.epoch + 1)  // 1-based, as the CLI, metrics.csv and the report
        card.metrics["epochs"] = Double(history.count)
        if let thresholds = multiLabelThresholds, let m = bestMultiLabel {
            card.thresholds = thresholds
            card.metrics["val_map"] = m.meanAveragePrecision
            card.metrics["val_f1_micro"] = m.microF1
            card.metrics["val_f1_macro"] = m.macroF1
        }
        if let calibration {
            card.temperature = calibration.temperature
            card.metrics["temperature"] = calibration.temperature
            card.metrics["val_ece"] = calibration.eceBefore
            card.metrics["val_ece_calibrated"] = calibration.eceAfter
        }
        try ModelFile.save(bestModel, card: card, to: url)
    }

    func saveCheckpoint(epochsDone: Int, phase: Phase, optimizer: any Optimizer, scheduler: LRScheduler?) throws {
        guard let url = checkpointURL else { return }
        var state = model.stateDict()
        var frozen: TrainingCheckpoint.FrozenTensors?
        if phase == .head {
            // Parameters that were never trainable in this run are the source weights' own.
            let frozenKeys = Set(model.namedParameters().filter { !$0.parameter.requiresGrad }.map(\.key))
            let unchanged = state.filter { frozenKeys.contains($0.key) }
            if !unchanged.isEmpty {
                if frozenDigest == nil { frozenDigest = try TrainingCheckpoint.FrozenTensors.digest(of: unchanged) }
                frozen = .init(keys: unchanged.map(\.key), sha256: frozenDigest!, sourceWeights: card.sourceWeights,
                               sourceSHA256: card.sourceSHA256)
                let left = Set(frozen!.keys)
                state = state.filter { !left.contains($0.key) }
            }
        }
        var checkpoint = TrainingCheckpoint(recipe: recipe, epochsDone: epochsDone, phase: phase, history: history,
                                            model: state, optimizer: optimizer.state(),
                                            scheduler: scheduler?.state(), frozen: frozen)
        if let ema { (checkpoint.ema, checkpoint.emaUpdates) = ema.state }
        if let scaler = gradScaler {
            checkpoint.lossScale = .init(scale: scaler.state.scale, growthTracker: scaler.state.growthTracker)
        }
        try checkpoint.write(to: url)
        try onEvent?(.checkpointSaved(url))
    }
}

/// A thread-safe flag a signal handler can set.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    public init() {}
    public func set() { lock.withLock { value = true } }
    public var isSet: Bool { lock.withLock { value } }
}

public enum CheckpointMismatch: Error, CustomStringConvertible {
    /// The checkpoint's recipe differs (each difference as `field: saved → now`).
    case recipe(String, differences: [String])
    public var description: String {
        switch self {
        case .recipe(let path, let differences):
            "\(path) was written by a run with other settings (\(differences.joined(separator: "; "))); only more "
                + "epochs in the last phase, under a constant or plateau schedule, can continue it"
        }
    }
}
