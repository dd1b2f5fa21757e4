import Foundation
import ImageCodecs
import ImageData
import Optimizers
import Transfer
import ImageData
import NN
import Torch
import Vision

/// A report file that could not be written.
public enum RunReportError: Error, CustomStringConvertible {
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason): "cannot write the run report file \(path): \(reason)"
        }
    }
}

/// The files a run folder gets besides the model: metrics.csv (one row per epoch),
/// curves.png, confusion.png and report.html, a self-contained page that explains the run.
public struct RunReport {
    public let trainer: Trainer
    public let result: TrainingResult
    public let trainSet: any Dataset
    public let validationSet: (any Dataset)?
    public let skipped: [SampleError]

    /// How many worst-classified validation images the report shows.
    public static let worstCount = 12
    /// The long side of their thumbnails, in pixels.
    public static let thumbnailSide = 128

    public init(trainer: Trainer, result: TrainingResult, trainSet: any Dataset, validationSet: (any Dataset)?,
                skipped: [SampleError]) {
        self.trainer = trainer
        self.result = result
        self.trainSet = trainSet
        self.validationSet = validationSet
        self.skipped = skipped
    }

    /// Writes the report files into `directory` (created if needed), each atomically:
    /// metrics.csv; curves.png once an epoch has finished; confusion.png when there are
    /// validation metrics; report.html.
    ///
    /// With a validation set, the best model (`model.safetensors`, else the trainer's model
    /// as it ended) is evaluated on it once more, for the confusion matrix, the per-class
    /// table and the worst-classified images. When that evaluation fails (an unreadable
    /// validation file, say), the page says why and falls back to the metrics the trainer
    /// recorded at its best epoch.
    public func write(to directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw RunReportError.cannotWrite(path: directory.path, reason: describeIOError(error))
        }
        try save(Data(metricsCSV().utf8), as: "metrics.csv", in: directory)
        var page = ReportPage(architecture: trainer.card.architecture, created: trainer.card.created,
                              recipe: trainer.recipe, classes: trainer.classes, history: result.history,
                              seconds: result.seconds, stoppedEarly: result.stoppedEarly,
                              trainCounts: trainSet.classCounts, validationCounts: validationSet?.classCounts,
                              skipped: skipped)
        page.precision = trainer.precision
        if !result.history.isEmpty {
            let png = try Plots.curves(result.history).pngData()
            try save(png, as: "curves.png", in: directory)
            page.curvesPNG = png
        }
        for phase in [Phase.head, .fineTune] {
            guard let finding = trainer.learningRateFindings[phase] else { continue }
            let png = try Plots.learningRateFinder(finding).pngData()
            try save(png, as: "lr_find_\(phase.rawValue).png", in: directory)
            page.learningRatePlots.append((phase, png, finding))
        }
        if let calibration = trainer.calibration {
            let png = try Plots.reliability(calibration).pngData()
            try save(png, as: "reliability.png", in: directory)
            page.calibration = calibration
            page.reliabilityPNG = png
        }
        if trainer.recipe.multiLabel == true {
            page.multiLabel = trainer.bestMultiLabel
        } else if let validationSet {
            do {
                let review = try reviewValidation(validationSet, directory: directory)
                page.validation = review.metrics
                page.validationSource = review.source
                page.worst = review.worst
            } catch {
                page.worstError = "\(error)"
                page.validation = trainer.bestValidation
                page.validationSource = trainer.bestValidation.map { _ in
                    "the metrics the trainer recorded at its best epoch"
                }
            }
            if let metrics = page.validation {
                let png = try Plots.confusionMatrix(metrics.confusion, classes: metrics.classes).pngData()
                try save(png, as: "confusion.png", in: directory)
                page.confusionPNG = png
            }
        }
        try save(Data(page.html().utf8), as: "report.html", in: directory)
    }

    /// epoch,phase,train_loss,train_accuracy,val_loss,val_accuracy,val_top5,learning_rate,seconds,cached,best,
    /// and val_map for a multi-label run.
    public func metricsCSV() -> String {
        let multiLabel = trainer.recipe.multiLabel == true
        var lines = ["epoch,phase,train_loss,train_accuracy,val_loss,val_accuracy,val_top5,learning_rate,seconds,cached,best"
                     + (multiLabel ? ",val_map" : "")]
        func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "" }
        for r in result.history {
            lines.append([String(r.epoch + 1), r.phase.rawValue, f(r.trainLoss), f(r.trainAccuracy), f(r.valLoss),
                          f(r.valAccuracy), f(r.valTop5), f(r.learningRate), f(r.seconds), String(r.cached),
                          String(r.isBest)].joined(separator: ",") + (multiLabel ? "," + f(r.valMAP) : ""))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Pieces

    /// Evaluates the reported model on `dataset`: its metrics, what model it was (in words),
    /// and its most confidently wrong predictions with thumbnails.
    func reviewValidation(_ dataset: any Dataset, directory: URL) throws
        -> (metrics: ClassificationMetrics, source: String, worst: [Misprediction])
    {
        let (model, source) = try reportedModel(directory: directory)
        let (metrics, predictions) = try evaluate(model, on: dataset, classes: trainer.classes,
                                                  preprocessing: trainer.card.preprocessing,
                                                  batchSize: trainer.recipe.batchSize, device: trainer.device)
        let labels = dataset.labels
        func name(_ label: Int) -> String { trainer.classes.indices.contains(label) ? trainer.classes[label] : "#\(label)" }
        let worst = predictions.filter { $0.predicted != labels[$0.index] }
            .sorted { $0.confidence != $1.confidence ? $0.confidence > $1.confidence : $0.index < $1.index }
            .prefix(Self.worstCount)
            .map { p in
                Misprediction(index: p.index, source: dataset.source(at: p.index), trueClass: name(labels[p.index]),
                              predictedClass: name(p.predicted), confidence: p.confidence,
                              thumbnailPNG: try? PNG.encode(Self.thumbnail(dataset.image(at: p.index))))
            }
        return (metrics, source, worst)
    }

    /// The best model saved by the run, else the trainer's model as training left it.
    func reportedModel(directory: URL) throws -> (model: ImageClassifier, description: String) {
        let candidates = [result.modelPath, directory.appendingPathComponent("model.safetensors")].compactMap { $0 }
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            return (trainer.model, "the model as training ended (no saved best model was found)")
        }
        let epoch = result.bestEpoch.map { "epoch \($0 + 1), " } ?? ""
        return (try ModelFile.load(url).model, "the best model (\(epoch)read back from \(url.lastPathComponent))")
    }

    /// `image` (CHW `uint8`) scaled down with antialiasing so its long side is at most
    /// `maxSide`; smaller images and other tensors are returned as they are.
    static func thumbnail(_ image: Tensor, maxSide: Int = thumbnailSide) -> Tensor {
        guard image.rank == 3, image.dtype == .uint8 else { return image }
        let height = image.size(1), width = image.size(2)
        let scale = Double(maxSide) / Double(max(height, width))
        guard scale < 1 else { return image }
        let size = (max(1, Int((Double(height) * scale).rounded())), max(1, Int((Double(width) * scale).rounded())))
        return Functional.interpolate(image.unsqueeze(0).to(.float32), size: size, mode: .bilinear, antialias: true)
            .squeeze(dim: 0).round().clamp(min: 0, max: 255).to(.uint8)
    }

    /// Writes `data` to `directory/name` atomically (a temporary file renamed over it).
    func save(_ data: Data, as name: String, in directory: URL) throws {
        let url = directory.appendingPathComponent(name)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw RunReportError.cannotWrite(path: url.path, reason: describeIOError(error))
        }
    }
}
