import ArgumentParser
import Foundation
import Graft

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a pretrained network on a folder of labeled images.",
        discussion: """
            TRAIN_DIR holds one sub-folder per class (as torchvision's ImageFolder), or is a CSV \
            file of path,label lines. The run folder gets model.safetensors (the best model, \
            self-describing), checkpoint.safetensors (to --resume), metrics.csv, curves.png, \
            confusion.png and report.html. Ctrl-C stops after the current batch; --resume continues.

            The default recipe (--recipe auto) fits the head to convergence on cached features \
            (a tuned linear probe), then, when there is a validation set, fine-tunes the whole \
            network while validation improves; the best epoch of either phase is kept.

            Examples:
              graft train data/train --val data/val --out runs/lite0
              graft train data/train --val data/val --model resnet18 --recipe classic --out runs/r18
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
    @Option(help: "Architecture (see graft models; default: the --weights model file's, else efficientnet_lite0).")
    var model: String?
    @Option(help: "imagenet (the catalogue's default weights), a catalogue tag (IMAGENET1K_V1, IMAGENET1K_SWAG_E2E_V1; see graft models), a weights file, or none (random initialisation).")
    var weights: WeightsSource = .pretrained
    @Option(name: .customLong("recipe"), help: """
        The starting recipe: auto (the head fitted to convergence, then, with a validation set, the \
        whole network fine-tuned while it helps), classic (5 SGD epochs of the head), or tutorial \
        (PyTorch's transfer-learning tutorial: 25 SGD epochs, StepLR 7, batches of 4, model.train()). \
        Every flag below overrides it.
        """)
    var preset: Recipe.Preset = .auto
    @Option(help: "backbone, none, or a layer name (everything up to it stays frozen).")
    var freeze: FreezeSpec?
    @Option(help: "BatchNorm in the frozen part.") var batchNorm: BatchNormPolicy?
    @Option(help: "Epochs of the first phase (auto: 1, the converged fit; classic 5; tutorial 25).") var epochs: Int?
    @Option(help: "How the head phase fits the head on cached features: epochs (the optimizer over mini-batches) or converged (logistic regression to convergence by L-BFGS, its L2 by stratified 5-fold cross-validation; one step).")
    var headFit: Recipe.HeadFit?
    @Option(help: "Epochs with everything unfrozen after the first phase (auto: 10 with a validation set, early-stopped).")
    var fineTuneEpochs: Int?
    @Option(help: "Learning rate (the head's; the recipe's, or 1e-3 for sgd, 3e-4 for adam and adamw when --optimizer is given), or auto: fastai's learning-rate finder at the start of each phase the optimizer trains, its valley suggestion taken (see graft lr-find).")
    var lr: LearningRateArgument?
    @Option(help: "Optimizer.") var optimizer: Recipe.OptimizerKind?
    @Option(help: "SGD momentum.") var momentum: Double?
    @Option(help: "Learning-rate schedule (per phase).") var schedule: Recipe.ScheduleKind?
    @Option(help: "Linear warm-up epochs before the cosine schedule.") var warmupEpochs: Int?
    @Option(help: "Weight decay (not on biases and normalisation weights).") var weightDecay: Double?
    @Option(help: "Label smoothing for the cross-entropy.") var labelSmoothing: Double?
    @Option(help: "Batch size.") var batchSize: Int?
    @Option(help: "Square input size (default: the weights' own).") var imageSize: Int?
    @Option(help: "Augmentation.") var augment: Recipe.Augment?
    @Option(help: "Gradual unfreezing: in the fine-tuning phase the trunk's stages thaw from the top, one more every this many epochs (fastai's freeze_to steps).")
    var unfreezeSchedule: Int?
    @Option(help: "Layer-wise learning-rate decay for ConvNeXt, ViT and Swin (timm's; e.g. 0.75): each layer below the head trains at this factor of the one above, in place of --trunk-lr-factor.")
    var layerDecay: Double?
    @Option(help: "MixUp on each training batch with this Beta α (torchvision's v2.MixUp; e.g. 0.2).") var mixup: Double?
    @Option(help: "CutMix on each training batch with this Beta α (torchvision's v2.CutMix; e.g. 1.0); with --mixup, one of the two per batch.")
    var cutmix: Double?
    @Option(help: "RandomErasing after normalisation with this probability (torchvision's; with --augment or --fine-tune-augment).")
    var randomErasing: Double?
    @Option(help: "Augmentation once everything is unfrozen (default: as --augment).")
    var fineTuneAugment: Recipe.Augment?
    @Option(help: "The trunk's learning rate relative to the head's in the fine-tuning phase.")
    var trunkLrFactor: Double?
    @Option(help: "BatchNorm once everything is unfrozen (train: batch statistics; frozen: running statistics kept).")
    var fineTuneBatchNorm: BatchNormPolicy?
    @Option(help: "Set every BatchNorm layer's momentum (default: the architecture's).") var batchNormMomentum: Double?
    @Option(help: "Cache the trunk's features: auto (when the trunk is frozen and nothing is random) or off.")
    var cacheFeatures: Recipe.CacheMode?
    @Option(help: "Class weights in the loss: none, or auto (inverse class frequency).")
    var classWeights: Recipe.ClassWeights?
    @Option(help: "shuffle (a permutation each epoch) or balanced (draws with replacement, every class equally likely).")
    var sampler: Recipe.Sampler?
    @Option(help: "A hidden layer of this width in the new head.") var headHidden: Int?
    @Option(help: "Dropout before the new head's layers.") var headDropout: Double?
    @Option(help: "Which epoch's model is kept as best (default val_accuracy; val_map for --multi-label).") var bestMetric: Recipe.BestMetric?
    @Flag(help: "Multi-label classification: TRAIN_DIR (and --val) is a CSV whose label field holds any number of classes; BCE-with-logits, mAP and F1, per-class thresholds chosen on the validation set.")
    var multiLabel = false
    @Option(help: "What separates the labels of a --multi-label CSV's label field.") var labelDelimiter: String = " "
    @Option(help: "Stop after this many epochs without improvement (0: never; auto: 2).") var earlyStopping: Int?
    @Option(help: "Clip the gradient norm to this value.") var clipGrad: Double?
    @Option(help: "Accumulate the gradients of this many batches per optimizer step (one batch of them all).")
    var accumulate: Int?
    @Option(help: "Keep an exponential moving average of the weights with this decay (timm's ModelEmaV3, e.g. 0.999); validation and the saved model use it.")
    var ema: Double?
    @Flag(help: "Warm the moving average up as timm does (decay 1 − (1 + step)^(−2/3) until it reaches --ema).")
    var emaWarmup = false
    @Flag(inversion: .prefixedNo, help: "Fit temperature scaling on the validation set at the end (the default recipe does, with a validation set); predict and eval use the temperature.")
    var calibrate: Bool?
    @Flag(inversion: .prefixedNo, help: "Channels-last memory format on the CPU (faster convolutions).")
    var channelsLast = true
    @Flag(help: "Skip unreadable images (and list them in the report) instead of failing.") var skipBadFiles = false
    @Option(help: "Random seed: one seed fixes the whole run.") var seed: UInt64 = 0
    @OptionGroup(title: "Runtime") var runtime: RuntimeOptions
    @Flag(help: "Continue the run in --out from its last checkpoint (more --epochs extend a constant or plateau schedule).")
    var resume = false
    @Flag(help: "Replace the run in --out (its model and checkpoint) instead of refusing.") var overwrite = false
    @Option(help: "The run folder.") var out: String
    @Flag(help: "End with one JSON object (model_path, best_epoch, val_accuracy, epochs, seconds).") var json = false

    /// Every value checked before any data is read; a bad one exits 64 naming its flag.
    func validate() throws {
        try requireExists(trainData, "TRAIN_DIR")
        if let val { try requireExists(val, "--val") }
        if val != nil && valSplit != nil { throw ValidationError("give --val or --val-split, not both") }
        try check("--val-split", valSplit, in: 0...1, open: true)
        if let model, Zoo.entry(model) == nil { throw ValidationError("--model: \(ZooError.unknownModel(model))") }
        let card = try weightsCard()
        if let model, let card, card.architecture != model {
            throw ValidationError("--model \(model): \(weights) holds a \(card.architecture) model; "
                                  + "drop --model or pick the matching one")
        }
        let model = model ?? card?.architecture ?? Self.defaultModel
        try check("--epochs", epochs, in: 0...100_000)
        try check("--fine-tune-epochs", fineTuneEpochs, in: 0...100_000)
        let r = try recipe()
        if r.epochs + r.fineTuneEpochs == 0 { throw ValidationError("--epochs and --fine-tune-epochs can't both be 0") }
        if case .value(let value) = lr { try check("--lr", value, in: 0...10, open: true) }
        try check("--momentum", momentum, in: 0...0.9999)
        try check("--warmup-epochs", warmupEpochs, in: 0...max(0, r.epochs - 1))
        try check("--weight-decay", weightDecay, in: 0...10)
        try check("--label-smoothing", labelSmoothing, in: 0...0.9999)
        try check("--batch-size", batchSize, in: 1...65_536)
        try check("--trunk-lr-factor", trunkLrFactor, in: 0...10, open: true)
        try check("--batch-norm-momentum", batchNormMomentum, in: 0...1)
        try check("--head-hidden", headHidden, in: 1...1_000_000)
        try check("--head-dropout", headDropout, in: 0...0.9999)
        try check("--early-stopping", earlyStopping, in: 0...100_000)
        try check("--clip-grad", clipGrad, in: 0...1e9, open: true)
        try check("--accumulate", accumulate, in: 1...4096)
        try check("--random-erasing", randomErasing, in: 0...1)
        try check("--unfreeze-schedule", unfreezeSchedule, in: 1...100_000)
        if unfreezeSchedule != nil && r.fineTuneEpochs == 0 {
            throw ValidationError("--unfreeze-schedule thaws the trunk during fine-tuning: add --fine-tune-epochs (or a validation set under --recipe auto)")
        }
        try check("--layer-decay", layerDecay, in: 0...1)
        if layerDecay == 0 { throw ValidationError("--layer-decay must be above 0 (1: no decay), got 0.0") }
        try check("--mixup", mixup, in: 0...100, open: true)
        try check("--cutmix", cutmix, in: 0...100, open: true)
        if (mixup != nil || cutmix != nil) && classWeights == .auto {
            throw ValidationError("--mixup/--cutmix mix the labels: drop --class-weights auto (or use --sampler balanced)")
        }
        try check("--ema", ema, in: 0...1, open: true)
        if emaWarmup && ema == nil { throw ValidationError("--ema-warmup needs --ema DECAY") }
        if let problem = r.multiLabelProblem { throw ValidationError("--multi-label: \(problem)") }
        if !multiLabel && bestMetric == .valMAP { throw ValidationError("--best-metric val_map is for --multi-label runs") }
        if calibrate == true && val == nil && valSplit == nil {
            throw ValidationError("--calibrate fits the temperature on the validation set: add --val or --val-split")
        }
        // A head on cached features never runs the trunk (nor its auxiliary classifiers) in training mode.
        try checkImageSize(imageSize, model: model, training: !r.trainsOnlyTheHeadOnCachedFeatures)
        if out.isEmpty { throw ValidationError("--out must name a folder") }
        if let problem = r.convergedHeadProblem { throw ValidationError("--head-fit converged: \(problem)") }
        if (randomErasing ?? 0) > 0 && r.augment == .none && ((r.fineTuneAugment ?? .none) == .none || r.fineTuneEpochs == 0) {
            throw ValidationError("--random-erasing applies where the recipe augments: add --augment or --fine-tune-augment")
        }
        if weights == .none && r.freeze == .backbone {
            throw ValidationError("--weights none with --freeze backbone would train a head on a random, frozen trunk; "
                                  + "add --freeze none to train everything from scratch")
        }
        if resume && overwrite { throw ValidationError("give --resume or --overwrite, not both") }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isFolder), !isFolder.boolValue {
            throw ValidationError("--out \(out) is a file: give a folder")
        }
        try checkWeightsTag(weights, model: model)
        if case .file(let path) = weights, !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("--weights \(path): no such file; give imagenet, none, or a weights file")
        }
        if case .upTo = r.freeze {
            // The layer names are the architecture's: build it (no weights needed) and check.
            let probe = try Torch.withManualSeed(0) { try Zoo.make(model) }
            do { try probe.validate(r.freeze) } catch { throw ValidationError("--freeze \(r.freeze): \(error)") }
        }
    }

    static let defaultModel = "efficientnet_lite0"



    /// The card of a Graft model file given as `--weights`, nil for anything else.
    func weightsCard() throws -> ModelCard? {
        guard case .file(let path) = weights, FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try ModelFile.cardIfPresent(at: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("--weights \(path): \(error)")
        }
    }

    /// `--model`, else the architecture of a Graft model file given as `--weights`, else
    /// efficientnet_lite0.
    func architecture() throws -> String {
        if let model { return model }
        return try weightsCard()?.architecture ?? Self.defaultModel
    }

    /// The preset, then every flag given on top of it. Under `auto`, flags the converged head
    /// fit can't serve (head-phase augmentation, a hidden layer, --epochs N > 1, ...) make the
    /// head train by epochs instead, unless --head-fit converged asks for it outright.
    func recipe() throws -> Recipe {
        var r = Recipe.preset(preset, model: try architecture(), validated: val != nil || valSplit != nil)
        r.weights = weights
        if let freeze { r.freeze = freeze }
        if let batchNorm { r.batchNorm = batchNorm }
        if let fineTuneBatchNorm { r.fineTuneBatchNorm = fineTuneBatchNorm }
        if let fineTuneEpochs {
            r.fineTuneEpochs = fineTuneEpochs
        } else if r.freeze == .none {
            r.fineTuneEpochs = 0  // the first phase already trains everything
        }
        if let optimizer {
            if optimizer != r.optimizer && lr == nil { r.learningRate = optimizer == .sgd ? 1e-3 : 3e-4 }
            r.optimizer = optimizer
        }
        switch lr {
        case .value(let value): r.learningRate = value
        case .auto: r.learningRateSweep = LearningRateSweep()
        case nil: break
        }
        if let trunkLrFactor { r.trunkLearningRateFactor = trunkLrFactor }
        if let momentum { r.momentum = momentum }
        if let schedule { r.schedule = schedule }
        if let warmupEpochs { r.warmupEpochs = warmupEpochs }
        if let weightDecay { r.weightDecay = weightDecay }
        if let labelSmoothing { r.labelSmoothing = labelSmoothing }
        if let batchSize { r.batchSize = batchSize }
        r.imageSize = imageSize
        if let augment { r.augment = augment }
        if let fineTuneAugment { r.fineTuneAugment = fineTuneAugment }
        r.randomErasing = randomErasing
        r.unfreezeEvery = unfreezeSchedule
        r.layerDecay = layerDecay
        r.mixup = mixup
        r.cutmix = cutmix
        r.batchNormMomentum = batchNormMomentum
        if let cacheFeatures { r.cacheFeatures = cacheFeatures }
        if let classWeights { r.classWeights = classWeights }
        if let sampler { r.sampler = sampler == .shuffle ? nil : sampler }
        r.headHidden = headHidden
        if let headDropout { r.headDropout = headDropout }
        if let bestMetric { r.bestMetric = bestMetric }
        if let earlyStopping { r.earlyStoppingPatience = earlyStopping == 0 ? nil : earlyStopping }
        r.gradientClip = clipGrad
        if let accumulate, accumulate > 1 { r.accumulate = accumulate }
        r.ema = ema
        if let calibrate { r.calibrate = calibrate ? true : nil }
        if multiLabel {
            r.multiLabel = true
            if calibrate == nil { r.calibrate = nil }  // a multi-label model gets thresholds, not a temperature
            if bestMetric == nil { r.bestMetric = .valMAP }
        }
        r.emaWarmup = emaWarmup ? true : nil
        r.channelsLast = channelsLast
        r.seed = seed
        r.device = runtime.device
        r.precision = runtime.precision.recipeValue
        if let headFit {
            r.headFit = headFit == .epochs ? nil : headFit
        } else if r.headFit == .converged && ((epochs ?? 1) != 1 || r.convergedHeadProblem != nil) {
            r.headFit = nil  // flags the one-step fit can't serve: the head trains by epochs
        }
        // A head trained by epochs where the preset meant one converged step gets classic's 5.
        r.epochs = epochs ?? (r.resolvedHeadFit == .converged ? 1 : (preset == .auto ? 5 : r.epochs))
        return r
    }

    func run() throws {
        try runtime.apply()
        let precision = try runtime.resolvedPrecision()  // refused before any data is read when the device can't run it
        let progress = ProgressReporter()
        let delimiter = multiLabel ? labelDelimiter : nil
        var train = try openDataset(trainData, labelDelimiter: delimiter)
        var validation: (any Dataset)?
        if let val {
            validation = try openDataset(val, classes: train.classes, labelDelimiter: delimiter)
        } else if let valSplit {
            let parts = train.split(validationFraction: valSplit, seed: seed)
            (train, validation) = (parts.train, parts.validation)
        }
        let recipe = try recipe()
        var session = TrainingSession(recipe: recipe, train: train, validation: validation,
                                      runDirectory: URL(fileURLWithPath: out))
        session.workers = runtime.workerCount
        session.overwrite = overwrite
        session.badFiles = skipBadFiles ? .skip : .fail
        progress.totalEpochs = String(recipe.totalEpochs)
        progress.classNames = train.classes
        progress.line("training \(recipe.model) on \(train.count) images, \(train.classes.count) classes"
                      + (validation.map { ", validating on \($0.count)" } ?? ""))
        progress.line("precision \(precision)")
        if let warning = licenseWarning(model: recipe.model, weights: recipe.weights) { progress.line(warning) }
        let interrupt = InterruptHandler()
        let outcome: TrainingSession.Outcome
        do {
            outcome = try session.runWithReport(onEvent: { progress.handle($0) }, cancellation: interrupt.flag, resume: resume)
        } catch is CancellationError {
            if FileManager.default.fileExists(atPath: out + "/checkpoint.safetensors") {
                progress.line("interrupted: the last finished epoch is saved in \(out)/checkpoint.safetensors; "
                              + "continue with the same command and --resume")
            } else {
                progress.line("interrupted before the first epoch ended: nothing was saved")
            }
            throw ExitCode(130)
        }
        let r = outcome.result
        if json {
            var object: [String: Any] = ["model_path": r.modelPath?.path ?? "", "epochs": r.epochsRun,
                                         "seconds": (r.seconds * 100).rounded() / 100]
            object["best_epoch"] = r.bestEpoch.map { $0 + 1 } ?? NSNull()
            object["val_accuracy"] = r.bestValAccuracy ?? NSNull()
            object["val_loss"] = r.bestValLoss ?? NSNull()
            object["precision"] = outcome.trainer.precision.precision.rawValue
            print(try jsonLine(object))
        } else {
            let accuracy = r.bestValAccuracy.map { String(format: "%.4f", $0) } ?? "n/a (no validation set)"
            print("best epoch \(r.bestEpoch.map { String($0 + 1) } ?? "-"): validation accuracy \(accuracy); "
                  + String(format: "%.1f s; ", r.seconds) + "model: \(r.modelPath?.path ?? "-"), report: \(out)/report.html")
        }
    }
}

/// A folder (ImageFolder) or a CSV file of path,label; with `labelDelimiter`, a multi-label
/// CSV whose label field holds several classes.
func openDataset(_ path: String, classes: [String]? = nil, labelDelimiter: String? = nil) throws -> any Dataset {
    let url = URL(fileURLWithPath: path)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw ValidationError("\(path): no such file or folder")
    }
    if labelDelimiter != nil && (isDirectory.boolValue || url.pathExtension.lowercased() != "csv") {
        throw ValidationError("\(path): a multi-label set is a CSV file of path,labels (the labels separated by the "
                              + "--label-delimiter); a folder per class holds one label per image")
    }
    if isDirectory.boolValue {
        // With the classes given (validation, test): a class may be missing (it is just
        // not evaluated), and folders of classes the model doesn't know are left out, said.
        let folder = try ImageFolder(root: url, classes: classes, allowEmpty: classes != nil)
        if !folder.unlistedFolders.isEmpty {
            FileHandle.standardError.write(Data(("warning: \(path): \(folder.unlistedFolders.count) class folder(s) not among "
                + "the training classes are left out: \(folder.unlistedFolders.prefix(10).joined(separator: ", "))\n").utf8))
        }
        return folder
    }
    if url.pathExtension.lowercased() == "csv" {
        let list = try CSVDataset(csv: url, classes: classes, skipUnknownLabels: classes != nil, labelDelimiter: labelDelimiter)
        if !list.unknownLabels.isEmpty {
            let rows = list.unknownLabels.map(\.rows).reduce(0, +)
            let named = list.unknownLabels.prefix(10).map { "\($0.label) (\($0.rows))" }.joined(separator: ", ")
            FileHandle.standardError.write(Data(("warning: \(path): \(rows) row(s) with labels not among the training "
                + "classes are left out: \(named)\(list.unknownLabels.count > 10 ? ", ..." : "")\n").utf8))
        }
        return list
    }
    throw ValidationError("\(path): expected a folder with one sub-folder per class, or a .csv file of path,label")
}
