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
    /// Start afresh in a run folder that already holds a model or a checkpoint (they are
    /// replaced); without it such a folder is refused unless the run resumes.
    public var overwrite = false
    public var store = WeightsStore()
    /// Run after the trainer's own (best model, early stopping), e.g. a ``TimeLimit``.
    public var callbacks: [any TrainingCallback] = []

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

    /// The training transform for the recipe's augmentation, RandomErasing last with
    /// probability `erasing` when the augmentation isn't `none`.
    public static func trainTransform(_ augment: Recipe.Augment, _ p: Preprocessing,
                                      erasing: Double? = nil) -> any ImageTransform {
        let base = trainTransform(augment, p)
        guard let erasing, erasing > 0, augment != .none else { return base }
        return Compose([base, RandomErasing(p: erasing)])
    }

    static func trainTransform(_ augment: Recipe.Augment, _ p: Preprocessing) -> any ImageTransform {
        let interpolation = p.interpolation
        switch augment {
        case .none: return p.transform
        case .light:
            return Compose([RandomResizedCrop(p.cropSize, scale: 0.35...1, interpolation: interpolation),
                            RandomHorizontalFlip(), ToFloat(), Normalize(mean: p.mean, std: p.std)])
        case .cropFlip:
            return Compose([RandomResizedCrop(p.cropSize, interpolation: interpolation), RandomHorizontalFlip(),
                            ToFloat(), Normalize(mean: p.mean, std: p.std)])
        case .randAugment:
            return Compose([RandomResizedCrop(p.cropSize, interpolation: interpolation), RandomHorizontalFlip(),
                            RandAugment(), ToFloat(), Normalize(mean: p.mean, std: p.std)])
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

    /// The model loaded and grafted, its loaders, and a trainer over them; `runDirectory`
    /// nil: a trainer that writes nothing (the learning-rate finder's).
    struct Prepared {
        var trainer: Trainer
        var loaded: LoadedModel
        var loaders: [DataLoader]
    }

    func prepare(runDirectory: URL?) throws -> Prepared {
        guard train.count > 0 else { throw TrainingError.emptyData("the training set") }
        guard train.classes.count >= 2 else { throw TrainingError.tooFewClasses(train.classes) }
        if let validation, validation.count == 0 { throw TrainingError.emptyData("the validation set") }
        let loaded = try prepareModel()
        let preprocessing = loaded.preprocessing.resized(to: recipe.imageSize)
        let evalTransform = preprocessing.transform
        let trainTransform = Self.trainTransform(recipe.augment, preprocessing, erasing: recipe.randomErasing)
        let format: MemoryFormat = recipe.channelsLast ? .channelsLast : .contiguous
        func loader(_ data: any Dataset, _ transform: any ImageTransform, shuffle: Bool = false) -> DataLoader {
            DataLoader(data, transform: transform, batchSize: recipe.batchSize, shuffle: shuffle,
                       balanced: shuffle && recipe.sampler == .balanced, seed: recipe.seed,
                       workers: workers, badFiles: badFiles, memoryFormat: format)
        }
        let trainLoader = loader(train, trainTransform, shuffle: true)
        let cacheLoader = trainTransform.isRandom ? nil : loader(train, evalTransform)
        let valLoader = validation.map { loader($0, evalTransform) }
        var card = ModelCard(architecture: loaded.architecture, classes: train.classes, preprocessing: preprocessing)
        card.sourceWeights = loaded.sourceFile?.lastPathComponent
        card.sourceSHA256 = loaded.sourceSHA256
        card.sourceLicense = loaded.catalogueEntry?.license ?? loaded.card?.sourceLicense
        let device = recipe.device
        try CUDA.requireAvailable(device)
        let trainer = Trainer(recipe: recipe, model: loaded.model, classes: train.classes, train: trainLoader,
                              validation: valLoader, cacheSource: cacheLoader, runDirectory: runDirectory, card: card,
                              device: device)
        trainer.callbacks += callbacks
        trainer.precision = try (recipe.precision ?? .auto).resolve(on: device)
        trainer.inputSize = preprocessing.cropSize
        var loaders = [trainLoader] + [cacheLoader, valLoader].compactMap { $0 }
        if let augment = recipe.fineTuneAugment, augment != recipe.augment, recipe.fineTuneEpochs > 0 {
            let fineTune = loader(train, Self.trainTransform(augment, preprocessing, erasing: recipe.randomErasing),
                                  shuffle: true)
            trainer.fineTuneTrain = fineTune
            loaders.append(fineTune)
        }
        return Prepared(trainer: trainer, loaded: loaded, loaders: loaders)
    }

    /// A file skipped by several passes (each epoch, the feature cache) is listed once.
    static func skippedFiles(_ loaders: [DataLoader]) -> [SampleError] {
        var seen = Set<String>()
        return loaders.flatMap(\.skipped).filter { seen.insert($0.source).inserted }
    }

    /// Runs (or resumes) the training into the run folder: recipe.json, checkpoint.safetensors
    /// and model.safetensors (the reports are Reports' `RunReport`, which `runWithReport` adds).
    public func run(onEvent: ((TrainingEvent) throws -> Void)? = nil, cancellation: CancellationFlag? = nil,
                    resume: Bool = false) throws -> Outcome {
        guard train.count > 0 else { throw TrainingError.emptyData("the training set") }
        guard train.classes.count >= 2 else { throw TrainingError.tooFewClasses(train.classes) }
        if let validation, validation.count == 0 { throw TrainingError.emptyData("the validation set") }
        try prepareRunDirectory(resume: resume)
        let prepared = try prepare(runDirectory: runDirectory)
        let trainer = prepared.trainer
        trainer.onEvent = onEvent
        if let cancellation { trainer.externalCancellation = cancellation }
        try writeJSON(recipe, to: runDirectory.appendingPathComponent("recipe.json"))
        let result = try trainer.fit(resume: resume)
        return Outcome(result: result, trainer: trainer, loaded: prepared.loaded, skipped: Self.skippedFiles(prepared.loaders))
    }

    /// fastai's learning-rate finder on this session's data and model, for `phase` as the
    /// recipe sets it up (`head`: its freeze, on cached features when it can; `fineTune`:
    /// everything unfrozen); writes nothing. Returns the sweep and the files skipped.
    public func findLearningRate(phase: Phase, sweep: LearningRateSweep, cancellation: CancellationFlag? = nil)
        throws -> (finding: LearningRateFinding, skipped: [SampleError])
    {
        let prepared = try prepare(runDirectory: nil)
        if let cancellation { prepared.trainer.externalCancellation = cancellation }
        let finding = try prepared.trainer.findLearningRate(phase: phase, sweep: sweep)
        return (finding, Self.skippedFiles(prepared.loaders))
    }
}

extension TrainingSession {
    /// Checks the run folder before anything is written into it: resuming needs a
    /// checkpoint whose recipe this one can continue; a fresh run refuses a folder with a
    /// model or checkpoint unless ``overwrite`` is set. Removes temporary files that a
    /// killed run left behind (their process is gone).
    func prepareRunDirectory(resume: Bool) throws {
        let files = FileManager.default
        let checkpoint = runDirectory.appendingPathComponent("checkpoint.safetensors")
        let model = runDirectory.appendingPathComponent("model.safetensors")
        if resume {
            guard files.fileExists(atPath: checkpoint.path) else { throw RunFolderError.nothingToResume(runDirectory.path) }
            let saved = try TrainingCheckpoint.read(checkpoint)
            guard recipe.canContinue(from: saved.recipe) else {
                throw CheckpointMismatch.recipe(checkpoint.path, differences: recipe.differences(from: saved.recipe))
            }
        } else if files.fileExists(atPath: model.path) || files.fileExists(atPath: checkpoint.path) {
            guard overwrite else { throw RunFolderError.holdsARun(runDirectory.path) }
            for url in [model, checkpoint] where files.fileExists(atPath: url.path) { try files.removeItem(at: url) }
        }
        if let reason = makeDirectories(runDirectory.path) { throw RunFolderError.cannotCreate(runDirectory.path, reason: reason) }
        Self.removeStaleTemporaries(in: runDirectory)
    }

    /// Atomic writes go through `.NAME.PID.RANDOM.tmp`; one whose process no longer runs
    /// was cut off by a kill and is removed.
    static func removeStaleTemporaries(in directory: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            let parts = name.split(separator: ".")
            guard parts.count >= 4, let pid = Int32(parts[parts.count - 3]) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            }
        }
    }
}

