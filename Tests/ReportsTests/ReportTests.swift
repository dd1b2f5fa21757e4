import Foundation
import ImageCodecs
@testable import ImageData
import NN
import Optimizers
import Pretrained
import Testing
import Torch
import Vision
@testable import Reports
@testable import Transfer
import GraftTestSupport

/// A deterministic byte pattern: a gradient (where the Sub filter wins) mixed with noise.
func testPattern(width: Int, height: Int, noise: Bool) -> [UInt8] {
    var state: UInt32 = 12345
    return (0..<width * height * 3).map { i in
        state = state &* 1_664_525 &+ 1_013_904_223
        let x = i / 3 % width, y = i / 3 / width
        return noise ? UInt8(state >> 24) : UInt8(truncatingIfNeeded: x * 7 + y * 3 + i % 3 * 50)
    }
}

/// Every `data:image/png;base64,` URI in `html`, decoded.
func inlinedImages(_ html: String) throws -> [DecodedImage] {
    let prefix = "data:image/png;base64,"
    return try html.components(separatedBy: prefix).dropFirst().map { tail in
        let base64 = String(tail.prefix { $0 != "\"" })
        let data = try #require(Data(base64Encoded: base64), "an inlined image is not valid base64")
        return try ImageDecoder.decode(data)
    }
}

/// The HTML between a section's heading and the next section.
func section(_ title: String, of html: String) -> String {
    guard let start = html.range(of: "<h2>\(title)</h2>") else { return "" }
    let rest = html[start.upperBound...]
    return String(rest[..<(rest.range(of: "</section>")?.lowerBound ?? rest.endIndex)])
}

func record(_ epoch: Int, _ phase: Phase, loss: Double, accuracy: Double, valLoss: Double?, valAccuracy: Double?,
            best: Bool = false, cached: Bool = false) -> EpochRecord {
    EpochRecord(epoch: epoch, phase: phase, trainLoss: loss, trainAccuracy: accuracy, valLoss: valLoss,
                valAccuracy: valAccuracy, valTop5: valAccuracy.map { min(1, $0 + 0.1) }, learningRate: 1e-3,
                seconds: 2.5, cached: cached, isBest: best)
}

/// A six-epoch history: four head epochs (cached), two fine-tuning epochs, a non-finite validation loss.
let fakeHistory: [EpochRecord] = [
    record(0, .head, loss: 1.9, accuracy: 0.35, valLoss: 1.7, valAccuracy: 0.42, best: true, cached: true),
    record(1, .head, loss: 1.4, accuracy: 0.55, valLoss: 1.3, valAccuracy: 0.58, best: true, cached: true),
    record(2, .head, loss: 1.1, accuracy: 0.66, valLoss: .nan, valAccuracy: 0.61, best: true, cached: true),
    record(3, .head, loss: 0.9, accuracy: 0.71, valLoss: 1.05, valAccuracy: 0.60, cached: true),
    record(4, .fineTune, loss: 0.6, accuracy: 0.82, valLoss: 0.8, valAccuracy: 0.74, best: true),
    record(5, .fineTune, loss: 0.4, accuracy: 0.90, valLoss: 0.85, valAccuracy: 0.72),
]

/// Metrics with `confusion[true][predicted]` as given.
func metrics(classes: [String], confusion: [[Int]]) -> ClassificationMetrics {
    var m = ClassificationMetrics(classes: classes)
    for (truth, row) in confusion.enumerated() {
        for (predicted, count) in row.enumerated() where count > 0 {
            let logits = Tensor.zeros([count, classes.count])
            logits.select(dim: 1, index: predicted).fill_(5)
            let labels = Tensor([Int64](repeating: Int64(truth), count: count))
            m.update(logits: logits, labels: labels, lossSum: 0.5 * Double(count))
        }
    }
    return m
}

@Suite(.serialized)
struct ReportTests {
    // MARK: PNG

