import Foundation
import Pretrained
import Torch

/// Everything that defines a training run; saved in the model file and the run
/// folder, so a run can be repeated or resumed exactly.
public struct Recipe: Codable, Sendable, Equatable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case sgd, adam, adamw }
    public enum ScheduleKind: String, Codable, Sendable, CaseIterable {
        case constant, step, cosine, onecycle, plateau
    }
    /// `light`: RandomResizedCrop (scale 0.35–1) and a flip; `crop-flip`: torchvision's
    /// RandomResizedCrop (scale 0.08–1) and a flip, as PyTorch's transfer-learning tutorial;
    /// `trivial`: that and TrivialAugmentWide; `randaugment`: that and RandAugment (2
    /// operations at magnitude 9, torchvision's defaults).
    public enum Augment: String, Codable, Sendable, CaseIterable {
        case none, light, trivial
        case cropFlip = "crop-flip"
        case randAugment = "randaugment"
    }
    public enum ClassWeights: String, Codable, Sendable, CaseIterable { case none, auto }
    public enum CacheMode: String, Codable, Sendable, CaseIterable { case auto, off }
    /// How an epoch visits the training samples: a fresh permutation, or draws with
    /// replacement that make every class equally likely (`WeightedRandomSampler`).
    public enum Sampler: String, Codable, Sendable, CaseIterable { case shuffle, balanced }
    /// How the head phase fits the head on cached features.
    public enum HeadFit: String, Codable, Sendable, CaseIterable {
        /// The optimizer's epochs over mini-batches (the PyTorch tutorial's loop).
        case epochs
        /// Multinomial logistic regression on the classifier's inputs (a logistic regression
        /// per class for multi-label runs), fitted to convergence by L-BFGS with its L2 chosen
        /// by stratified 5-fold cross-validation on the training features (by held-out mAP for
        /// multi-label): a tuned linear probe, in one step of the head phase.
        case converged
    }
    public enum BestMetric: String, Codable, Sendable, CaseIterable {
        /// `val_map`: the validation mean average precision (multi-label runs).
        case valAccuracy = "val_accuracy", valLoss = "val_loss", valMAP = "val_map"
    }

    public var model: String
    /// The catalogue's pretrained weights, a file, or none (random initialisation).
    public var weights: WeightsSource = .pretrained
    public var freeze: FreezeSpec = .backbone
    /// BatchNorm in the frozen part of the network.
    public var batchNorm: BatchNormPolicy = .frozen
    /// BatchNorm once everything is unfrozen: `train` (batch statistics, as `model.train()`)
    /// or `frozen` (the pretrained running statistics kept, eval mode; steadier on small
    /// datasets). `affine-only` is `frozen` here, since every affine parameter trains anyway.
    public var fineTuneBatchNorm: BatchNormPolicy = .train
    /// Epochs of the first phase (head only when the trunk is frozen).
    public var epochs: Int = 5
    /// How the head phase trains (nil: `epochs`, as recipes written before there was a choice).
    /// `converged` needs cached features, a single Linear head, and `epochs` 1.
    public var headFit: HeadFit?
    /// Epochs after unfreezing everything (fastai's `fine_tune`); 0 = no second phase.
    public var fineTuneEpochs: Int = 0
    public var learningRate: Double = 1e-3
    /// When set, each phase trained by the optimizer first runs fastai's learning-rate finder
    /// with this sweep and trains at its `valley` suggestion (`--lr auto`); `learningRate`
    /// then only sets the groups' ratios (the trunk factor applies to the found rate).
    public var learningRateSweep: LearningRateSweep?
    /// Trunk learning rate relative to the head's in the fine-tuning phase.
    public var trunkLearningRateFactor: Double = 0.1
    public var optimizer: OptimizerKind = .sgd
    public var momentum: Double = 0.9
    public var weightDecay: Double = 0
    public var schedule: ScheduleKind = .constant
    /// StepLR's step in epochs (nil: a third of the phase).
    public var stepSize: Int?
    public var warmupEpochs: Int = 0
    public var labelSmoothing: Double = 0
    public var classWeights: ClassWeights = .none
    /// nil: `shuffle`.
    public var sampler: Sampler?
    public var batchSize: Int = 32
    /// Square input size; nil = the weights' crop size.
    public var imageSize: Int?
    public var augment: Augment = .none
    /// Augmentation once everything is unfrozen (nil: as `augment`). With `augment` none,
    /// the head phase can use cached features while fine-tuning still augments.
    public var fineTuneAugment: Augment?
    /// Overrides every BatchNorm's momentum (e.g. 0.1 when training from scratch a network
    /// whose BatchNorm was tuned for long runs, such as EfficientNet-Lite's 0.01).
    public var batchNormMomentum: Double?
    public var cacheFeatures: CacheMode = .auto
    public var headHidden: Int?
    public var headDropout: Double = 0
    public var gradientClip: Double?
    /// An exponential moving average of the weights with this decay (timm's ModelEmaV3),
    /// updated after every optimizer step; validation and the saved model use the average.
    public var ema: Double?
    /// timm's EMA warm-up (decay 1 − (1 + t)^(−2/3), capped at `ema`).
    public var emaWarmup: Bool?
    /// Layer-wise learning-rate decay (timm's `layer_decay`): layer i of n (embeddings first,
    /// a layer per block, the head last) trains at `learningRate × layerDecay^(n − 1 − i)`,
    /// in place of the trunk factor. For families with a layer grouping (ConvNeXt, ViT, Swin).
    public var layerDecay: Double?
    /// Gradual unfreezing in the fine-tuning phase (ULMFiT, fastai's `freeze_to(-k)` steps):
    /// the trunk's stages (the model's `stageKeys`) thaw from the top, one more every this
    /// many epochs, the head and the top stage first, until everything trains. nil: all at once.
    public var unfreezeEvery: Int?
    /// MixUp's and CutMix's α (torchvision's v2 transforms on each training batch of images;
    /// with both, one of the two per batch, as `v2.RandomChoice`). The loss takes the mixed
    /// soft labels (label smoothing applied to them). Batches of cached features aren't mixed,
    /// so the head phase then runs on images.
    public var mixup: Double?
    public var cutmix: Double?
    /// RandomErasing (torchvision's, value 0) after normalisation with this probability,
    /// wherever the recipe augments.
    public var randomErasing: Double?
    /// Gradient accumulation: one optimizer step per this many batches, whose gradients are
    /// summed and divided by their samples, as one batch of them all (nil: every batch).
    public var accumulate: Int?
    /// Multi-label classification: each image has any number of the classes (a CSV's label
    /// field with several names); the loss is BCE-with-logits on multi-hot targets, validation
    /// reports mAP and F1, and per-class thresholds are chosen on the validation set at the end.
    public var multiLabel: Bool?
    /// Fit temperature scaling on the validation set when the run ends (the best model's
    /// validation logits); the temperature goes into the model card for `predict` and `eval`,
    /// the ECE before and after into its metrics and the report.
    public var calibrate: Bool?
    public var earlyStoppingPatience: Int?
    public var bestMetric: BestMetric = .valAccuracy
    public var channelsLast: Bool = true
    /// The forward passes' arithmetic (``PrecisionChoice``); nil: `auto`, bfloat16 autocast
    /// where the hardware runs it natively, fp32 elsewhere.
    public var precision: PrecisionChoice?
    public var seed: UInt64 = 0
    public var device: Device = .cpu

    public init(model: String) { self.model = model }

    public var resolvedHeadFit: HeadFit { headFit ?? .epochs }

    /// Why this recipe can't fit its head to convergence (nil when it can, or doesn't ask to).
    public var convergedHeadProblem: String? {
        guard resolvedHeadFit == .converged else { return nil }
        if !headPhaseRunsOnCachedFeatures {
            return "the converged head fit runs on cached features: it needs the trunk frozen (freeze backbone), "
                + "its BatchNorm not training, no head-phase augmentation or batch mixing, and the cache on"
        }
        if headHidden != nil { return "the converged head fit is for a single linear layer, not a hidden layer" }
        if labelSmoothing != 0 || classWeights != .none {
            return "the converged head fit minimises the plain cross-entropy: no label smoothing or class weights"
        }
        if epochs != 1 { return "the converged head fit is one step of the head phase: epochs must be 1" }
        return nil
    }

    /// Why this recipe's settings don't go with multi-label training (nil when they do, or
    /// the run is single-label).
    public var multiLabelProblem: String? {
        guard multiLabel == true else { return nil }
        if mixesBatches { return "MixUp and CutMix mix single labels" }
        if sampler == .balanced { return "the balanced sampler draws by a single class per image" }
        if classWeights != .none { return "class weights are for the single-label cross-entropy" }
        if labelSmoothing != 0 { return "label smoothing is for the single-label cross-entropy" }
        if calibrate == true { return "temperature scaling calibrates a softmax; a multi-label model has per-class thresholds instead" }
        return nil
    }

    /// The whole run's epoch count.
    public var totalEpochs: Int { epochs + fineTuneEpochs }

    /// Whether the trunk never runs in training mode: only the head trains, on cached
    /// features (frozen backbone, BatchNorm not in train mode, nothing random, no
    /// fine-tuning phase). The trainer's cache uses the same conditions.
    public var trainsOnlyTheHeadOnCachedFeatures: Bool { headPhaseRunsOnCachedFeatures && fineTuneEpochs == 0 }

    /// Whether the head phase can train on cached features: a frozen trunk whose BatchNorm
    /// doesn't train, the cache on, and nothing random in its batches (no augmentation, no mixing).
    public var headPhaseRunsOnCachedFeatures: Bool {
        freeze == .backbone && cacheFeatures == .auto && batchNorm != .train && augment == .none && !mixesBatches
    }

    /// Whether training batches are mixed (MixUp or CutMix).
    public var mixesBatches: Bool { mixup != nil || cutmix != nil }

    /// The fields (by their JSON names, which are the property names) whose values differ
    /// from `other`'s, as `name: other's → self's`.
    public func differences(from other: Recipe) -> [String] {
        func fields(_ recipe: Recipe) -> [String: String] {
            guard let data = try? JSONEncoder.sorted.encode(recipe),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
            return object.mapValues { value in
                guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
                else { return "\(value)" }
                return String(decoding: data, as: UTF8.self)
            }
        }
        let mine = fields(self), theirs = fields(other)
        return Set(mine.keys).union(theirs.keys).sorted().compactMap { key in
            mine[key] == theirs[key] ? nil : "\(key): \(theirs[key] ?? "unset") → \(mine[key] ?? "unset")"
        }
    }

    /// Whether a run made with `saved` can be continued under this recipe: the same
    /// recipe, or the same with more epochs in its last phase under a schedule that does
    /// not depend on the run's length (constant, plateau), so the epochs already run
    /// are exactly what this recipe would have run.
    public func canContinue(from saved: Recipe) -> Bool {
        if self == saved { return true }
        guard schedule == .constant || schedule == .plateau else { return false }
        var grown = saved
        if saved.fineTuneEpochs == 0 && fineTuneEpochs == 0 {
            guard epochs >= saved.epochs else { return false }
            grown.epochs = epochs
        } else {
            guard epochs == saved.epochs, fineTuneEpochs >= saved.fineTuneEpochs else { return false }
            grown.fineTuneEpochs = fineTuneEpochs
        }
        return grown == self
    }
}