/// A run folder that can't be used as asked.
public enum RunFolderError: Error, CustomStringConvertible, Equatable {
    case nothingToResume(String)
    case holdsARun(String)
    case cannotCreate(String, reason: String)
    case cannotWrite(String, reason: String)

    public var description: String {
        switch self {
        case .nothingToResume(let path): "\(path) has no checkpoint.safetensors to resume from"
        case .holdsARun(let path): "\(path) already holds a run (model.safetensors or checkpoint.safetensors)"
        case .cannotCreate(let path, let reason): "cannot create the run folder \(path): \(reason)"
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}

func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
    let encoder = JSONEncoder.sorted
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
        try encoder.encode(value).write(to: url, options: .atomic)
    } catch let error as EncodingError {
        throw error
    } catch {
        throw RunFolderError.cannotWrite(url.path, reason: describeIOError(error))
    }
}

/// `mkdir -p` with POSIX calls, so a failure has its errno: nil on success, else the cause
/// ("Not a directory", "Read-only file system", "No space left on device").
func makeDirectories(_ path: String) -> String? {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        current += "/" + component
        var info = stat()
        if stat(current, &info) == 0 {
            if info.st_mode & S_IFMT != S_IFDIR { return "\(current) is not a folder" }
            continue
        }
        if mkdir(current, 0o777) != 0 && errno != EEXIST { return "\(current): " + String(cString: strerror(errno)) }
    }
    return nil
}

/// The cause of a file-system error in a few words ("No space left on device", "Read-only
/// file system"), from the POSIX error under Foundation's, instead of its whole dump.
public func describeIOError(_ error: any Error) -> String {
    let ns = error as NSError
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    return ns.localizedFailureReason ?? ns.localizedDescription
}

