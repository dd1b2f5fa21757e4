import ArgumentParser
import Foundation
import Graft

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a fine-tuned model file or a zoo model.",
        discussion: """
            With a Graft model file (or run folder), everything it needs is in the file. With \
            --model NAME --weights imagenet|PATH, a zoo model and its ImageNet categories. \
            --json prints one object per image per line:
              {"path": ..., "top": [{"index": ..., "label": ..., "probability": ...}, ...]}
            An image that can't be read gets {"path": ..., "error": ...} and the exit status is 1.

            Examples:
              graft predict runs/r18 photo1.jpg photo2.png
              graft predict --model efficientnet_lite0 --weights imagenet --top 3 cat.jpg
              graft predict runs/r18 images/*.jpg --json
              graft predict runs/r18 photos/     # every image under the folder, sorted
            """
    )

    @Argument(help: "A model file or run folder, then images or folders of images (or only those with --model).")
    var arguments: [String]
    @Option(help: "A zoo model (with --weights) instead of a model file.") var model: String?
    @Option(help: "imagenet, a catalogue tag (IMAGENET1K_V1, ...) or a weights file (with --model).")
    var weights: WeightsSource = .pretrained
    @Option(help: "How many classes to print per image.") var top: Int = 5
    @Option(help: "Batch size.") var batchSize: Int = 32
    @Option(help: "Test-time augmentation: none, flip (the image and its mirror) or five-crop (corners and center of the resized image); probabilities averaged.")
    var tta: TestTimeAugmentation = .none
    @Flag(help: "Ignore the model card's temperature (the probabilities before calibration).") var noCalibration = false
    @OptionGroup(title: "Runtime") var runtime: RuntimeOptions
    @Flag(help: "One JSON object per image per line.") var json = false

    func validate() throws {
        try check("--top", top, in: 1...100_000)
        try check("--batch-size", batchSize, in: 1...65_536)
        if let model, Zoo.entry(model) == nil { throw ValidationError("--model: \(ZooError.unknownModel(model))") }
        if model == nil && arguments.count < 2 {
            throw ValidationError("give a model file (or --model NAME) and at least one image")
        }
        if model != nil && arguments.isEmpty { throw ValidationError("give at least one image") }
        if model == nil { try requireExists(arguments[0], "MODEL") }
        if let model { try checkWeightsTag(weights, model: model) }
    }

    func run() throws {
        try runtime.apply()
        let precision = try runtime.resolvedPrecision()
        let loaded: LoadedModel
        let images: [String]
        if let model {
            if let warning = licenseWarning(model: model, weights: weights) {
                FileHandle.standardError.write(Data((warning + "\n").utf8))
            }
            loaded = try LoadedModel.load(architecture: model, weights: weights)
            images = arguments
        } else {
            loaded = try LoadedModel.load(architecture: nil, weights: .file(modelFile(arguments[0]).path))
            images = Array(arguments.dropFirst())
        }
        let predictions = try Transfer.predict(loaded, files: try Self.expandingFolders(images), top: top, batchSize: batchSize,
                                            workers: runtime.workerCount, device: runtime.device,
                                            precision: precision.precision, tta: tta,
                                            temperature: noCalibration ? 1 : nil)
        for p in predictions {
            if let error = p.error {
                print(json ? try jsonLine(["path": p.path, "error": error]) : "\(p.path): error: \(error)")
            } else {
                print(try render(p.path, p.top, loaded.classes, labels: p.labels))
            }
        }
        if predictions.contains(where: { $0.error != nil }) { throw ExitCode(1) }
    }

    /// The paths with each folder replaced by the image files under it (any depth, by
    /// extension, sorted); a folder without images is an error naming it.
    static func expandingFolders(_ paths: [String]) throws -> [String] {
        try paths.flatMap { path -> [String] in
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                return [path]
            }
            let prefix = path.hasSuffix("/") ? path : path + "/"
            let files = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? [])
                .filter { name in ImageFolder.imageExtensions.contains { name.lowercased().hasSuffix($0) } }
                .map { prefix + $0 }
                .sorted()
            guard !files.isEmpty else {
                throw CLIError(message: "\(path): the folder holds no images ("
                               + ImageFolder.imageExtensions.joined(separator: ", ") + "); give image files or a folder of them")
            }
            return files
        }
    }

    /// `labels`: a multi-label model's classes above their thresholds (probabilities are per class, not summing to 1).
    func render(_ path: String, _ entries: [(index: Int, probability: Double)], _ classes: [String],
                labels: [Int]? = nil) throws -> String {
        if json {
            var object: [String: Any] = ["path": path, "top": entries.map {
                ["index": $0.0, "label": classes[$0.0], "probability": ($0.1 * 1e6).rounded() / 1e6] as [String: Any]
            }]
            if let labels { object["labels"] = labels.map { classes[$0] } }
            return try jsonLine(object)
        }
        var text = path
        if let labels { text += "\n  labels: " + (labels.isEmpty ? "none above their thresholds" : labels.map { classes[$0] }.joined(separator: ", ")) }
        return text + "\n" + entries.map { String(format: "  %6.2f%%  ", $0.1 * 100) + classes[$0.0] }
            .joined(separator: "\n")
    }
}
