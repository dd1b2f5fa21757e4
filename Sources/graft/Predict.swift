import ArgumentParser
import Foundation
import ImageData
import Torch
import Transfer
import Vision

/// The images given on the command line, as a dataset without labels.
struct ImageFiles: Dataset {
    let paths: [String]
    var classes: [String] { ["?"] }
    var labels: [Int] { Array(repeating: 0, count: paths.count) }
    func image(at index: Int) throws -> Tensor { try loadImage(URL(fileURLWithPath: paths[index])) }
    func source(at index: Int) -> String { paths[index] }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a fine-tuned model file or a zoo model.",
        discussion: """
            With a Graft model file (or run folder), everything it needs is in the file. With
            --model NAME --weights imagenet|PATH, a zoo model and its ImageNet categories.
            --json prints one object per image per line:
              {"path": ..., "top": [{"index": ..., "label": ..., "probability": ...}, ...]}
            An image that can't be read gets {"path": ..., "error": ...} and the exit status is 1.

            Examples:
              graft predict runs/r18 photo1.jpg photo2.png
              graft predict --model efficientnet_lite0 --weights imagenet --top 3 cat.jpg
              graft predict runs/r18 images/*.jpg --json
            """
    )

    @Argument(help: "A model file or run folder, then images (or only images with --model).")
    var arguments: [String]
    @Option(help: "A zoo model (with --weights) instead of a model file.") var model: String?
    @Option(help: "imagenet or a weights file (with --model).") var weights: String = "imagenet"
    @Option(help: "How many classes to print per image.") var top: Int = 5
    @Option(help: "Batch size.") var batchSize: Int = 32
    @Flag(help: "One JSON object per image per line.") var json = false

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if model == nil && arguments.count < 2 {
            throw ValidationError("give a model file (or --model NAME) and at least one image")
        }
        if model != nil && arguments.isEmpty { throw ValidationError("give at least one image") }
    }

    func run() throws {
        let loaded: LoadedModel
        let images: [String]
        if let model {
            loaded = try LoadedModel.load(architecture: model, weights: weights)
            images = arguments
        } else {
            loaded = try LoadedModel.load(architecture: nil, weights: modelFile(arguments[0]).path)
            images = Array(arguments.dropFirst())
        }
        let net = loaded.model
        net.eval()
        net.to(memoryFormat: .channelsLast)
        let files = ImageFiles(paths: images)
        let loader = DataLoader(files, transform: EvalPreprocessing(loaded.preprocessing).transform, batchSize: batchSize,
                                badFiles: .skip, memoryFormat: .channelsLast)
        let k = min(top, loaded.classes.count)
        var results: [Int: String] = [:]
        try Torch.inferenceMode {
            try loader.forEachBatch(epoch: 0) { batch in
                let probabilities = net(batch.images).softmax(dim: 1)
                let best = probabilities.topk(k, dim: 1)
                let p = best.values.toArray(Double.self), index = best.indices.toArray(Int.self)
                for (row, sample) in batch.indices.enumerated() {
                    let entries = (0..<k).map { (index[row * k + $0], p[row * k + $0]) }
                    results[sample] = try render(images[sample], entries, loaded.classes)
                }
            }
        }
        for failure in loader.skipped {
            results[failure.index] = json ? try jsonLine(["path": failure.source, "error": failure.reason])
                                           : "\(failure.source): error: \(failure.reason)"
        }
        for i in images.indices { if let line = results[i] { print(line) } }
        if !loader.skipped.isEmpty { throw ExitCode(1) }
    }

    func render(_ path: String, _ entries: [(Int, Double)], _ classes: [String]) throws -> String {
        if json {
            return try jsonLine(["path": path, "top": entries.map {
                ["index": $0.0, "label": classes[$0.0], "probability": ($0.1 * 1e6).rounded() / 1e6] as [String: Any]
            }])
        }
        return path + "\n" + entries.map { String(format: "  %6.2f%%  ", $0.1 * 100) + classes[$0.0] }
            .joined(separator: "\n")
    }
}
