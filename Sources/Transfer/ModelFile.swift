import Checkpoints
import Foundation
import ImageData
import NN
import Pretrained
import Optimizers
import Torch
import Vision

/// What a fine-tuned model file says about itself, stored as JSON in the
/// safetensors header (`__metadata__["graft"]`): enough to run it with nothing else.
public struct ModelCard: Codable, Sendable, Equatable {
    public var format = 1
    public var architecture: String
    /// Class names in output order.
    public var classes: [String]
    public var preprocessing: Preprocessing
    public var headHidden: Int?
    public var headDropout: Double = 0
    /// The pretrained file the run started from, and its SHA-256.
    public var sourceWeights: String?
    public var sourceSHA256: String?
    /// The license of the pretrained weights (SPDX, e.g. `CC-BY-NC-4.0` for SWAG), when known:
    /// a fine-tuned model carries its starting weights' terms.
    public var sourceLicense: String?
    public var recipe: Recipe?
    /// A multi-label model (sigmoid per class), and its per-class decision thresholds, chosen
    /// on the validation set (nil: 0.5 each).
    public var multiLabel: Bool?
    public var thresholds: [Double]?
    /// Temperature scaling fitted on the validation set: `predict` and `eval` divide the logits
    /// by it before the softmax (nil: 1).
    public var temperature: Double?
    /// The precision the model was trained in (its saved weights are fp32 whatever it was).
    public var trainingPrecision: Precision?
    /// Final metrics by name (`val_accuracy`, `val_loss`, `best_epoch`, ...).
    public var metrics: [String: Double] = [:]
    public var graftVersion: String = GraftInfo.version
    public var libtorchVersion: String = Torch.version
    public var created: String = ISO8601DateFormatter().string(from: Date())

    public init(architecture: String, classes: [String], preprocessing: Preprocessing) {
        self.architecture = architecture
        self.classes = classes
        self.preprocessing = preprocessing
    }
}

/// Graft's own version, written into model files.
public enum GraftInfo {
    public static let version = "0.1.0"
}

public enum ModelFileError: Error, CustomStringConvertible {
    case notAGraftModel(String)
    case badCard(String, String)
    public var description: String {
        switch self {
        case .notAGraftModel(let path):
            "\(path) has no Graft model card (a plain weights file?); load it as weights for a named architecture"
        case .badCard(let path, let why): "\(path): the model card cannot be read (\(why)); the file is damaged or from a newer Graft"
        }
    }
}

/// One self-describing file: the weights as safetensors, the card in its header.
public enum ModelFile {
    static let cardKey = "graft"

    /// Writes `model` and `card` atomically (temporary file, fsync, rename).
    public static func save(_ model: ImageClassifier, card: ModelCard, to url: URL) throws {
        let json = String(decoding: try JSONEncoder.sorted.encode(card), as: UTF8.self)
        try model.saveWeights(to: url, metadata: [cardKey: json])
    }

    /// Reads the card only (cheap: the header).
    public static func card(at url: URL) throws -> ModelCard {
        guard let card = try cardIfPresent(at: url) else { throw ModelFileError.notAGraftModel(url.path) }
        return card
    }

    /// The card of a Graft model file; nil for a readable checkpoint without one (a plain
    /// `.pth` or `.safetensors` state dict). The format is judged by content, and a damaged
    /// file is an error, never taken for a plain one.
    public static func cardIfPresent(at url: URL) throws -> ModelCard? {
        try card(in: CheckpointFile.read(url), url: url)
    }

    static func card(in dict: StateDict, url: URL) throws -> ModelCard? {
        guard let json = dict.metadata[cardKey] else { return nil }
        do {
            return try JSONDecoder.graft.decode(ModelCard.self, from: Data(json.utf8))
        } catch {
            throw ModelFileError.badCard(url.path, "\(error)")
        }
    }

    /// Rebuilds the model the card describes and loads its weights strictly.
    public static func load(_ url: URL) throws -> (model: ImageClassifier, card: ModelCard) {
        let dict = try CheckpointFile.read(url)
        guard let card = try card(in: dict, url: url) else { throw ModelFileError.notAGraftModel(url.path) }
        let model = try Zoo.make(card.architecture, numClasses: card.classes.count)
        model.graftHead(numClasses: card.classes.count, hidden: card.headHidden, dropout: card.headDropout)
        try model.load(stateDict: dict.tensors(), strict: true, source: url.path)
        model.eval()
        return (model, card)
    }
}

extension ImageClassifier {
    /// Replaces the classifier for `numClasses`: one `Linear`, or a ``ClassifierHead``
    /// with dropout and an optional hidden layer (Inception's auxiliary head is reset too).
    public func graftHead(numClasses: Int, hidden: Int? = nil, dropout: Double = 0) {
        if hidden == nil && dropout == 0 {
            resetClassifier(numClasses: numClasses)
        } else {
            let features = numFeatures
            resetClassifier(numClasses: numClasses)
            replaceClassifier(with: ClassifierHead(inFeatures: features, numClasses: numClasses, hidden: hidden,
                                                   dropout: dropout))
        }
    }
}

extension JSONEncoder {
    /// Sorted keys; non-finite numbers (a diverged loss in a history) as "nan", "inf", "-inf".
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                nan: "nan")
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

extension JSONDecoder {
    /// Reads what ``JSONEncoder/sorted`` writes.
    static var graft: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                  nan: "nan")
        return d
    }
}
