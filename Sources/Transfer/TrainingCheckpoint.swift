import Checkpoints
import Foundation
import NN
import Optimizers
import Pretrained
import Torch

/// Everything needed to continue a run exactly: the model's current weights and
/// buffers, the optimizer's buffers and step counts, the schedule, how many epochs
/// are done, in which phase, and the history. One `.safetensors` file, written
/// atomically, so a crash or a full disk mid-write leaves the previous one intact.
/// (Random state needs no saving: every epoch reseeds from the run's seed.)
///
/// While the trunk is frozen, the checkpoint holds only what training changes (the
/// trainable parameters and the buffers) and names the rest in ``frozen``: their keys and
/// a SHA-256 of their values. A resume rebuilds the model from the same source weights,
/// checks that digest and takes the frozen tensors from there, so a VGG run's checkpoint
/// is its head, not 500 MB of trunk.
public struct TrainingCheckpoint {
    public var recipe: Recipe
    public var epochsDone: Int
    public var phase: Phase
    public var history: [EpochRecord]
    public var model: [(key: String, tensor: Tensor)]
    public var optimizer: OptimizerState
    public var scheduler: SchedulerState?
    /// The model tensors left out because they never changed; nil: the model is whole.
    public var frozen: FrozenTensors?
    /// The weights' moving average (``ModelEMA``) and its update count, when the run keeps one.
    public var ema: [(key: String, tensor: Tensor)]? = nil
    public var emaUpdates: Int? = nil
    /// float16 training's loss scale and clean-step count (``GradScaler/state``).
    public var lossScale: LossScaleState? = nil

    public struct LossScaleState: Codable, Sendable, Equatable {
        public var scale: Double
        public var growthTracker: Int
    }

    /// Model tensors a checkpoint leaves out: they are the source weights' own.
    public struct FrozenTensors: Codable, Sendable, Equatable {
        public var keys: [String]
        /// ``digest(of:)`` of those tensors when the checkpoint was written.
        public var sha256: String
        /// The weights file the trunk came from and its SHA-256, when known (for messages).
        public var sourceWeights: String?
        public var sourceSHA256: String?

        public init(keys: [String], sha256: String, sourceWeights: String? = nil, sourceSHA256: String? = nil) {
            self.keys = keys
            self.sha256 = sha256
            self.sourceWeights = sourceWeights
            self.sourceSHA256 = sourceSHA256
        }

        /// SHA-256 over each tensor's key, element type, shape and bytes, in the order given.
        public static func digest(of tensors: [(key: String, tensor: Tensor)]) throws -> String {
            let digest = SHA256Digest()
            for (key, tensor) in tensors {
                let data = try tensor.tensorData()
                digest.update("\(key)\u{0}\(data.elementType)\u{0}\(data.shape)\u{0}")
                data.withContiguousBytes { digest.update($0) }
            }
            guard let hex = digest.finish() else {
                throw TorchError(operation: "sha256", message: "libcrypto could not make a digest context")
            }
            return hex
        }
    }

    struct Header: Codable {
        var recipe: Recipe
        var epochsDone: Int
        var phase: Phase
        var history: [EpochRecord]
        var scheduler: SchedulerState?
        var frozen: FrozenTensors?
        var emaUpdates: Int?
        var lossScale: LossScaleState?
    }

    static let headerKey = "graft.checkpoint"
    static let modelPrefix = "model."
    static let emaPrefix = "ema."

    public func write(to url: URL) throws {
        var entries = try model.map { (key: Self.modelPrefix + $0.key, tensor: try $0.tensor.tensorData()) }
        entries += try optimizer.tensors().map { (key: $0.key, tensor: try $0.tensor.tensorData()) }
        entries += try (ema ?? []).map { (key: Self.emaPrefix + $0.key, tensor: try $0.tensor.tensorData()) }
        var metadata = try optimizer.metadata()
        let header = Header(recipe: recipe, epochsDone: epochsDone, phase: phase, history: history, scheduler: scheduler,
                            frozen: frozen, emaUpdates: ema == nil ? nil : emaUpdates, lossScale: lossScale)
        metadata[Self.headerKey] = String(decoding: try JSONEncoder.sorted.encode(header), as: UTF8.self)
        try SafeTensors.write(StateDict(entries: entries, metadata: metadata), to: url)
    }

    public static func read(_ url: URL) throws -> TrainingCheckpoint {
        let dict = try SafeTensors.read(url)
        guard let json = dict.metadata[headerKey] else {
            throw ModelFileError.badCard(url.path, "not a Graft training checkpoint")
        }
        let header = try JSONDecoder.graft.decode(Header.self, from: Data(json.utf8))
        let tensors = dict.tensors()
        let model = tensors.filter { $0.key.hasPrefix(modelPrefix) }
            .map { (key: String($0.key.dropFirst(modelPrefix.count)), tensor: $0.tensor) }
        let optimizer = try OptimizerState(
            tensors: tensors.filter { !$0.key.hasPrefix(modelPrefix) && !$0.key.hasPrefix(emaPrefix) },
            metadata: dict.metadata)
        var checkpoint = TrainingCheckpoint(recipe: header.recipe, epochsDone: header.epochsDone, phase: header.phase,
                                            history: header.history, model: model, optimizer: optimizer,
                                            scheduler: header.scheduler, frozen: header.frozen)
        checkpoint.lossScale = header.lossScale
        if let updates = header.emaUpdates {
            checkpoint.ema = tensors.filter { $0.key.hasPrefix(emaPrefix) }
                .map { (key: String($0.key.dropFirst(emaPrefix.count)), tensor: $0.tensor) }
            checkpoint.emaUpdates = updates
        }
        return checkpoint
    }
}

public enum CheckpointTrunkError: Error, CustomStringConvertible {
    /// The model rebuilt for a resume differs from the one the checkpoint's frozen tensors came from.
    case trunkChanged(String, source: String?)
    /// The rebuilt model lacks tensors the checkpoint says it left out.
    case missingFrozen(String, keys: [String])

    public var description: String {
        switch self {
        case .trunkChanged(let path, let source):
            "\(path) leaves the frozen trunk out, and the trunk built now differs from the one it was trained on"
                + (source.map { " (\($0))" } ?? "") + ": resume with the same weights file"
        case .missingFrozen(let path, let keys):
            "\(path) leaves out \(keys.count) frozen tensors the model built now does not have "
                + "(\(keys.prefix(3).joined(separator: ", "))): resume with the same model"
        }
    }
}
