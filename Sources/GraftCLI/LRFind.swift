import ArgumentParser
import Foundation
import Graft

struct LRFind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lr-find",
        abstract: "Find a learning rate: fastai's exponential sweep, its smoothed loss and valley suggestion.",
        discussion: """
            A mock training whose learning rate grows from --start-lr to --end-lr over --num-it \
            batches (cycling the training set as needed), recording the smoothed loss (β 0.98), \
            stopped once it passes 4× its best; the model is put back afterwards and nothing is \
            saved but the plot. The suggestion is fastai's valley: a point along the longest \
            stretch of falling loss. The sweep runs the phase as graft train's default recipe sets \
            it up: head (the trunk frozen, on cached features) or fine-tune (everything trains). \
            graft train --lr auto runs the same sweep at the start of each phase it trains with \
            the optimizer.

            Examples:
              graft lr-find data/train --out lr_find.png
              graft lr-find data/train --phase fine-tune --model convnext_tiny --image-size 160
            """
    )

    @Argument(help: "Training images: a folder with one sub-folder per class, or a CSV of path,label.")
    var trainData: String
    @Option(help: "Architecture (see graft models).") var model: String = Train.defaultModel
    @Option(help: "imagenet, a catalogue tag, a weights file, or none.") var weights: WeightsSource = .pretrained
    @Option(help: "head (trunk frozen) or fine-tune (everything trains).") var phase: Phase = .head
    @Option(help: "Optimizer (default: graft train's, adamw).") var optimizer: Recipe.OptimizerKind?
    @Option(help: "Weight decay.") var weightDecay: Double?
    @Option(help: "Layer-wise learning-rate decay (ConvNeXt, ViT, Swin), as graft train's.") var layerDecay: Double?
    @Option(help: "Batch size.") var batchSize: Int?
    @Option(help: "Square input size (default: the weights' own).") var imageSize: Int?
    @Option(help: "Augmentation in the head phase (none keeps the features cached).") var augment: Recipe.Augment?
    @Option(help: "The sweep's first learning rate.") var startLr: Double = 1e-7
    @Option(help: "The sweep's last learning rate.") var endLr: Double = 10
    @Option(help: "Batches of the sweep (at least 6).") var numIt: Int = 100
    @Flag(help: "Run all --num-it batches even when the loss diverges.") var noStopDiv = false
    @Flag(help: "Skip unreadable images instead of failing.") var skipBadFiles = false
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @OptionGroup(title: "Runtime") var runtime: RuntimeOptions
    @Option(help: "The plot (PNG) to write.") var out: String = "lr_find.png"
    @Flag(help: "End with one JSON object (suggestion, learning_rates, losses, smoothed_losses, diverged).") var json = false

    func validate() throws {
        try requireExists(trainData, "TRAIN_DIR")
        if Zoo.entry(model) == nil { throw ValidationError("--model: \(ZooError.unknownModel(model))") }
        try checkWeightsTag(weights, model: model)
        if case .file(let path) = weights, !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("--weights \(path): no such file; give imagenet, none, or a weights file")
        }
        if weights == .none && phase == .head {
            throw ValidationError("--weights none with --phase head would sweep a head on a random, frozen trunk; use --phase fine-tune")
        }
        try check("--weight-decay", weightDecay, in: 0...10)
        try check("--layer-decay", layerDecay, in: 0...1)
        if layerDecay == 0 { throw ValidationError("--layer-decay must be above 0 (1: no decay), got 0.0") }
        try check("--batch-size", batchSize, in: 1...65_536)
        try check("--start-lr", startLr, in: 0...1e6, open: true)
        try check("--end-lr", endLr, in: 0...1e6, open: true)
        if endLr <= startLr { throw ValidationError("--end-lr (\(endLr)) must be above --start-lr (\(startLr))") }
        try check("--num-it", numIt, in: 6...1_000_000)
        try checkImageSize(imageSize, model: model, training: phase == .fineTune || (augment ?? .none) != .none)
        guard out.lowercased().hasSuffix(".png") else { throw ValidationError("--out \(out): the plot is a .png file") }
        let folder = URL(fileURLWithPath: out).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        if !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) || !isFolder.boolValue {
            throw ValidationError("--out \(out): the folder \(folder) does not exist")
        }
    }

    func recipe() -> Recipe {
        var r = Recipe.preset(.auto, model: model, validated: true)
        r.headFit = nil
        r.weights = weights
        if let optimizer {
            if optimizer != r.optimizer { r.learningRate = optimizer == .sgd ? 1e-3 : 3e-4 }
            r.optimizer = optimizer
        }
        if let weightDecay { r.weightDecay = weightDecay }
        r.layerDecay = layerDecay
        if let batchSize { r.batchSize = batchSize }
        r.imageSize = imageSize
        if let augment { r.augment = augment }
        r.seed = seed
        r.device = runtime.device
        r.precision = runtime.precision.recipeValue
        return r
    }

    func run() throws {
        try runtime.apply()
        _ = try runtime.resolvedPrecision()  // a precision the device can't run is refused before any data is read
        let progress = ProgressReporter()
        let train = try openDataset(trainData)
        var session = TrainingSession(recipe: recipe(), train: train, validation: nil,
                                      runDirectory: URL(fileURLWithPath: "/nonexistent-lr-find"))
        session.workers = runtime.workerCount
        session.badFiles = skipBadFiles ? .skip : .fail
        progress.line("sweeping \(model)'s \(phase.rawValue) phase on \(train.count) images, "
                      + String(format: "learning rate %.0e to %.0e over %d batches", startLr, endLr, numIt))
        let interrupt = InterruptHandler()
        let sweep = LearningRateSweep(start: startLr, end: endLr, iterations: numIt, stopOnDivergence: !noStopDiv)
        let (finding, skipped) = try session.findLearningRate(phase: phase, sweep: sweep, cancellation: interrupt.flag)
        for file in skipped { progress.line("skipped \(file.source): \(file.reason)") }
        do {
            try Plots.learningRateFinder(finding).pngData().write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CLIError(message: "--out \(out): cannot write the plot: \(describeIOError(error))")
        }
        if json {
            var object: [String: Any] = ["learning_rates": finding.learningRates, "losses": finding.losses,
                                         "smoothed_losses": finding.smoothedLosses, "diverged": finding.diverged,
                                         "plot": out, "seconds": (finding.seconds * 100).rounded() / 100]
            object["suggestion"] = finding.suggestion ?? NSNull()
            print(try jsonLine(object))
        } else if let lr = finding.suggestion {
            print(String(format: "suggested learning rate (valley): %.2e", lr) + " after \(finding.losses.count) batches"
                  + (finding.diverged ? " (stopped when the loss diverged)" : "") + "; plot: \(out)")
        } else {
            print("no suggestion: the sweep stopped after \(finding.losses.count) batches, too few to read "
                  + "(raise --num-it or --end-lr, or lower --start-lr); plot: \(out)")
        }
    }
}
