import Foundation
import ImageCodecs
import ImageData
import Optimizers
import Torch
import Transfer
import ImageData

/// A validation image the reported model got wrong, for the report's gallery.
public struct Misprediction: Sendable, Equatable {
    /// The sample's index in the validation set.
    public var index: Int
    /// ``Dataset/source(at:)``: the file it came from.
    public var source: String
    public var trueClass: String
    public var predictedClass: String
    /// The softmax probability of the predicted class.
    public var confidence: Double
    /// A PNG at most 128 pixels on its long side; nil when the image could not be read again.
    public var thumbnailPNG: Data?

    public init(index: Int, source: String, trueClass: String, predictedClass: String, confidence: Double,
                thumbnailPNG: Data?) {
        self.index = index
        self.source = source
        self.trueClass = trueClass
        self.predictedClass = predictedClass
        self.confidence = confidence
        self.thumbnailPNG = thumbnailPNG
    }
}

/// What report.html shows, as plain values: ``RunReport`` fills it in from a finished run
/// and ``html()`` renders it as one self-contained page (inline CSS, images as `data:` URIs).
public struct ReportPage: Sendable {
    public var architecture: String
    /// When the run started (the model card's `created`).
    public var created: String
    public var recipe: Recipe
    public var classes: [String]
    public var history: [EpochRecord]
    /// Wall-clock time of the whole run.
    public var seconds: Double
    public var stoppedEarly: Bool
    /// Images per class in the training set, and in the validation set when there is one.
    public var trainCounts: [Int]
    public var validationCounts: [Int]?
    /// Files the loaders skipped as unreadable (``BadFilePolicy/skip``).
    public var skipped: [SampleError]
    /// Validation metrics of the reported model (confusion matrix, per-class table).
    public var validation: ClassificationMetrics?
    /// Which model ``validation`` and ``worst`` describe, as a noun phrase ("the best model (epoch 3)").
    public var validationSource: String?
    /// The most confidently wrong validation predictions, most confident first.
    public var worst: [Misprediction]
    /// Why ``worst`` could not be computed, when the evaluation failed.
    public var worstError: String?
    public var curvesPNG: Data?
    /// The learning-rate finder's plots (``Plots/learningRateFinder(_:width:height:)``), per phase it ran for.
    public var learningRatePlots: [(phase: Phase, png: Data, finding: LearningRateFinding)] = []
    /// A multi-label run's validation metrics at its chosen thresholds (the confusion matrix,
    /// single-label per-class table and worst images don't apply).
    public var multiLabel: MultiLabelMetrics?
    /// Temperature scaling on the validation set, and its reliability diagram.
    public var calibration: Calibration?
    public var reliabilityPNG: Data?
    public var confusionPNG: Data?
    /// The forward passes' precision and why it was chosen.
    public var precision: ResolvedPrecision?

    public init(architecture: String, created: String, recipe: Recipe, classes: [String], history: [EpochRecord],
                seconds: Double, stoppedEarly: Bool, trainCounts: [Int], validationCounts: [Int]?,
                skipped: [SampleError], validation: ClassificationMetrics? = nil, validationSource: String? = nil,
                worst: [Misprediction] = [], worstError: String? = nil, curvesPNG: Data? = nil,
                confusionPNG: Data? = nil) {
        self.architecture = architecture
        self.created = created
        self.recipe = recipe
        self.classes = classes
        self.history = history
        self.seconds = seconds
        self.stoppedEarly = stoppedEarly
        self.trainCounts = trainCounts
        self.validationCounts = validationCounts
        self.skipped = skipped
        self.validation = validation
        self.validationSource = validationSource
        self.worst = worst
        self.worstError = worstError
        self.curvesPNG = curvesPNG
        self.confusionPNG = confusionPNG
    }

    /// The section headings, in page order.
    public static let sections = ["Recipe", "Data", "BatchNorm policy", "Results", "Training curves", "Calibration",
                                  "Confusion matrix", "Per-class metrics", "Worst-classified validation images"]

