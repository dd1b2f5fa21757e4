import Foundation

/// Code that runs after each epoch of a ``Trainer``, with the trainer itself: it can read
/// ``Trainer/history`` (the epoch just run is last), mark the best record, save files, or
/// ask the run to stop (``Trainer/stopRequested``). Throwing ends the run with that error.
public protocol TrainingCallback: AnyObject {
    func epochFinished(_ trainer: Trainer) throws
}

extension Recipe.BestMetric {
    /// The monitored value of `record`: the validation metric, or the training one when
    /// the run has no validation set.
    public func value(of record: EpochRecord) -> Double {
        switch self {
        case .valAccuracy: record.valAccuracy ?? record.trainAccuracy
        case .valLoss: record.valLoss ?? record.trainLoss
        case .valMAP: record.valMAP ?? record.valAccuracy ?? record.trainAccuracy
        }
    }

    /// Accuracy and mAP: higher is better; loss: lower.
    public var higherIsBetter: Bool { self != .valLoss }

    /// Whether `value` improves on `best` (strictly).
    public func improves(_ value: Double, on best: Double) -> Bool {
        higherIsBetter ? value > best : value < best
    }
}

/// Marks each epoch that improves the monitored metric as best and writes the model
/// then (the run folder's `model.safetensors`, the model file a run hands back). The
/// state lives in the trainer's history, so a resumed run continues from the same best.
public final class KeepBestModel: TrainingCallback {
    public let metric: Recipe.BestMetric

    public init(metric: Recipe.BestMetric) { self.metric = metric }

    public func epochFinished(_ trainer: Trainer) throws {
        guard let index = trainer.history.indices.last else { return }
        let record = trainer.history[index]
        if let previous = trainer.bestRecord(),
           !metric.improves(metric.value(of: record), on: metric.value(of: previous)) { return }
        trainer.history[index].isBest = true
        trainer.bestValidation = trainer.lastValidation
        trainer.bestValidationLogits = trainer.lastValidationLogits
        trainer.bestMultiLabel = trainer.lastMultiLabel
        if let url = trainer.modelURL { try trainer.saveModel(to: url, metrics: trainer.metricsDictionary(record)) }
    }
}

/// Stops the run when `patience` epochs have passed since the best one.
public final class EarlyStopping: TrainingCallback {
    public let patience: Int

    public init(patience: Int) { self.patience = patience }

    public func epochFinished(_ trainer: Trainer) throws {
        guard let last = trainer.history.last, let best = trainer.bestRecord() else { return }
        if last.epoch - best.epoch >= patience { trainer.stopRequested = true }
    }
}

/// Stops the run after the epoch that leaves too little of `seconds` (counted from this
/// callback's creation) for another epoch as long as the last one, as Lightning's
/// `max_time` does at epoch ends. The checkpoint holds that epoch, so the run can resume.
public final class TimeLimit: TrainingCallback {
    public let seconds: TimeInterval
    public let started: Date

    public init(seconds: TimeInterval, from started: Date = Date()) {
        self.seconds = seconds
        self.started = started
    }

    public func epochFinished(_ trainer: Trainer) throws {
        guard let last = trainer.history.last else { return }
        if Date().timeIntervalSince(started) + last.seconds > seconds { trainer.stopRequested = true }
    }
}
