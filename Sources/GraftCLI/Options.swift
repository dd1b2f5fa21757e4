import ArgumentParser
import Foundation
import Graft

// Every enum-like flag is a type; ArgumentParser lists its values in the help and
// refuses others with the flag named (exit 64).
extension Recipe.OptimizerKind: ExpressibleByArgument {}
extension Recipe.ScheduleKind: ExpressibleByArgument {}
extension Recipe.Augment: ExpressibleByArgument {}
extension Recipe.ClassWeights: ExpressibleByArgument {}
extension Recipe.CacheMode: ExpressibleByArgument {}
extension Recipe.BestMetric: ExpressibleByArgument {}
extension Recipe.HeadFit: ExpressibleByArgument {}
extension Recipe.Preset: ExpressibleByArgument {}
extension TestTimeAugmentation: ExpressibleByArgument {}
extension Recipe.Sampler: ExpressibleByArgument {}
extension PrecisionChoice: ExpressibleByArgument {
    /// As a recipe holds it: nil for `auto`, which is also what recipes from before `--precision` mean.
    var recipeValue: PrecisionChoice? { self == .auto ? nil : self }

    /// Resolved for `device`; a choice the device can't run is refused naming the flag.
    func resolvedForCLI(on device: Device) throws -> ResolvedPrecision {
        do {
            return try resolve(on: device)
        } catch let error as TorchError {
            throw ValidationError("\(error.operation): \(error.message)")
        }
    }
}
extension BatchNormPolicy: ExpressibleByArgument {}

/// `--lr`: a rate, or `auto` (the learning-rate finder's suggestion).
enum LearningRateArgument: ExpressibleByArgument, Equatable {
    case value(Double)
    case auto

    init?(argument: String) {
        if argument == "auto" { self = .auto } else if let value = Double(argument) { self = .value(value) } else { return nil }
    }
    static var defaultCompletionKind: CompletionKind { .list(["auto"]) }
}

extension Phase: ExpressibleByArgument {}

extension FreezeSpec: ExpressibleByArgument {
    public init?(argument: String) {
        guard !argument.isEmpty else { return nil }
        self.init(argument)
    }
    public static var defaultCompletionKind: CompletionKind { .list(["backbone", "none"]) }
}

extension WeightsSource: ExpressibleByArgument {
    public init?(argument: String) {
        guard !argument.isEmpty else { return nil }
        self.init(argument)
    }
    public var defaultValueDescription: String { description }
}

extension Device: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public var defaultValueDescription: String { description }
    public static var allValueStrings: [String] { ["cpu", "cuda", "cuda:N"] }
}

/// Where and how fast a command runs: `--device`, `--threads`, `--workers`, shared by
/// train, eval and predict.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "cpu, cuda or cuda:N.") var device: Device = .cpu
    @Option(help: "libtorch threads (default: all cores).") var threads: Int?
    @Option(help: "Image decoding threads (default: all cores).") var workers: Int?
    @Option(help: ArgumentHelp("Arithmetic of the forward passes: auto, fp32, bf16 or fp16 (CUDA, with loss scaling).",
                               discussion: "auto runs bfloat16 autocast on a CPU with avx512_bf16 or amx_bf16 and on CUDA devices with bfloat16, fp32 elsewhere; weights, losses and metrics stay fp32."))
    var precision: PrecisionChoice = .auto

    func validate() throws {
        try check("--threads", threads, in: 1...4096)
        try check("--workers", workers, in: 1...1024)
    }

    /// Applies `--threads` and checks the device, before any data is read.
    func apply() throws {
        if let threads { Torch.numThreads = threads }
        try CUDA.requireAvailable(device)
    }

    var workerCount: Int { workers ?? ProcessInfo.processInfo.activeProcessorCount }

    /// `--precision` for `--device`, and why; a choice the device can't run is refused naming the flag.
    func resolvedPrecision() throws -> ResolvedPrecision { try precision.resolvedForCLI(on: device) }
}

