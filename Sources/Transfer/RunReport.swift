import Foundation
import ImageData
import NN
import Torch
import Vision

/// The files a run folder gets besides the model: metrics.csv (one row per epoch).
/// Plots and the HTML report are added by ``RunReport/write(to:)``.
public struct RunReport {
    public let trainer: Trainer
    public let result: TrainingResult
    public let trainSet: any Dataset
    public let validationSet: (any Dataset)?
    public let skipped: [SampleError]

    public init(trainer: Trainer, result: TrainingResult, trainSet: any Dataset, validationSet: (any Dataset)?,
                skipped: [SampleError]) {
        self.trainer = trainer
        self.result = result
        self.trainSet = trainSet
        self.validationSet = validationSet
        self.skipped = skipped
    }

    public func write(to directory: URL) throws {
        try metricsCSV().write(to: directory.appendingPathComponent("metrics.csv"), atomically: true, encoding: .utf8)
    }

    /// epoch,phase,train_loss,train_accuracy,val_loss,val_accuracy,val_top5,learning_rate,seconds,cached,best
    public func metricsCSV() -> String {
        var lines = ["epoch,phase,train_loss,train_accuracy,val_loss,val_accuracy,val_top5,learning_rate,seconds,cached,best"]
        func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "" }
        for r in result.history {
            lines.append([String(r.epoch + 1), r.phase.rawValue, f(r.trainLoss), f(r.trainAccuracy), f(r.valLoss),
                          f(r.valAccuracy), f(r.valTop5), f(r.learningRate), f(r.seconds), String(r.cached),
                          String(r.isBest)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
