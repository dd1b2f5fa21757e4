import Foundation
import ImageData
import NN
import Pretrained
import Optimizers
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
        try Torch.withManualSeed(recipe.seed) {
            var loaded = try LoadedModel.load(architecture: recipe.model, weights: recipe.weights, store: store)
            loaded.model.graftHead(numClasses: train.classes.count, hidden: recipe.headHidden, dropout: recipe.headDropout)
            loaded.classes = train.classes
            return loaded
        }
    }

    /// The training transform for the recipe's augmentation.
    public static func trainTransform(_ augment: Recipe.Augment, _ p: Preprocessing) -> any ImageTransform {
        let interpolation = p.interpolation
        switch augment {
        case .none: return p.transform
        case .light:
            return Compose([RandomResizedCrop(p.cropSize, scale: 0.35...1, interpolation: interpolation),
                            RandomHorizontalFlip(), ToFloat(), Normalize(mean: p.mean, std: p.std)])
        case .trivial:
            return Compose([RandomResizedCrop(p.cropSize, interpolation: interpolation), RandomHorizontalFlip(),
                            TrivialAugmentWide(), ToFloat(), Normalize(mean: p.mean, std: p.std)])
        }
    }

    /// What a session's run produced: the trainer's result, the trainer (its history and
    /// validation metrics), the model as loaded, and the files the loaders skipped.
    public struct Outcome {
        public var result: TrainingResult
        public var trainer: Trainer
        public var loaded: LoadedModel
        public var skipped: [SampleError]
    }

    /// Runs (or resumes) the training into the run folder: recipe.json, checkpoint.safetensors
    /// and model.safetensors (the reports are Reports' `RunReport`, which `runWithReport` adds).
    public func run(onEvent: ((TrainingEvent) throws -> Void)? = nil, cancellation: CancellationFlag? = nil,
                    resume: Bool = false) throws -> Outcome {
        guard train.count > 0 else { throw TrainingError.emptyData("the training set") }
        try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        let loaded = try prepareModel()
        let preprocessing = loaded.preprocessing.resized(to: recipe.imageSize)
        let evalTransform = preprocessing.transform
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
        let device = recipe.device
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
        return Outcome(result: result, trainer: trainer, loaded: loaded,
                       skipped: trainLoader.skipped + (valLoader?.skipped ?? []))
    }
}

func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(value).write(to: url, options: .atomic)
}