/// Where a model's starting weights come from. Stored as one string: `imagenet`, `none`
/// or the file's path.
public enum WeightsSource: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The catalogue's default pretrained weights for the architecture (`imagenet`).
    case pretrained
    /// Random initialisation, the architecture's reference init (`none`).
    case none
    /// A weights file: a Graft model, or a plain `.pth` / `.safetensors` state dict.
    case file(String)
    /// A catalogue entry by its torchvision name (`IMAGENET1K_V1`, `IMAGENET1K_SWAG_E2E_V1`).
    case tag(String)

    /// Parses `imagenet` or `pretrained` (the catalogue's default for the architecture: torchvision's
    /// DEFAULT, timm's own file), `none`, a catalogue tag (when no file of that name exists), or a path.
    public init(_ text: String) {
        switch text {
        case "imagenet", "pretrained": self = .pretrained
        case "none": self = .none
        default:
            if PretrainedWeights.tags.contains(text) && !FileManager.default.fileExists(atPath: text) {
                self = .tag(text)
            } else {
                self = .file(text)
            }
        }
    }

    public var description: String {
        switch self {
        case .pretrained: "imagenet"
        case .none: "none"
        case .file(let path): path
        case .tag(let tag): tag
        }
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Recipe {
    /// Starting points for a run; flags and fields set afterwards override them.
    public enum Preset: String, Codable, Sendable, CaseIterable {
        /// The head fitted to convergence (the tuned linear probe), then — with a validation
        /// set to judge it — the whole network fine-tuned for up to 10 epochs (AdamW, head at
        /// 2e-4 and trunk at 1e-4, BatchNorm statistics kept, light augmentation), stopped
        /// after 2 epochs without improvement; the best epoch of either phase is the model, its
        /// probabilities calibrated by temperature scaling on the validation set.
        case auto
        /// Graft's first defaults: 5 SGD epochs (1e-3, momentum 0.9) of the head on cached features.
        case classic
        /// PyTorch's transfer-learning tutorial (the fixed-feature-extractor half): 25 epochs
        /// of SGD (1e-3, momentum 0.9, StepLR 7 × 0.1), batches of 4, BatchNorm in training
        /// mode under `model.train()`, RandomResizedCrop and a flip.
        case tutorial
    }

    /// The preset's recipe for `model`; `validated`: whether the run has a validation set
    /// (`auto` fine-tunes only then, since nothing else can say whether fine-tuning helped).
    public static func preset(_ preset: Preset, model: String, validated: Bool) -> Recipe {
        var r = Recipe(model: model)
        switch preset {
        case .classic:
            break
        case .auto:
            r.headFit = .converged
            r.epochs = 1
            r.fineTuneEpochs = validated ? 10 : 0
            r.earlyStoppingPatience = validated ? 2 : nil
            r.optimizer = .adamw
            r.learningRate = 2e-4
            r.trunkLearningRateFactor = 0.5
            r.weightDecay = 0.01
            r.fineTuneBatchNorm = .frozen
            r.fineTuneAugment = .light
            r.calibrate = validated ? true : nil
        case .tutorial:
            r.epochs = 25
            r.learningRate = 1e-3
            r.momentum = 0.9
            r.schedule = .step
            r.stepSize = 7
            r.batchSize = 4
            r.batchNorm = .train
            r.augment = .cropFlip
        }
        return r
    }
}
