import Checkpoints
import Foundation
import ImageData
import NN
import Pretrained
import Optimizers
import Torch
import Vision

/// A model ready to use or to fine-tune, with what the weights say about their input.
public struct LoadedModel {
    public var model: ImageClassifier
    public var architecture: String
    public var classes: [String]
    public var preprocessing: Preprocessing
    /// The file the weights came from and its SHA-256 (nil for random initialisation).
    public var sourceFile: URL?
    public var sourceSHA256: String?
    /// The card, when the file is a Graft model.
    public var card: ModelCard?
    /// The catalogue entry the weights came from (`imagenet` or a tag).
    public var catalogueEntry: PretrainedWeights? = nil

    /// Loads `architecture` with `weights`: `imagenet` (the registry's default weights,
    /// found in the caches or downloaded and verified), `none` (random initialisation),
    /// a Graft model file, or a plain `.pth`/`.safetensors` for this architecture.
    public static func load(architecture: String?, weights: WeightsSource, store: WeightsStore = WeightsStore()) throws
        -> LoadedModel
    {
        if case .file(let weights) = weights {
            let url = URL(fileURLWithPath: weights)
            guard FileManager.default.fileExists(atPath: url.path) else { throw PretrainedError.noSuchFile(weights) }
            if let card = try ModelFile.cardIfPresent(at: url) {
                if let architecture, architecture != card.architecture {
                    throw PretrainedError.architectureMismatch(path: weights, holds: card.architecture, asked: architecture)
                }
                let (model, card) = try ModelFile.load(url)
                return LoadedModel(model: model, architecture: card.architecture, classes: card.classes,
                                   preprocessing: card.preprocessing, sourceFile: url, sourceSHA256: try sha256Hex(of: url),
                                   card: card)
            }
        }
        guard let architecture else { throw PretrainedError.needArchitecture(weights.description) }
        guard Zoo.entry(architecture) != nil else { throw ZooError.unknownModel(architecture) }
        let registered = PretrainedWeights.forModel(architecture)
        switch weights {
        case .none:
            let model = try Zoo.make(architecture)
            return LoadedModel(model: model, architecture: architecture, classes: imageNetCategories,
                               preprocessing: registered?.preprocessing ?? .imageNet, sourceFile: nil,
                               sourceSHA256: nil, card: nil)
        case .pretrained, .tag:
            var chosen = registered
            if case .tag(let tag) = weights {
                chosen = PretrainedWeights.forModel(architecture, tag: tag)
                guard chosen != nil else {
                    throw WeightsError.noSuchTag(model: architecture, tag: tag,
                                                 known: PretrainedWeights.entries(for: architecture).map(\.tag))
                }
            }
            guard let registered = chosen else { throw WeightsError.noWeights(model: architecture) }
            let file = try store.resolve(registered)
            let model = try Zoo.make(architecture)
            let rename = keyMapping(architecture)
            try loadTrunkAndHead(model, from: CheckpointFile.read(file).tensors().map { (rename?($0.key) ?? $0.key, $0.tensor) },
                                 source: file.path)
            return LoadedModel(model: model, architecture: architecture, classes: registered.categories,
                               preprocessing: registered.preprocessing, sourceFile: file,
                               sourceSHA256: try sha256Hex(of: file), card: nil, catalogueEntry: registered)
        case .file(let path):
            let url = URL(fileURLWithPath: path)
            // A plain weights file: its classifier's shape says how many classes it has.
            // Built as for `imagenet` (the same random draws, so the same new head at the
            // same seed), then given the file's class count when it differs.
            let dict = try CheckpointFile.read(url)
            let model = try Zoo.make(architecture)
            let classes = dict[model.classifierKey + ".weight"]?.shape.first ?? 1000
            if classes != model.numClasses { model.resetClassifier(numClasses: classes) }
            let rename = keyMapping(architecture)
            try loadTrunkAndHead(model, from: dict.tensors().map { (rename?($0.key) ?? $0.key, $0.tensor) },
                                 source: url.path)
            return LoadedModel(model: model, architecture: architecture,
                               classes: classes == 1000 ? imageNetCategories : (0..<classes).map(String.init),
                               preprocessing: registered?.preprocessing ?? .imageNet, sourceFile: url,
                               sourceSHA256: try sha256Hex(of: url), card: nil)
        }
    }

    /// Loads every tensor strictly; a file without a classifier (a headless backbone such
    /// as DINOv2's) loads the trunk strictly and keeps the freshly made head, which
    /// `graftHead` then replaces.
    static func loadTrunkAndHead(_ model: ImageClassifier, from tensors: [(key: String, tensor: Tensor)],
                                 source: String) throws {
        let headless = !tensors.contains { model.isHead($0.key) }
        guard headless else {
            try model.load(stateDict: tensors, strict: true, source: source)
            return
        }
        let report = try model.load(stateDict: tensors, strict: false, source: source)
        var trunkReport = report
        trunkReport.missing = report.missing.filter { !model.isHead($0) }
        if !trunkReport.isComplete { throw StateDictError(source: source, report: trunkReport) }
    }

    /// The one explicit key mapping a published naming needs (DenseNet's legacy keys).
    static func keyMapping(_ architecture: String) -> ((String) -> String)? {
        guard architecture.hasPrefix("densenet") else { return nil }
        return { DenseNet.upgradeLegacyKey($0) }
    }
}

public enum PretrainedError: Error, CustomStringConvertible {
    case noSuchFile(String)
    case needArchitecture(String)
    case architectureMismatch(path: String, holds: String, asked: String)

    public var description: String {
        switch self {
        case .noSuchFile(let path): "\(path): no such weights file"
        case .needArchitecture(let weights):
            "\(weights) is not a Graft model file, so its architecture is unknown: name the architecture (see graft models)"
        case .architectureMismatch(let path, let holds, let asked):
            "\(path) holds a \(holds) model, not \(asked)"
        }
    }
}