    @Test(arguments: [(37, 23, false), (1, 1, false), (700, 700, true)])
    func pngRoundTripsThroughTheDecoder(width: Int, height: Int, noise: Bool) throws {
        var canvas = Canvas(width: width, height: height)
        let pattern = testPattern(width: width, height: height, noise: noise)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                canvas.setPixel(x: x, y: y, color: .init(red: pattern[i], green: pattern[i + 1], blue: pattern[i + 2]))
            }
        }
        let png = try canvas.pngData()
        let decoded = try ImageDecoder.decode(png)
        #expect(decoded.width == width && decoded.height == height && decoded.channels == 3 && decoded.bitDepth == 8)
        #expect(decoded.pixels == canvas.pixels)
        if noise {  // incompressible: the data must have been split over several IDAT chunks
            #expect(png.count > 1 << 20)
        }
    }

    @Test func pngFromTensors() throws {
        let rgb = Tensor(testPattern(width: 9, height: 5, noise: true), shape: [3, 5, 9])
        let decodedRGB = try ImageDecoder.decode(PNG.encode(rgb))
        #expect(decodedRGB.pixels == rgb.permute([1, 2, 0]).contiguous().toArray(UInt8.self))
        let gray = Tensor((0..<20).map { UInt8($0 * 12) }, shape: [1, 4, 5])
        let decodedGray = try ImageDecoder.decode(PNG.encode(gray), options: DecodeOptions(channels: nil))
        #expect(decodedGray.width == 5 && decodedGray.height == 4)
        #expect(decodedGray.pixels == gray.expand([3, 4, 5]).permute([1, 2, 0]).contiguous().toArray(UInt8.self))
        #expect(throws: PNGError.notAnImage(shape: [3, 4, 5], dtype: "\(DType.float32)")) {
            try PNG.encode(Tensor.zeros([3, 4, 5]))
        }
        #expect(throws: PNGError.self) { try PNG.encode(rgb: [1, 2], width: 1, height: 1) }
    }

    @Test func thumbnailsKeepTheAspectRatio() {
        let image = Tensor.full([3, 300, 200], 200, dtype: .uint8)
        let small = RunReport.thumbnail(image)
        #expect(small.shape == [3, 128, 85] && small.dtype == .uint8)
        #expect(small.toArray(UInt8.self).allSatisfy { $0 == 200 })
        let tiny = Tensor.zeros([1, 20, 30], dtype: .uint8)
        #expect(RunReport.thumbnail(tiny).shape == [1, 20, 30])
    }

    // MARK: Canvas

    @Test func fontCoversPrintableASCII() {
        #expect(BitmapFont.glyphs.count == 95)
        #expect(BitmapFont.glyphs.allSatisfy { $0.count == BitmapFont.glyphHeight && $0.allSatisfy { $0 < 32 } })
        #expect(BitmapFont.glyphs[0].allSatisfy { $0 == 0 })  // space
        for character in "0123456789ABCxyz.-%:/()_<&>" {
            #expect(BitmapFont.rows(of: character).contains { $0 != 0 }, "\(character) has no ink")
        }
        #expect(BitmapFont.rows(of: "é") == BitmapFont.rows(of: "?"))
    }

    @Test func textStaysInsideItsBox() {
        for rotated in [false, true] {
            var canvas = Canvas(width: 120, height: 120)
            let size = Canvas.textSize("Ag_9%", scale: 3)
            #expect(size == (width: (5 * 6 - 1) * 3, height: 24))
            canvas.text("Ag_9%", x: 10, y: rotated ? 110 : 10, color: .black, scale: 3, rotated: rotated)
            var inked: [(Int, Int)] = []
            for y in 0..<120 { for x in 0..<120 where canvas[x, y] == .black { inked.append((x, y)) } }
            let box = rotated ? (x: 10..<10 + size.height, y: 110 - size.width + 1..<111)
                              : (x: 10..<10 + size.width, y: 10..<10 + size.height)
            #expect(!inked.isEmpty)
            #expect(inked.allSatisfy { box.x.contains($0.0) && box.y.contains($0.1) })
            #expect(inked.contains { $0.0 == box.x.lowerBound } && inked.contains { $0.1 == box.y.upperBound - 1 })
        }
    }

    @Test func linesIncludeBothEndsAndClip() {
        var canvas = Canvas(width: 20, height: 10)
        let red = Canvas.Color(hex: 0xFF0000)
        canvas.line(x0: 2, y0: 8, x1: 17, y1: 1, color: red)
        #expect(canvas[2, 8] == red && canvas[17, 1] == red)
        var count = 0
        for y in 0..<10 { for x in 0..<20 where canvas[x, y] == red { count += 1 } }
        #expect(count == 16)  // one pixel per column of an x-major line
        canvas.line(x0: -50, y0: -5, x1: 50, y1: 30, color: red, thickness: 2)
        canvas.fill(x: 15, y: 5, width: 100, height: 100, color: .black)
        #expect(canvas[19, 9] == .black)
    }

    // MARK: Charts

    @Test func trainingCurves() throws {
        let canvas = Plots.curves(fakeHistory)
        let decoded = try ImageDecoder.decode(canvas.pngData())
        #expect(decoded.width == 1200 && decoded.height == 520)
        let colors = Set(stride(from: 0, to: canvas.pixels.count, by: 3).map {
            Canvas.Color(red: canvas.pixels[$0], green: canvas.pixels[$0 + 1], blue: canvas.pixels[$0 + 2]).hex
        })
        for color in [Plots.trainColor, Plots.validationColor, Plots.bestColor, Plots.phaseColor] {
            #expect(colors.contains(color.hex), "a color of the chart is missing")
        }
        // Degenerate histories draw without trouble.
        _ = Plots.curves([record(0, .head, loss: 0.5, accuracy: 1, valLoss: nil, valAccuracy: nil, best: true)])
        _ = Plots.curves([record(0, .head, loss: .infinity, accuracy: .nan, valLoss: .nan, valAccuracy: nil)])
        _ = Plots.curves([])
    }

    @Test func niceAxes() {
        let loss = Plots.Axis(values: [0.31, 1.87], within: 0...Double.infinity, percent: false)
        #expect(loss.lower == 0 && loss.upper == 2 && loss.step == 0.5)
        #expect(loss.ticks.map(loss.label) == ["0.0", "0.5", "1.0", "1.5", "2.0"])
        let accuracy = Plots.Axis(values: [0.9, 0.95, 1], within: 0...1, percent: true)
        #expect(accuracy.upper == 1 && accuracy.ticks.map(accuracy.label).first == "90%")
        let flat = Plots.Axis(values: [1, 1], within: 0...1, percent: true)
        #expect(flat.lower < 1 && flat.upper == 1)
    }

    @Test(arguments: [3, 12, 40, 0])
    func confusionMatrix(classCount: Int) throws {
        let classes = (0..<classCount).map { "class number \($0) with a long name" }
        let confusion = (0..<classCount).map { t in (0..<classCount).map { p in t == p ? 20 + t : (t + p) % 3 } }
        let canvas = Plots.confusionMatrix(confusion, classes: classes)
        let decoded = try ImageDecoder.decode(canvas.pngData())
        #expect(decoded.width == canvas.width && decoded.width < 2000 && decoded.height < 2000)
        #expect(Plots.shortLabel(classes.first ?? "") .count <= Plots.maxLabelLength)
    }

    // MARK: HTML

    func fakePage() throws -> ReportPage {
        let classes = ["cat", "<b>&dog</b>", "emu"]
        var recipe = Recipe(model: "resnet18")
        recipe.epochs = 4
        recipe.fineTuneEpochs = 2
        recipe.freeze = .upTo("layer3")
        recipe.gradientClip = 1.5
        let thumbnail = try PNG.encode(Tensor(testPattern(width: 12, height: 8, noise: false), shape: [3, 8, 12]))
        return ReportPage(
            architecture: "resnet18", created: "2025-01-02T03:04:05Z", recipe: recipe, classes: classes,
            history: fakeHistory, seconds: 754, stoppedEarly: false, trainCounts: [30, 20, 10],
            validationCounts: [10, 7, 5],
            skipped: [SampleError(epoch: 0, index: 3, source: "train/emu/<broken>.jpg", reason: "not a JPEG"),
                      SampleError(epoch: 1, index: 3, source: "train/emu/<broken>.jpg", reason: "not a JPEG")],
            validation: metrics(classes: classes, confusion: [[8, 2, 0], [1, 5, 1], [0, 4, 1]]),
            validationSource: "the best model (epoch 5, read back from model.safetensors)",
            worst: [Misprediction(index: 4, source: "val/emu/4.jpg", trueClass: "emu", predictedClass: "<b>&dog</b>",
                                  confidence: 0.93, thumbnailPNG: thumbnail),
                    Misprediction(index: 7, source: "val/cat/7.jpg", trueClass: "cat", predictedClass: "emu",
                                  confidence: 0.61, thumbnailPNG: nil)],
            curvesPNG: try Plots.curves(fakeHistory).pngData(),
            confusionPNG: try Plots.confusionMatrix([[8, 2, 0], [1, 5, 1], [0, 4, 1]], classes: classes).pngData())
    }

    @Test func htmlHasEverySectionAndEscapes() throws {
        let page = try fakePage()
        let html = page.html()
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        #expect(!html.contains("<script"))
        for heading in ReportPage.sections { #expect(html.contains("<h2>\(heading)</h2>"), "missing \(heading)") }
        // Class names are escaped everywhere, never raw.
        #expect(!html.contains("<b>&dog</b>") && !html.contains("<broken>"))
        #expect(html.contains("&lt;b&gt;&amp;dog&lt;/b&gt;") && html.contains("train/emu/&lt;broken&gt;.jpg"))
        // Every recipe field has a row.
        let recipe = section("Recipe", of: html)
        for child in Mirror(reflecting: page.recipe).children {
            #expect(recipe.contains("<code>\(child.label ?? "?")</code>"), "recipe field \(child.label ?? "?") missing")
        }
        #expect(recipe.contains("layer3") && recipe.contains("1.5") && recipe.contains("val_accuracy"))
        // Per-class rows, worst F1 first: emu (F1 0.286), then <b>&dog</b> (0.5), then cat.
        let perClass = section("Per-class metrics", of: html)
        let order = ["emu", "&lt;b&gt;&amp;dog&lt;/b&gt;", "cat"].map { perClass.range(of: "<td>\($0)</td>")?.lowerBound }
        #expect(order.allSatisfy { $0 != nil } && order[0]! < order[1]! && order[1]! < order[2]!)
        #expect(perClass.contains("<td class=\"num\">0.286</td>"))
        // The skipped file is listed once.
        #expect(section("Data", of: html).components(separatedBy: "&lt;broken&gt;").count == 2)
        let batchNorm = section("BatchNorm policy", of: html)
        #expect(batchNorm.contains("First phase</strong> (epochs 1–4)"))
        #expect(batchNorm.contains("running statistics did not change"))
        #expect(batchNorm.contains("Fine-tuning phase</strong> (epochs 5–6), <code>fineTuneBatchNorm: train</code>"))
        let results = section("Results", of: html)
        #expect(results.contains("5 (fine-tune phase)") && results.contains("74.00%") && results.contains("12 min 34 s"))
        #expect(results.contains("used in 4 of 6 epochs"))
        // Images: curves, confusion matrix, one thumbnail; all decode.
        let images = try inlinedImages(html)
        #expect(images.map(\.width) == [1200, try ImageDecoder.decode(#require(page.confusionPNG)).width, 12])
        let worst = section("Worst-classified validation images", of: html)
        #expect(worst.components(separatedBy: "<figure>").count == 3 && worst.contains("93.00%"))
        #expect(worst.contains("image unreadable"))
    }

    @Test func htmlWithoutValidationOrEpochs() throws {
        var page = try fakePage()
        page.validationCounts = nil
        page.validation = nil
        page.validationSource = nil
        page.worst = []
        page.confusionPNG = nil
        page.curvesPNG = nil
        page.history = []
        page.recipe.freeze = .none
        page.skipped = []
        let html = page.html()
        for heading in ReportPage.sections { #expect(html.contains("<h2>\(heading)</h2>")) }
        #expect(try inlinedImages(html).isEmpty)
        for phrase in ["No validation set", "No epoch finished", "No file was skipped"] { #expect(html.contains(phrase)) }
        #expect(section("BatchNorm policy", of: html).contains("did not apply"))
    }

    // MARK: A real run

    /// A tiny MobileNetV3 run (two head epochs, one fine-tuning epoch) in `run`, and its validation set:
    /// 8 images of 160×120 whose first two are identical but labelled differently, so one is always wrong.
    func tinyRun(in run: URL) throws -> (Trainer, TrainingResult, MemoryDataset, MemoryDataset) {
        let classes = ["a", "b & <c>", "d", "e"]
        Torch.manualSeed(11)
        let model = MobileNetV3.small(numClasses: 4)
        model.graftHead(numClasses: 4)
        let trainImages = (0..<8).map { _ in Tensor.randint(0, 256, [3, 32, 32]).to(.uint8) }
        var validationImages = (0..<8).map { _ in Tensor.randint(0, 256, [3, 120, 160]).to(.uint8) }
        validationImages[1] = validationImages[0]
        let trainSet = MemoryDataset(images: trainImages, labels: (0..<8).map { $0 % 4 }, classes: classes)
        let validationSet = MemoryDataset(images: validationImages, labels: (0..<8).map { $0 % 4 }, classes: classes)
        let asFloat = { (images: [Tensor]) in Tensor.stack(images).to(.float32) / 255.0 }
        var recipe = Recipe(model: "mobilenet_v3_small")
        recipe.epochs = 2
        recipe.fineTuneEpochs = 1
        recipe.batchSize = 4
        let preprocessing = Preprocessing(cropSize: 32, resizeSize: 32, interpolation: .bilinear,
                                          mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        let trainer = Trainer(
            recipe: recipe, model: model, classes: classes,
            train: TensorBatches(images: asFloat(trainImages), labels: trainSet.labels, batchSize: 4),
            validation: TensorBatches(images: Functional.interpolate(asFloat(validationImages), size: (32, 32),
                                                                     mode: .bilinear),
                                      labels: validationSet.labels, batchSize: 4),
            runDirectory: run,
            card: ModelCard(architecture: "mobilenet_v3_small", classes: classes, preprocessing: preprocessing))
        let result = try trainer.fit()
        return (trainer, result, trainSet, validationSet)
    }

    @Test func writesTheRunFolder() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("graft-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: run) }
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let (trainer, result, trainSet, validationSet) = try tinyRun(in: run)
        let skipped = [SampleError(epoch: 0, index: 2, source: "memory/d/2.png", reason: "truncated file")]
        try RunReport(trainer: trainer, result: result, trainSet: trainSet, validationSet: validationSet,
                      skipped: skipped).write(to: run)
        for name in ["metrics.csv", "curves.png", "confusion.png", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), "\(name) missing")
        }
        #expect(try String(contentsOf: run.appendingPathComponent("metrics.csv"), encoding: .utf8)
            .split(separator: "\n").count == 4)
        let html = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        for heading in ReportPage.sections { #expect(html.contains("<h2>\(heading)</h2>")) }
        #expect(html.contains("read back from model.safetensors") && html.contains("b &amp; &lt;c&gt;"))
        #expect(html.contains("memory/d/2.png") && html.contains("truncated file"))
        let images = try inlinedImages(html)
        let thumbnails = images.dropFirst(2)
        #expect(images.count >= 3 && images.count <= 2 + RunReport.worstCount)
        #expect(thumbnails.allSatisfy { $0.width == 128 && $0.height == 96 })
        // No leftover temporary files from the atomic writes.
        #expect(try FileManager.default.contentsOfDirectory(atPath: run.path).allSatisfy { !$0.hasPrefix(".") })

        // An unreadable validation file: the page says so and falls back to the trainer's metrics.
        var broken = validationSet
        broken.unreadable = [5]
        let other = run.appendingPathComponent("broken")
        try RunReport(trainer: trainer, result: result, trainSet: trainSet, validationSet: broken, skipped: [])
            .write(to: other)
        let brokenHTML = try String(contentsOf: other.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(brokenHTML.contains("could not be evaluated again") && brokenHTML.contains("sample 5 is unreadable"))
        #expect(brokenHTML.contains("recorded at its best epoch"))
        #expect(FileManager.default.fileExists(atPath: other.appendingPathComponent("confusion.png").path))
    }

    @Test func writesWithoutHistoryOrValidation() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("graft-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: run) }
        let model = MobileNetV3.small(numClasses: 2)
        let trainSet = MemoryDataset(images: [], labels: [], classes: ["x", "y"])
        let trainer = Trainer(recipe: Recipe(model: "mobilenet_v3_small"), model: model, classes: ["x", "y"],
                              train: TensorBatches(images: Tensor.zeros([0, 3, 8, 8]), labels: [], batchSize: 2),
                              validation: nil, runDirectory: nil,
                              card: ModelCard(architecture: "mobilenet_v3_small", classes: ["x", "y"],
                                              preprocessing: .imageNet))
        let result = TrainingResult(modelPath: nil, bestEpoch: nil, bestValAccuracy: nil, bestValLoss: nil,
                                    epochsRun: 0, seconds: 0, history: [], stoppedEarly: false)
        try RunReport(trainer: trainer, result: result, trainSet: trainSet, validationSet: nil, skipped: [])
            .write(to: run)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: run.path))
        #expect(files == ["metrics.csv", "report.html"])
        let html = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("No epoch finished") && html.contains("No validation set"))
    }
}

extension Canvas.Color {
    var hex: UInt32 { UInt32(red) << 16 | UInt32(green) << 8 | UInt32(blue) }
}
