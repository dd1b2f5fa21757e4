import Torch

/// A libtorch failure inside a pass over user data: a forward, backward or optimizer step
/// whose sizes came from the user (image size, batch size, classes), most often memory
/// running out. The trainer and the inference loops run each batch inside
/// `withTorchErrors`, so such a failure stops the run with this error instead of
/// trapping; the best model saved so far stays on disk.
public struct ComputationError: Error, CustomStringConvertible, Sendable {
    /// What was running: "the forward pass", "the backward pass", "the optimizer step",
    /// "feature caching", "evaluation", "prediction".
    public var stage: String
    /// 0-based; nil outside training. The message shows them 1-based.
    public var epoch: Int?
    public var batch: Int
    public var underlying: TorchError
    /// Training only: whether a best model from an earlier epoch is in the run folder.
    public var modelKept: Bool?

    public init(stage: String, epoch: Int? = nil, batch: Int, underlying: TorchError, modelKept: Bool? = nil) {
        self.stage = stage
        self.epoch = epoch
        self.batch = batch
        self.underlying = underlying
        self.modelKept = modelKept
    }

    /// Whether libtorch ran out of memory (CPU or CUDA).
    public var isOutOfMemory: Bool {
        let message = underlying.message.lowercased()
        return message.contains("allocate") || message.contains("out of memory")
    }

    public var description: String {
        var text = "\(stage) failed at " + (epoch.map { "epoch \($0 + 1), " } ?? "") + "batch \(batch + 1): \(underlying)"
        if isOutOfMemory { text += "; a smaller batch or image size needs less memory" }
        if let kept = modelKept {
            text += kept ? "; training stopped and the best model so far was kept" : "; training stopped before any model was saved"
        }
        return text
    }
}

/// Runs one stage of a batch so that a libtorch failure becomes a ``ComputationError``.
func guarded<R>(_ stage: String, epoch: Int? = nil, batch: Int, modelKept: @autoclosure () -> Bool? = nil,
                _ body: () throws -> R) throws -> R {
    do {
        return try withTorchErrors(body)
    } catch let error as TorchError {
        throw ComputationError(stage: stage, epoch: epoch, batch: batch, underlying: error, modelKept: modelKept())
    }
}
