import Foundation
import ImageData
import NN
import Torch
import Vision

/// One fine-tuning run from datasets to a run folder: the model from the zoo and
/// its weights, a new head for the dataset's classes, transforms built from the
/// weights' preprocessing, loaders, the trainer, and the reports.
public struct TrainingSession {
    public var recipe: Recipe
    public var train: any Dataset
    public var validation: (any Dataset)?
    public var runDirectory: URL
    /// Decoding threads per loader.
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    public var badFiles: BadFilePolicy = .fail
    public var store = WeightsStore()

    public init(recipe: Recipe, train: any Dataset, validation: (any Dataset)?, runDirectory: URL) {
        self.recipe = recipe
        self.train = train
        self.validation = validation
        self.runDirectory = runDirectory
    }

    /// The model, loaded and grafted for the training set's classes.
    public func prepareModel() throws -> LoadedModel {
        Torch.manualSeed(recipe.seed)
        var loaded = try LoadedModel.load(architecture: recipe.model, weights: recipe.weights, store: store)
        loaded.model.graftHead(numClasses: train.classes.count, hidden: recipe.headHidden, dropout: recipe.headDropout)
        loaded.classes = train.classes
        return loaded
    }

    /// The evaluation preprocessing at the recipe's image size (the weights' own by default),
    /// keeping the weights' resize-to-crop ratio, interpolation and normalisation.
    public static func evalPreprocessing(_ weights: Preprocessing, imageSize: Int?) -> Preprocessing {
        guard let size = imageSize, size != weights.cropSize else { return weights }
        var p = weights
        p.cropSize = size
        p.resizeSize = Int((Double(size) * Double(weights.resizeSize) / Double(weights.cropSize)).rounded())
        return p
    }

    /// The training transform for the recipe's augmentation.
    public static func trainTransform(_ augment: Recipe.Augment, _ p: Preprocessing) -> any ImageTransform {
        let eval = EvalPreprocessing(p)
        let interpolation = Interpolation(rawValue: p.interpolation) ?? .bilinear
        switch augment {
        case .none: return eval.transform
        case .light:
            return Compose([RandomResizedCrop(p.cropSize, scale: 0.35...1, interpolation: interpolation),
                            RandomHorizontalFlip(), ToFloat(), Normalize(mean: p.mean, std: p.std)])
        case .trivial:
            return Compose([RandomResizedCrop(p.cropSize, interpolation: interpolation), RandomHorizontalFlip(),
                            TrivialAugmentWide(), ToFloat(), Normalize(mean: p.mean, std: p.std)])
        }
    }

    /// Runs (or resumes) the training and writes the run folder.
    public func run(onEvent: ((TrainingEvent) throws -> Void)? = nil, cancellation: CancellationFlag? = nil,
                    resume: Bool = false) throws -> (result: TrainingResult, trainer: Trainer, loaded: LoadedModel) {
        guard train.count > 0 else { throw TrainingError.emptyData("the training set") }
        try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        let loaded = try prepareModel()
        let preprocessing = Self.evalPreprocessing(loaded.preprocessing, imageSize: recipe.imageSize)
        let evalTransform = EvalPreprocessing(preprocessing).transform
        let trainTransform = Self.trainTransform(recipe.augment, preprocessing)
        let format: MemoryFormat = recipe.channelsLast ? .channelsLast : .contiguous
        func loader(_ data: any Dataset, _ transform: any ImageTransform, shuffle: Bool = false) -> DataLoader {
            DataLoader(data, transform: transform, batchSize: recipe.batchSize, shuffle: shuffle, seed: recipe.seed,
                       workers: workers, badFiles: badFiles, memoryFormat: format)
        }
        let trainLoader = loader(train, trainTransform, shuffle: true)
        let cacheLoader = trainTransform.isRandom ? nil : loader(train, evalTransform)
        let valLoader = validation.map { loader($0, evalTransform) }
        var card = ModelCard(architecture: loaded.architecture, classes: train.classes, preprocessing: preprocessing)
        card.sourceWeights = loaded.sourceFile?.lastPathComponent
        card.sourceSHA256 = loaded.sourceSHA256
        let device = Device(recipe.device) ?? .cpu
        try CUDA.requireAvailable(device)
        let trainer = Trainer(recipe: recipe, model: loaded.model, classes: train.classes, train: trainLoader,
                              validation: valLoader, cacheSource: cacheLoader, runDirectory: runDirectory, card: card,
                              device: device)
        trainer.onEvent = onEvent
        if let augment = recipe.fineTuneAugment, augment != recipe.augment, recipe.fineTuneEpochs > 0 {
            trainer.fineTuneTrain = loader(train, Self.trainTransform(augment, preprocessing), shuffle: true)
        }
        if let cancellation { trainer.externalCancellation = cancellation }
        try writeJSON(recipe, to: runDirectory.appendingPathComponent("recipe.json"))
        let result = try trainer.fit(resume: resume)
        try RunReport(trainer: trainer, result: result, trainSet: train, validationSet: validation,
                      skipped: trainLoader.skipped + (valLoader?.skipped ?? [])).write(to: runDirectory)
        return (result, trainer, loaded)
    }
}

func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(value).write(to: url, options: .atomic)
}

/// Evaluates a model on a dataset with its evaluation preprocessing.
public func evaluate(_ model: ImageClassifier, on dataset: any Dataset, classes: [String], preprocessing: Preprocessing,
                     batchSize: Int = 64, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                     device: Device = .cpu, onBatch: ((Int, Int) -> Void)? = nil) throws
    -> (metrics: ClassificationMetrics, predictions: [(index: Int, predicted: Int, confidence: Double)])
{
    let loader = DataLoader(dataset, transform: EvalPreprocessing(preprocessing).transform, batchSize: batchSize,
                            workers: workers, memoryFormat: .channelsLast)
    var metrics = ClassificationMetrics(classes: classes)
    var predictions: [(Int, Int, Double)] = []
    model.eval()
    model.to(device)
    model.to(memoryFormat: .channelsLast)
    var done = 0
    try Torch.inferenceMode {
        try loader.forEachBatch(epoch: 0) { batch in
            let y = batch.labels.to(device)
            let logits = model(batch.images.to(device))
            metrics.update(logits: logits, labels: y,
                           lossSum: Functional.crossEntropy(logits, y, reduction: .sum).double)
            let probabilities = logits.softmax(dim: 1).max(dim: 1)
            let p = probabilities.values.toArray(Double.self), k = probabilities.indices.toArray(Int.self)
            for (i, index) in batch.indices.enumerated() { predictions.append((index, k[i], p[i])) }
            done += batch.indices.count
            onBatch?(done, dataset.count)
        }
    }
    return (metrics, predictions)
}
