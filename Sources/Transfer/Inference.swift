import Foundation
import ImageData
import NN
import Torch
import Vision

/// Evaluates a model on a dataset with its evaluation preprocessing. With `badFiles`
/// `.skip`, unreadable images are left out of the metrics and passed to `onSkipped` at the end.
public func evaluate(_ model: ImageClassifier, on dataset: any Dataset, classes: [String], preprocessing: Preprocessing,
                     batchSize: Int = 64, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                     device: Device = .cpu, badFiles: BadFilePolicy = .fail,
                     onBatch: ((Int, Int) -> Void)? = nil, onSkipped: (([SampleError]) -> Void)? = nil) throws
    -> (metrics: ClassificationMetrics, predictions: [(index: Int, predicted: Int, confidence: Double)])
{
    let loader = DataLoader(dataset, transform: preprocessing.transform, batchSize: batchSize,
                            workers: workers, badFiles: badFiles, memoryFormat: .channelsLast)
    defer { onSkipped?(loader.skipped) }
    var metrics = ClassificationMetrics(classes: classes)
    var predictions: [(Int, Int, Double)] = []
    model.eval()
    model.to(device)
    model.to(memoryFormat: .channelsLast)
    try MemoryEstimate.check(model, pass: .inference, name: "evaluation", imageSize: preprocessing.cropSize,
                             batchSize: batchSize, device: device, memoryFormat: .channelsLast)
    var done = 0
    try Torch.inferenceMode {
        var batchIndex = 0
        try loader.forEachBatch(epoch: 0) { batch in
            let (p, k) = try guarded("evaluation", batch: batchIndex) {
                let y = batch.labels.to(device)
                let logits = model(batch.images.to(device))
                metrics.update(logits: logits, labels: y,
                               lossSum: Functional.crossEntropy(logits, y, reduction: .sum).double)
                let probabilities = logits.softmax(dim: 1).max(dim: 1)
                return (probabilities.values.toArray(Double.self), probabilities.indices.toArray(Int.self))
            }
            batchIndex += 1
            for (i, index) in batch.indices.enumerated() { predictions.append((index, k[i], p[i])) }
            done += batch.indices.count
            onBatch?(done, dataset.count)
        }
    }
    return (metrics, predictions)
}

/// One image's top classes, or why it could not be read.
public struct Prediction: Sendable {
    public var path: String
    /// (class index, probability), most probable first; empty when `error` is set.
    public var top: [(index: Int, probability: Double)]
    public var error: String?
}

/// Classifies image files with a loaded model: its preprocessing, batches on the loader's
/// threads, softmax, the top classes. Unreadable files get a ``Prediction/error`` instead.
public func predict(_ loaded: LoadedModel, files: [String], top: Int = 5, batchSize: Int = 32,
                    workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                    device: Device = .cpu) throws -> [Prediction] {
    let net = loaded.model
    net.eval()
    net.to(device)
    net.to(memoryFormat: .channelsLast)
    try MemoryEstimate.check(net, pass: .inference, name: "prediction", imageSize: loaded.preprocessing.cropSize,
                             batchSize: min(batchSize, max(files.count, 1)), device: device, memoryFormat: .channelsLast)
    let loader = DataLoader(ImageFiles(paths: files), transform: loaded.preprocessing.transform, batchSize: batchSize,
                            workers: workers, badFiles: .skip, memoryFormat: .channelsLast)
    let k = min(max(top, 1), loaded.classes.count)
    var results = files.map { Prediction(path: $0, top: [], error: nil) }
    try Torch.inferenceMode {
        var batchIndex = 0
        try loader.forEachBatch(epoch: 0) { batch in
            let (p, index) = try guarded("prediction", batch: batchIndex) {
                let best = net(batch.images.to(device)).softmax(dim: 1).topk(k, dim: 1)
                return (best.values.toArray(Double.self), best.indices.toArray(Int.self))
            }
            batchIndex += 1
            for (row, sample) in batch.indices.enumerated() {
                results[sample].top = (0..<k).map { (index[row * k + $0], p[row * k + $0]) }
            }
        }
    }
    for failure in loader.skipped { results[failure.index].error = failure.reason }
    return results
}

/// Pooled features (float32, on the CPU) of every sample `batches` yields, one eval-mode,
/// inference-mode pass: a row per dataset index (zeros for samples the loader skipped,
/// which `rows` leaves out). The feature cache of a frozen trunk and `graft select` both
/// run this pass. `stage` names it in a ``ComputationError``.
public func pooledFeatures(of model: ImageClassifier, batches: any BatchProvider, device: Device = .cpu,
                           stage: String = "feature extraction", onBatch: ((Int) -> Void)? = nil) throws
    -> (cache: Tensor?, rows: Set<Int>)
{
    let n = batches.sampleLabels.count
    var cache: Tensor?
    var rows: Set<Int> = []
    let wasTraining = model.isTraining
    model.eval()
    defer { model.train(wasTraining) }
    try Torch.inferenceMode {
        var batchIndex = 0
        try batches.forEachBatch(epoch: 0) { batch in
            try guarded(stage, batch: batchIndex) {
                let features = model.pooledFeatures(batch.images.to(device)).to(.cpu)
                if cache == nil { cache = Tensor.zeros([n, features.size(1)]) }
                cache![Tensor(batch.indices.map(Int64.init))] = features
            }
            rows.formUnion(batch.indices)
            batchIndex += 1
            onBatch?(rows.count)
        }
    }
    return (cache, rows)
}
