import ArgumentParser
import Foundation
import ImageData
import Torch
import Transfer
import Vision

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a pretrained network on a folder of labeled images.",
        discussion: """
            TRAIN_DIR holds one sub-folder per class (as torchvision's ImageFolder), or is a CSV
            file of path,label lines. The run folder gets model.safetensors (the best model,
            self-describing), checkpoint.safetensors (to --resume), metrics.csv, curves.png,
            confusion.png and report.html. Ctrl-C stops after the current batch; --resume continues.

            Examples:
              graft train data/train --val data/val --model resnet18 --epochs 5 --out runs/r18
              graft train photos --val-split 0.2 --model efficientnet_lite0 --freeze backbone \\
                  --epochs 10 --fine-tune-epochs 5 --augment light --out runs/lite0
              graft train photos --val-split 0.2 --model resnet50 --weights none --freeze none --out runs/scratch
            """
    )

    @Argument(help: "Training images: a folder with one sub-folder per class, or a CSV of path,label.")
    var trainData: String
    @Option(help: "Validation images, organised like TRAIN_DIR.") var val: String?
    @Option(help: "Hold out this fraction of TRAIN_DIR for validation (stratified) when --val is not given.")
    var valSplit: Double?
    @Option(help: "Architecture (see graft models).") var model: String = "efficientnet_lite0"
    @Option(help: "imagenet, a weights file, or none.") var weights: String = "imagenet"
    @Option(help: "backbone, none, or a layer name (everything up to it stays frozen).") var freeze: String = "backbone"
    @Option(help: "BatchNorm in the frozen part: frozen, train, affine-only.") var batchNorm: String = "frozen"
    @Option(help: "Epochs of the first phase.") var epochs: Int = 5
    @Option(help: "Epochs with everything unfrozen after the first phase.") var fineTuneEpochs: Int = 0
    @Option(help: "Learning rate (the head's; the trunk gets 0.1× in fine-tuning).") var lr: Double?
    @Option(help: "sgd, adam or adamw.") var optimizer: String = "sgd"
    @Option(help: "constant, step, cosine, onecycle or plateau.") var schedule: String = "constant"
    @Option(help: "Weight decay (not on biases and normalisation weights).") var weightDecay: Double = 0
    @Option(help: "Label smoothing for the cross-entropy.") var labelSmoothing: Double = 0
    @Option(help: "Batch size.") var batchSize: Int = 32
    @Option(help: "Square input size (default: the weights' own).") var imageSize: Int?
    @Option(help: "none, light or trivial.") var augment: String = "none"
    @Option(help: "auto (when the trunk is frozen and nothing is random) or off.") var cacheFeatures: String = "auto"
    @Option(help: "none, or auto (inverse class frequency).") var classWeights: String = "none"
    @Option(help: "A hidden layer of this width in the new head.") var headHidden: Int?
    @Option(help: "Dropout before the new head's layers.") var headDropout: Double = 0
    @Option(help: "Stop after this many epochs without improvement.") var earlyStopping: Int?
    @Option(help: "Clip the gradient norm to this value.") var clipGrad: Double?
    @Flag(help: "Skip unreadable images (and list them in the report) instead of failing.") var skipBadFiles = false
    @Option(help: "Random seed: one seed fixes the whole run.") var seed: UInt64 = 0
    @Option(help: "cpu or cuda[:N].") var device: String = "cpu"
    @Option(help: "libtorch threads (default: all cores).") var threads: Int?
    @Option(help: "Decoding threads.") var workers: Int?
    @Flag(help: "Continue the run in --out from its last checkpoint.") var resume = false
    @Option(help: "The run folder.") var out: String
    @Flag(help: "End with one JSON object (model_path, best_epoch, val_accuracy, epochs, seconds).") var json = false

    func validate() throws {
        if val != nil && valSplit != nil { throw ValidationError("give --val or --val-split, not both") }
        if let s = valSplit, !(0 < s && s < 1) { throw ValidationError("--val-split must be between 0 and 1, got \(s)") }
        if epochs < 0 || fineTuneEpochs < 0 || epochs + fineTuneEpochs == 0 {
            throw ValidationError("--epochs and --fine-tune-epochs must be ≥ 0, and not both 0")
        }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if Zoo.entry(model) == nil { throw ValidationError("\(ZooError.unknownModel(model))") }
        for (flag, value, allowed) in [("--optimizer", optimizer, Recipe.OptimizerKind.allCases.map(\.rawValue)),
                                       ("--schedule", schedule, Recipe.ScheduleKind.allCases.map(\.rawValue)),
                                       ("--augment", augment, Recipe.Augment.allCases.map(\.rawValue)),
                                       ("--cache-features", cacheFeatures, Recipe.CacheMode.allCases.map(\.rawValue)),
                                       ("--class-weights", classWeights, Recipe.ClassWeights.allCases.map(\.rawValue)),
                                       ("--batch-norm", batchNorm, BatchNormPolicy.allCases.map(\.rawValue))]
        where !allowed.contains(value) {
            throw ValidationError("\(flag) must be one of \(allowed.joined(separator: ", ")), got \(value)")
        }
        if Device(device) == nil { throw ValidationError("--device must be cpu, cuda or cuda:N, got \(device)") }
    }

    func recipe() -> Recipe {
        var r = Recipe(model: model)
        r.weights = weights
        r.freeze = FreezeSpec(freeze)
        r.batchNorm = BatchNormPolicy(rawValue: batchNorm)!
        r.epochs = epochs
        r.fineTuneEpochs = fineTuneEpochs
        r.optimizer = Recipe.OptimizerKind(rawValue: optimizer)!
        r.learningRate = lr ?? (r.optimizer == .sgd ? 1e-3 : 3e-4)
        r.schedule = Recipe.ScheduleKind(rawValue: schedule)!
        r.weightDecay = weightDecay
        r.labelSmoothing = labelSmoothing
        r.batchSize = batchSize
        r.imageSize = imageSize
        r.augment = Recipe.Augment(rawValue: augment)!
        r.cacheFeatures = Recipe.CacheMode(rawValue: cacheFeatures)!
        r.classWeights = Recipe.ClassWeights(rawValue: classWeights)!
        r.headHidden = headHidden
        r.headDropout = headDropout
        r.earlyStoppingPatience = earlyStopping
        r.gradientClip = clipGrad
        r.seed = seed
        r.device = device
        return r
    }

    func run() throws {
        if let threads { Torch.numThreads = threads }
        let progress = ProgressReporter()
        var train = try openDataset(trainData)
        var validation: (any Dataset)?
        if let val {
            validation = try openDataset(val, classes: train.classes)
        } else if let valSplit {
            let parts = train.split(validationFraction: valSplit, seed: seed)
            (train, validation) = (parts.train, parts.validation)
        }
        let recipe = recipe()
        var session = TrainingSession(recipe: recipe, train: train, validation: validation,
                                      runDirectory: URL(fileURLWithPath: out))
        if let workers { session.workers = workers }
        session.badFiles = skipBadFiles ? .skip : .fail
        progress.totalEpochs = String(recipe.totalEpochs)
        progress.line("training \(model) on \(train.count) images, \(train.classes.count) classes"
                      + (validation.map { ", validating on \($0.count)" } ?? ""))
        let interrupt = InterruptHandler()
        let outcome: (result: TrainingResult, trainer: Trainer, loaded: LoadedModel)
        do {
            outcome = try session.run(onEvent: { progress.handle($0) }, cancellation: interrupt.flag, resume: resume)
        } catch is CancellationError {
            progress.line("interrupted: the last finished epoch is saved in \(out)/checkpoint.safetensors; "
                          + "continue with the same command and --resume")
            throw ExitCode(130)
        }
        let r = outcome.result
        if json {
            var object: [String: Any] = ["model_path": r.modelPath?.path ?? "", "epochs": r.epochsRun,
                                         "seconds": (r.seconds * 100).rounded() / 100]
            object["best_epoch"] = r.bestEpoch.map { $0 + 1 } ?? NSNull()
            object["val_accuracy"] = r.bestValAccuracy ?? NSNull()
            object["val_loss"] = r.bestValLoss ?? NSNull()
            print(try jsonLine(object))
        } else {
            let accuracy = r.bestValAccuracy.map { String(format: "%.4f", $0) } ?? "n/a (no validation set)"
            print("best epoch \(r.bestEpoch.map { String($0 + 1) } ?? "-"): validation accuracy \(accuracy); "
                  + String(format: "%.1f s; ", r.seconds) + "model: \(r.modelPath?.path ?? "-"), report: \(out)/report.html")
        }
    }
}

/// A folder (ImageFolder) or a CSV file of path,label.
func openDataset(_ path: String, classes: [String]? = nil) throws -> any Dataset {
    let url = URL(fileURLWithPath: path)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw ValidationError("\(path): no such file or folder")
    }
    if isDirectory.boolValue { return try ImageFolder(root: url, classes: classes) }
    if url.pathExtension.lowercased() == "csv" { return try CSVDataset(csv: url, classes: classes) }
    throw ValidationError("\(path): expected a folder with one sub-folder per class, or a .csv file of path,label")
}
