import Foundation
import ImageData
import Transfer

extension TrainingSession {
    /// Runs (or resumes) the training, then writes the run report (metrics.csv, curves.png,
    /// confusion.png, report.html) beside the model.
    public func runWithReport(onEvent: ((TrainingEvent) throws -> Void)? = nil, cancellation: CancellationFlag? = nil,
                              resume: Bool = false) throws -> Outcome {
        let outcome = try run(onEvent: onEvent, cancellation: cancellation, resume: resume)
        try RunReport(trainer: outcome.trainer, result: outcome.result, trainSet: train, validationSet: validation,
                      skipped: outcome.skipped).write(to: runDirectory)
        return outcome
    }
}