    /// The whole page.
    public func html() -> String {
        let title = "Graft run report: \(architecture)"
        let bodies = [recipeSection(), dataSection(), batchNormSection(), resultsSection(), curvesSection(),
                      calibrationSection(), confusionSection(), perClassSection(), worstSection()]
        var page = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(escape(title))</title>
        <style>\(Self.style)</style>
        </head>
        <body>
        <h1>\(escape(title))</h1>
        <p class="meta">Run started \(escape(created)) · Graft \(escape(GraftInfo.version))</p>

        """
        for (heading, body) in zip(Self.sections, bodies) {
            page += "<section>\n<h2>\(escape(heading))</h2>\n\(body)</section>\n"
        }
        return page + "</body>\n</html>\n"
    }

    // MARK: Sections

    func recipeSection() -> String {
        let rows = Mirror(reflecting: recipe).children.compactMap { child in
            child.label.map { ["<code>\(escape($0))</code>", escape(Self.describe(child.value))] }
        }
        let precisionLine = precision.map {
            "<p>Precision: <b>\(escape($0.precision.rawValue))</b>, \(escape($0.reason)). "
                + "Weights, optimizer state, losses, cached features and metrics are fp32.</p>\n"
        } ?? ""
        return precisionLine + table(["Field", "Value"], rows)
    }

    func dataSection() -> String {
        let trainTotal = trainCounts.reduce(0, +)
        var html = "<p>Training set: \(trainTotal) images in \(classes.count) classes. "
        if let validationCounts {
            html += "Validation set: \(validationCounts.reduce(0, +)) images.</p>\n"
        } else {
            html += "No validation set.</p>\n"
        }
        let headers = ["Class", "Training images"] + (validationCounts == nil ? [] : ["Validation images"])
        let rows = classes.indices.map { c in
            [escape(classes[c]), number(trainCounts.indices.contains(c) ? trainCounts[c] : 0)]
                + (validationCounts.map { [number($0.indices.contains(c) ? $0[c] : 0)] } ?? [])
        }
        let perClass = table(headers, rows, numericFrom: 1)
        html += classes.count > 40
            ? "<details><summary>Images per class</summary>\n\(perClass)</details>\n"
            : "<h3>Images per class</h3>\n\(perClass)"
        html += "<h3>Skipped files</h3>\n"
        // A file skipped in every epoch is listed once.
        var seen = Set<String>()
        let unique = skipped.filter { seen.insert($0.source + "\u{0}" + $0.reason).inserted }
        if unique.isEmpty {
            html += "<p>No file was skipped.</p>\n"
        } else {
            html += "<p>\(unique.count) unreadable \(unique.count == 1 ? "file was" : "files were") left out:</p>\n"
            html += table(["File", "Reason"], unique.map { ["<code>\(escape($0.source))</code>", escape($0.reason)] })
        }
        return html
    }

    func batchNormSection() -> String {
        Self.describeBatchNorm(recipe).map { "<p>\($0)</p>\n" }.joined()
    }

    /// The recipe's BatchNorm settings in words: what the BatchNorm layers did in each phase,
    /// one paragraph per phase.
    static func describeBatchNorm(_ recipe: Recipe) -> [String] {
        func epochs(_ range: ClosedRange<Int>) -> String {
            range.count == 1 ? "epoch \(range.lowerBound)" : "epochs \(range.lowerBound)–\(range.upperBound)"
        }
        var paragraphs: [String] = []
        if recipe.epochs > 0 {
            var text = "<strong>First phase</strong> (\(epochs(1...recipe.epochs))), "
                + "<code>batchNorm: \(escape(recipe.batchNorm.rawValue))</code>: "
            let part: String?
            switch recipe.freeze {
            case .none: part = nil
            case .backbone: part = "the frozen trunk"
            case .upTo(let layer): part = "the frozen part (up to and including <code>\(escape(layer))</code>)"
            }
            switch (part, recipe.batchNorm) {
            case (nil, _):
                text += "nothing was frozen (<code>freeze: none</code>), so the policy did not apply; every "
                    + "BatchNorm layer trained normally, normalising with batch statistics and updating its "
                    + "running statistics."
            case (let part?, .frozen):
                text += "BatchNorm layers of \(part) stayed in eval mode; their running statistics did not change "
                    + "and their weight and bias were not trained."
            case (let part?, .train):
                text += "BatchNorm layers of \(part) stayed in train mode: they normalised with each batch's "
                    + "statistics and kept updating their running statistics (as PyTorch's transfer-learning "
                    + "tutorial does), although their weight and bias were not trained."
            case (let part?, .affineOnly):
                text += "BatchNorm layers of \(part) kept their running statistics fixed (eval mode), but their "
                    + "weight and bias were trained (fastai's <code>train_bn</code>)."
            }
            paragraphs.append(text)
        }
        if recipe.fineTuneEpochs > 0 {
            var text = "<strong>Fine-tuning phase</strong> (\(epochs(recipe.epochs + 1...recipe.totalEpochs))), "
                + "<code>fineTuneBatchNorm: \(escape(recipe.fineTuneBatchNorm.rawValue))</code>: nothing was frozen; "
            switch recipe.fineTuneBatchNorm {
            case .train:
                text += "every BatchNorm layer trained normally, normalising with batch statistics, updating its "
                    + "running statistics and training its weight and bias."
            case .frozen, .affineOnly:
                text += "every BatchNorm layer stayed in eval mode, so the running statistics did not change, "
                    + "while the weight and bias of every BatchNorm layer were trained."
            }
            paragraphs.append(text)
        }
        return paragraphs
    }

    func resultsSection() -> String {
        guard !history.isEmpty else { return "<p>No epoch finished.</p>\n" }
        var rows: [[String]] = []
        let best = history.last(where: \.isBest)
        if let best {
            rows.append(["Best epoch", "\(best.epoch + 1) (\(escape(best.phase.rawValue)) phase)"])
            rows.append(["Chosen by", validationCounts == nil
                ? "training \(recipe.bestMetric == .valLoss ? "loss" : "accuracy") (no validation set)"
                : "<code>\(escape(recipe.bestMetric.rawValue))</code>"])
            if let map = best.valMAP { rows.append(["Validation mAP", decimal(map)]) }
            if let multiLabel {
                rows.append(["Validation F1 at the chosen thresholds", "micro \(decimal(multiLabel.microF1)), macro "
                             + decimal(multiLabel.macroF1)])
            }
            if let accuracy = best.valAccuracy {
                rows.append([recipe.multiLabel == true ? "Validation accuracy (per class and image, at 0.5)"
                             : "Validation accuracy", percent(accuracy)])
            }
            if let top5 = best.valTop5 { rows.append(["Validation top-5 accuracy", percent(top5)]) }
            if let loss = best.valLoss { rows.append(["Validation loss", decimal(loss)]) }
            if let validation { rows.append(["Validation macro F1", decimal(validation.macroF1)]) }
            rows.append(["Training accuracy", percent(best.trainAccuracy)])
            rows.append(["Training loss", decimal(best.trainLoss)])
        } else {
            rows.append(["Best epoch", "none recorded"])
        }
        let epochs = "\(history.count) of \(recipe.totalEpochs)"
        rows.append(["Epochs run", stoppedEarly
            ? epochs + " (stopped early: no improvement in \(recipe.earlyStoppingPatience ?? 0) epochs)" : epochs])
        rows.append(["Training time", duration(seconds)])
        let cached = history.filter(\.cached).count
        rows.append(["Feature cache", cached == 0 ? "not used: every epoch ran the whole network"
            : "used in \(cached) of \(history.count) epochs: the frozen trunk's features were computed once "
                + "and only the head ran"])
        return table(nil, rows)
    }

    func curvesSection() -> String {
        guard let curvesPNG else { return "<p>No epoch finished, so there are no curves.</p>\n" }
        var html = image(curvesPNG, alt: "Loss and accuracy per epoch", className: "chart")
            + "<p class=\"note\">The dashed line marks the start of the fine-tuning phase; the red dot the best "
            + "epoch. Data: <code>metrics.csv</code>.</p>\n"
        for plot in learningRatePlots {
            let rate = plot.finding.suggestion.map { String(format: "%.3g", $0) } ?? "none"
            html += image(plot.png, alt: "Learning-rate finder, \(plot.phase.rawValue) phase", className: "chart")
                + "<p class=\"note\">The \(escape(plot.phase.rawValue)) phase's learning rate came from fastai's finder "
                + "(<code>--lr auto</code>): \(plot.finding.losses.count) batches swept, valley suggestion \(rate) "
                + "(<code>lr_find_\(escape(plot.phase.rawValue)).png</code>).</p>\n"
        }
        return html
    }

    func calibrationSection() -> String {
        guard let calibration else {
            return "<p>Not calibrated (<code>--calibrate</code> fits a temperature on the validation set).</p>\n"
        }
        var html = table(nil, [
            ["Temperature", String(format: "%.4f", calibration.temperature)],
            ["Expected calibration error (15 bins)", String(format: "%.4f before, %.4f after", calibration.eceBefore,
                                                           calibration.eceAfter)],
            ["Validation loss (NLL)", String(format: "%.4f before, %.4f after", calibration.nllBefore, calibration.nllAfter)],
        ])
        if let reliabilityPNG {
            html += image(reliabilityPNG, alt: "Reliability diagram before and after temperature scaling", className: "chart")
        }
        return html + "<p class=\"note\">The logits are divided by the temperature before the softmax in "
            + "<code>graft predict</code> and <code>graft eval</code> (accuracy doesn't change). It was fitted on the "
            + "\(calibration.samples) validation images that also chose the best epoch, so the \"after\" figures are "
            + "measured on the data they were fitted to.</p>\n"
    }

    func confusionSection() -> String {
        if recipe.multiLabel == true { return "<p>A multi-label run has no confusion matrix: see the per-class metrics.</p>\n" }
        guard let validation else { return "<p>No validation metrics (no validation set).</p>\n" }
        var html = validationSource.map {
            "<p class=\"note\">Computed on the validation set with \(escape($0)).</p>\n"
        } ?? ""
        if let confusionPNG {
            html += image(confusionPNG, alt: "Confusion matrix of the validation set", className: "chart")
        }
        if validation.classes.count > Plots.maxClassesWithCounts {
            html += "<p class=\"note\">With more than \(Plots.maxClassesWithCounts) classes the cells show "
                + "no counts.</p>\n"
        }
        return html
    }

    func perClassSection() -> String {
        if let multiLabel {
            let rows = multiLabel.perClass.sorted { ($0.f1, $0.name) < ($1.f1, $1.name) }.map { c in
                [escape(c.name), c.averagePrecision.map { decimal($0, 3) } ?? "-", decimal(c.threshold, 3),
                 decimal(c.precision, 3), decimal(c.recall, 3), decimal(c.f1, 3), number(c.support)]
            }
            return "<p class=\"note\">Multi-label: each class's threshold maximises its validation F1 and is stored in "
                + "the model card for <code>graft predict</code>. Worst F1 first.</p>\n"
                + table(["Class", "Average precision", "Threshold", "Precision", "Recall", "F1", "Positives"], rows,
                        numericFrom: 1)
        }
        guard let validation else { return "<p>No validation metrics (no validation set).</p>\n" }
        let rows = validation.perClass.sorted { ($0.f1, $0.name) < ($1.f1, $1.name) }.map { c in
            [escape(c.name), decimal(c.precision, 3), decimal(c.recall, 3), decimal(c.f1, 3), number(c.support)]
        }
        return "<p class=\"note\">Worst F1 first. Precision, recall and F1 are 0 where undefined.</p>\n"
            + table(["Class", "Precision", "Recall", "F1", "Support"], rows, numericFrom: 1)
    }

    func worstSection() -> String {
        if recipe.multiLabel == true { return "<p>Not drawn for multi-label runs.</p>\n" }
        if let worstError {
            return "<p class=\"error\">The validation set could not be evaluated again: \(escape(worstError))</p>\n"
        }
        guard validationCounts != nil else { return "<p>No validation set.</p>\n" }
        guard !worst.isEmpty else { return "<p>Every validation image was classified correctly.</p>\n" }
        var html = "<p class=\"note\">The \(worst.count) most confidently wrong predictions"
            + (validationSource.map { " of \(escape($0))" } ?? "")
            + ", most confident first.</p>\n<div class=\"gallery\">\n"
        for miss in worst {
            let picture = miss.thumbnailPNG.map { image($0, alt: miss.source) }
                ?? "<div class=\"missing\">image unreadable</div>\n"
            html += "<figure>\(picture)<figcaption>true: <strong>\(escape(miss.trueClass))</strong><br>"
                + "predicted: <strong>\(escape(miss.predictedClass))</strong> (\(percent(miss.confidence)))<br>"
                + "<span class=\"source\">\(escape(miss.source))</span></figcaption></figure>\n"
        }
        return html + "</div>\n"
    }

    // MARK: Pieces

    static let style = """
    body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1240px;\
    margin:2em auto;padding:0 1em}\
    h1{font-size:1.7em;margin-bottom:.1em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
    h3{font-size:1.05em;margin-bottom:.3em}.meta,.note{color:#666}.error{color:#b00020}\
    table{border-collapse:collapse;margin:.4em 0}th,td{padding:.25em .8em;border-bottom:1px solid #eee;\
    text-align:left;vertical-align:top}th{background:#f6f6f6}td.num,th.num{text-align:right;\
    font-variant-numeric:tabular-nums}code{font-size:.92em;background:#f4f4f4;padding:0 .25em;border-radius:3px}\
    img.chart{max-width:100%;height:auto;border:1px solid #eee}\
    .gallery{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;width:170px;font-size:.85em}\
    figure img,.missing{display:block;max-width:128px;max-height:128px;border:1px solid #ddd}\
    .missing{width:128px;height:96px;color:#999;text-align:center;line-height:96px}\
    .source{color:#888;word-break:break-all}
    """

    /// A table of already-escaped cells; columns from `numericFrom` on are right-aligned. Without
    /// `headers`, the first column labels the rows.
    func table(_ headers: [String]?, _ rows: [[String]], numericFrom: Int = .max) -> String {
        func cells(_ values: [String], tag: String, from first: Int = 0) -> String {
            values.enumerated().map { i, value in
                first + i >= numericFrom ? "<\(tag) class=\"num\">\(value)</\(tag)>" : "<\(tag)>\(value)</\(tag)>"
            }.joined()
        }
        var html = "<table>\n"
        if let headers { html += "<tr>\(cells(headers.map(escape), tag: "th"))</tr>\n" }
        for row in rows {
            let body = headers != nil ? cells(row, tag: "td")
                : "<th>\(row[0])</th>" + cells(Array(row.dropFirst()), tag: "td", from: 1)
            html += "<tr>\(body)</tr>\n"
        }
        return html + "</table>\n"
    }

    func image(_ png: Data, alt: String, className: String? = nil) -> String {
        let classAttribute = className.map { " class=\"\($0)\"" } ?? ""
        return "<img\(classAttribute) alt=\"\(escape(alt))\" src=\"data:image/png;base64,\(png.base64EncodedString())\">\n"
    }

    /// A recipe value as text: optionals unwrapped (`none` when nil), enums by raw value.
    static func describe(_ value: Any) -> String {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            return mirror.children.first.map { describe($0.value) } ?? "none"
        }
        if let raw = value as? any RawRepresentable { return "\(raw.rawValue)" }
        return "\(value)"
    }
}

/// `text` with `& < > " '` escaped, for HTML text and attribute values.
func escape(_ text: some StringProtocol) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}

fileprivate func percent(_ value: Double) -> String { String(format: "%.2f%%", value * 100) }
fileprivate func decimal(_ value: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", value) }
fileprivate func number(_ value: Int) -> String { String(value) }

/// `12.3 s`, `4 min 05 s`, `1 h 02 min`.
fileprivate func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 60 else { return String(format: "%.1f s", seconds) }
    let total = Int(seconds.rounded())
    return total < 3600 ? String(format: "%d min %02d s", total / 60, total % 60)
        : String(format: "%d h %02d min", total / 3600, total % 3600 / 60)
}
