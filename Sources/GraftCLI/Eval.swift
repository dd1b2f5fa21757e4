import ArgumentParser
import Foundation
import Graft

/// A run folder means its model.safetensors.
func modelFile(_ path: String) -> URL {
    var isDirectory: ObjCBool = false
    let url = URL(fileURLWithPath: path)
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        return url.appendingPathComponent("model.safetensors")
    }
    return url
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a fine-tuned model on labeled images.",
        discussion: """
            DATA holds one sub-folder per class named as the model's classes (or a CSV of path,label). \
            Prints accuracy, top-5 (with more than 5 classes), the loss and the expected calibration \
            error (15 bins, top label; with the temperature the model card holds, when it was \
            calibrated), per-class precision, recall and F1, and the confusion matrix (rows: true \
            class, columns: predicted).

            Examples:
              graft eval runs/r18 data/test
              graft eval runs/r18/model.safetensors data/test --json
            """
    )

    @Argument(help: "A model file, or a run folder (its model.safetensors).") var model: String
    @Argument(help: "Labeled images: a folder with one sub-folder per class, or a CSV.") var data: String
    @Option(help: "Batch size.") var batchSize: Int = 64
    @Option(help: "Test-time augmentation: none, flip (the image and its mirror) or five-crop (corners and center of the resized image); probabilities averaged.")
    var tta: TestTimeAugmentation = .none
    @Option(help: "What separates the labels of a multi-label model's CSV (DATA's label field).") var labelDelimiter: String = " "
    @Flag(help: "Ignore the model card's temperature (the probabilities before calibration).") var noCalibration = false
    @Flag(help: "Leave unreadable images out (and list them) instead of failing.") var skipBadFiles = false
    @OptionGroup(title: "Runtime") var runtime: RuntimeOptions
    @Flag(help: "One JSON object (accuracy, top5, per_class, confusion_matrix).") var json = false

    func validate() throws {
        try requireExists(model, "MODEL")
        try requireExists(data, "DATA")
        try check("--batch-size", batchSize, in: 1...65_536)
    }

    func run() throws {
        try runtime.apply()
        let precision = try runtime.resolvedPrecision()
        let (model, card) = try ModelFile.load(modelFile(self.model))
        let progress = ProgressReporter(quiet: json)
        var skipped: [SampleError] = []
        if card.multiLabel == true {
            let dataset = try openDataset(data, classes: card.classes, labelDelimiter: labelDelimiter)
            let m = try evaluateMultiLabel(model, on: dataset, classes: card.classes, preprocessing: card.preprocessing,
                                           thresholds: card.thresholds, batchSize: batchSize, workers: runtime.workerCount,
                                           device: runtime.device, precision: precision.precision,
                                           badFiles: skipBadFiles ? .skip : .fail, tta: tta,
                                           onBatch: { done, total in progress.bar(done, total, "images") },
                                           onSkipped: { skipped = $0 })
            progress.line("")
            for failure in skipped { FileHandle.standardError.write(Data("skipped: \(failure)\n".utf8)) }
            try printMultiLabel(m, skipped: skipped, precision: precision)
            return
        }
        let dataset = try openDataset(data, classes: card.classes)
        let temperature = noCalibration ? 1 : (card.temperature ?? 1)
        let (metrics, predictions) = try evaluate(model, on: dataset, classes: card.classes, preprocessing: card.preprocessing,
                                        batchSize: batchSize, workers: runtime.workerCount, device: runtime.device,
                                        precision: precision.precision, badFiles: skipBadFiles ? .skip : .fail, tta: tta, temperature: temperature,
                                        onBatch: { done, total in progress.bar(done, total, "images") },
                                        onSkipped: { skipped = $0 })
        progress.line("")
        let labels = dataset.labels
        let ece = CalibrationError.expected(confidences: predictions.map(\.confidence),
                                            correct: predictions.map { $0.predicted == labels[$0.index] }).ece
        for failure in skipped { FileHandle.standardError.write(Data("skipped: \(failure)\n".utf8)) }
        if json {
            var object: [String: Any] = [
                "accuracy": metrics.accuracy, "images": metrics.count, "skipped": skipped.map(\.source), "loss": metrics.meanLoss,
                "classes": card.classes, "confusion_matrix": metrics.confusion, "ece": ece, "temperature": temperature,
                "precision": precision.precision.rawValue,
                "per_class": metrics.perClass.map {
                    ["name": $0.name, "precision": $0.precision, "recall": $0.recall, "f1": $0.f1, "support": $0.support]
                },
            ]
            if card.classes.count > 5 { object["top5"] = metrics.top5Accuracy }
            print(try jsonLine(object))
            return
        }
        print(String(format: "accuracy %.4f on %d images", metrics.accuracy, metrics.count)
              + (card.classes.count > 5 ? String(format: ", top-5 %.4f", metrics.top5Accuracy) : "")
              + String(format: "; loss %.4f, ECE %.4f", metrics.meanLoss, ece)
              + (temperature != 1 ? String(format: " (temperature %.3f from the model card)", temperature) : ""))
        print("precision \(precision)")
        let width = min(24, max(5, card.classes.map(\.count).max() ?? 5))
        print("class".padding(toLength: width, withPad: " ", startingAt: 0) + "  precision  recall     f1  support")
        for c in metrics.perClass {
            print(String(c.name.prefix(width)).padding(toLength: width, withPad: " ", startingAt: 0)
                  + String(format: "  %9.4f  %6.4f  %5.4f  %7d", c.precision, c.recall, c.f1, c.support))
        }
        print("confusion matrix (rows: true, columns: predicted)")
        for (i, row) in metrics.confusion.enumerated() {
            print(String(card.classes[i].prefix(width)).padding(toLength: width, withPad: " ", startingAt: 0)
                  + row.map { String(format: "%6d", $0) }.joined())
        }
    }

    func printMultiLabel(_ m: MultiLabelMetrics, skipped: [SampleError], precision: ResolvedPrecision) throws {
        if json {
            var object: [String: Any] = ["map": m.meanAveragePrecision, "f1_micro": m.microF1, "f1_macro": m.macroF1,
                                         "accuracy_multi": m.elementAccuracy, "images": m.samples,
                                         "skipped": skipped.map(\.source), "classes": m.classes,
                                         "precision": precision.precision.rawValue]
            object["loss"] = m.loss ?? NSNull()
            object["per_class"] = m.perClass.map {
                ["name": $0.name, "average_precision": $0.averagePrecision ?? NSNull(), "threshold": $0.threshold,
                 "precision": $0.precision, "recall": $0.recall, "f1": $0.f1, "support": $0.support] as [String: Any]
            }
            print(try jsonLine(object))
            return
        }
        print(String(format: "mAP %.4f, F1 micro %.4f, macro %.4f on %d images (multi-label", m.meanAveragePrecision,
                     m.microF1, m.macroF1, m.samples) + (m.loss.map { String(format: "; loss %.4f", $0) } ?? "") + ")")
        print("precision \(precision)")
        let width = min(24, max(5, m.classes.map(\.count).max() ?? 5))
        print("class".padding(toLength: width, withPad: " ", startingAt: 0) + "      AP  threshold  precision  recall     f1  support")
        for c in m.perClass {
            print(String(c.name.prefix(width)).padding(toLength: width, withPad: " ", startingAt: 0)
                  + (c.averagePrecision.map { String(format: "  %6.4f", $0) } ?? "       -")
                  + String(format: "  %9.4f  %9.4f  %6.4f  %5.4f  %7d", c.threshold, c.precision, c.recall, c.f1, c.support))
        }
    }
}
