import Checkpoints
import Foundation
import NN
import Optimizers
import Torch

/// Everything needed to continue a run exactly: the model's current weights and
/// buffers, the optimizer's buffers and step counts, the schedule, how many epochs
/// are done, in which phase, and the history. One `.safetensors` file, written
/// atomically, so a crash or a full disk mid-write leaves the previous one intact.
/// (Random state needs no saving: every epoch reseeds from the run's seed.)
public struct TrainingCheckpoint {
    public var recipe: Recipe
    public var epochsDone: Int
    public var phase: Phase
    public var history: [EpochRecord]
    public var model: [(key: String, tensor: Tensor)]
    public var optimizer: OptimizerState
    public var scheduler: SchedulerState?

    struct Header: Codable {
        var recipe: Recipe
        var epochsDone: Int
        var phase: Phase
        var history: [EpochRecord]
        var scheduler: SchedulerState?
    }

    static let headerKey = "graft.checkpoint"
    static let modelPrefix = "model."

    public func write(to url: URL) throws {
        var entries = try model.map { (key: Self.modelPrefix + $0.key, tensor: try $0.tensor.tensorData()) }
        entries += try optimizer.tensors().map { (key: $0.key, tensor: try $0.tensor.tensorData()) }
        var metadata = try optimizer.metadata()
        let header = Header(recipe: recipe, epochsDone: epochsDone, phase: phase, history: history, scheduler: scheduler)
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
        let optimizer = try OptimizerState(tensors: tensors.filter { !$0.key.hasPrefix(modelPrefix) },
                                           metadata: dict.metadata)
        return TrainingCheckpoint(recipe: header.recipe, epochsDone: header.epochsDone, phase: header.phase,
                                  history: header.history, model: model, optimizer: optimizer,
                                  scheduler: header.scheduler)
    }
}