/// A range check that names the flag.
func check<T: Comparable>(_ flag: String, _ value: T?, in range: ClosedRange<T>) throws {
    guard let value else { return }
    guard range.contains(value) else {
        throw ValidationError("\(flag) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }
}

/// A range check for a floating-point flag; NaN and infinities are refused too.
func check(_ flag: String, _ value: Double?, in range: ClosedRange<Double>, open: Bool = false) throws {
    guard let value else { return }
    let inside = open ? (value > range.lowerBound && value < range.upperBound) : range.contains(value)
    guard value.isFinite, inside else {
        let bounds = open ? "strictly between \(range.lowerBound) and \(range.upperBound)"
                          : "between \(range.lowerBound) and \(range.upperBound)"
        throw ValidationError("\(flag) must be \(bounds), got \(value)")
    }
}

/// `--image-size`: positive, at least the architecture's smallest input (for a training
/// forward with its auxiliary classifiers when `training`), at most 4096.
func checkImageSize(_ size: Int?, model: String, training: Bool) throws {
    guard let size else { return }
    guard size >= 1 else { throw ValidationError("--image-size must be positive, got \(size)") }
    guard size <= 16384 else { throw ValidationError("--image-size must be at most 16384, got \(size)") }
    if let problem = Zoo.entry(model)?.inputSizeProblem(size, training: training) {
        throw ValidationError("--image-size: \(problem)")
    }
}

/// A library error in the CLI's words: the library speaks of layers, weights, learning
/// rates and run folders; the CLI adds the flag that set the value, or the flag to use.
func cliMessage(for error: any Error) -> String? {
    switch error {
    case let e as FreezeError: return "--freeze: \(e)"
    case let e as WeightsError:
        if case .noWeights = e { return "--weights: \(e) (--weights PATH or --weights none)" }
        return "--weights: \(e)"
    case let e as ZooError: return "--model: \(e)"
    case let e as PretrainedError:
        switch e {
        case .noSuchFile: return "--weights: \(e); give imagenet, none, or a weights file"
        case .needArchitecture: return "\(e): add --model NAME"
        case .architectureMismatch: return "--model: \(e); drop --model or pick the matching one"
        }
    case let e as ModelFileError:
        if case .notAGraftModel(let path) = e { return "\(e): use --model NAME --weights \(path)" }
        return nil
    case let e as TrainingError:
        switch e {
        case .nonFiniteLoss, .nonFiniteModel: return "\(e) (--lr)"
        case .noTrainableParameters: return "\(e); use --freeze backbone or none"
        case .emptyData, .tooFewClasses: return nil
        case .unsupported: return "--head-fit: \(e)"
        case .noLayerGroups: return "--layer-decay: \(e)"
        }
    case let e as MemoryError: return "\(e) (--image-size, --batch-size)"
    case let e as ComputationError where e.isOutOfMemory: return "\(e) (--image-size, --batch-size)"
    case let e as CheckpointTrunkError: return "--resume: \(e)"
    case let e as CheckpointMismatch: return "--resume: \(e); resume with the same flags, or start a new --out folder"
    case let e as RunFolderError:
        switch e {
        case .nothingToResume: return "--resume: \(e); run without --resume to start"
        case .holdsARun: return "--out: \(e); add --resume to continue it, --overwrite to replace it, or pick another folder"
        case .cannotCreate, .cannotWrite: return "--out: \(e)"
        }
    default: return nil
    }
}

/// A path argument that must exist, checked before anything runs (exit 64).
func requireExists(_ path: String, _ what: String) throws {
    guard !path.isEmpty else { throw ValidationError("\(what) is empty: give a path") }
    guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(what) \(path): no such file or folder") }
}

/// The catalogue entry `--weights` picks for `model` (imagenet or a tag), or nil.
func catalogueEntry(model: String, weights: WeightsSource) -> PretrainedWeights? {
    switch weights {
    case .pretrained: PretrainedWeights.forModel(model)
    case .tag(let tag): PretrainedWeights.forModel(model, tag: tag)
    case .none, .file: nil
    }
}

/// A tag this architecture has no weights under is a flag error.
func checkWeightsTag(_ weights: WeightsSource, model: String) throws {
    guard case .tag(let tag) = weights, PretrainedWeights.forModel(model, tag: tag) == nil else { return }
    let known = PretrainedWeights.entries(for: model).map(\.tag)
    throw ValidationError("--weights: \(WeightsError.noSuchTag(model: model, tag: tag, known: known))")
}

/// Said where a user picks weights whose license forbids commercial use (SWAG's).
func licenseWarning(model: String, weights: WeightsSource) -> String? {
    guard let entry = catalogueEntry(model: model, weights: weights), entry.isNonCommercial else { return nil }
    return "note: \(model) \(entry.tag) weights are licensed \(entry.license) (non-commercial use only; "
        + "\(entry.licenseURL)); the model trained from them carries that license"
}
