import Foundation
import ImageData
import NN
import Torch
import Vision

/// Test-time augmentation: the class probabilities averaged over views of each image.
public enum TestTimeAugmentation: String, Codable, Sendable, CaseIterable {
    /// The evaluation preprocessing's one view.
    case none
    /// That view and its mirror image.
    case flip
    /// torchvision's FiveCrop of the resized image: four corners and the center.
    case fiveCrop = "five-crop"

    /// The loader's transform: the preprocessing, with the five crops in place of the center one.
    public func transform(_ p: Preprocessing) -> any ImageTransform {
        guard self == .fiveCrop else { return p.transform }
        return Compose([Resize(size: p.resizeSize, interpolation: p.interpolation), FiveCrop(p.cropSize), ToFloat(),
                        Normalize(mean: p.mean, std: p.std)])
    }

    /// Forward passes per image.
    var views: Int { switch self { case .none: 1; case .flip: 2; case .fiveCrop: 5 } }

    /// The loader's memory format (five crops come stacked, N × 5 × C × H × W).
    var memoryFormat: MemoryFormat { self == .fiveCrop ? .contiguous : .channelsLast }

    /// Mean softmax over the views of a batch from ``transform(_:)``, and the mean logits
    /// (for the loss); the logits are divided by `temperature` (a model card's calibration) first.
    /// The forward runs in `precision` on `device`; the logits and probabilities are fp32.
    /// `multiLabel`: a sigmoid per class instead of the softmax.
    public func probabilities(_ model: ImageClassifier, _ images: Tensor, temperature: Double = 1,
                              multiLabel: Bool = false, precision: Precision = .fp32, device: Device = .cpu)
        -> (probabilities: Tensor, logits: Tensor)
    {
        func forward(_ x: Tensor) -> Tensor {
            let logits = Torch.float32Result(of: precision, on: device) { model(x) }
            return temperature == 1 ? logits : logits / temperature
        }
        func normalise(_ logits: Tensor, dim: Int) -> Tensor { multiLabel ? logits.sigmoid() : logits.softmax(dim: dim) }
        switch self {
        case .none:
            let logits = forward(images)
            return (normalise(logits, dim: 1), logits)
        case .flip:
            let both = forward(Tensor.cat([images, images.flip([-1])]))
            let n = images.size(0)
            let (a, b) = (both.slice(dim: 0, start: 0, end: n), both.slice(dim: 0, start: n, end: nil))
            return ((normalise(a, dim: 1) + normalise(b, dim: 1)) / 2, (a + b) / 2)
        case .fiveCrop:
            let (n, views) = (images.size(0), images.size(1))
            let flat = images.reshape([n * views, images.size(2), images.size(3), images.size(4)])
                .contiguous(.channelsLast)
            let logits = forward(flat).view([n, views, -1])
            return (normalise(logits, dim: 2).mean(dim: 1), logits.mean(dim: 1))
        }
    }
}

/// Evaluates a model on a dataset with its evaluation preprocessing. With `badFiles`
/// `.skip`, unreadable images are left out of the metrics and passed to `onSkipped` at the end.
public func evaluate(_ model: ImageClassifier, on dataset: any Dataset, classes: [String], preprocessing: Preprocessing,
                     batchSize: Int = 64, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                     device: Device = .cpu, precision: Precision = .fp32, badFiles: BadFilePolicy = .fail,
                     tta: TestTimeAugmentation = .none, temperature: Double = 1,
                     onBatch: ((Int, Int) -> Void)? = nil, onSkipped: (([SampleError]) -> Void)? = nil) throws
    -> (metrics: ClassificationMetrics, predictions: [(index: Int, predicted: Int, confidence: Double)])
{
    let loader = DataLoader(dataset, transform: tta.transform(preprocessing), batchSize: batchSize,
                            workers: workers, badFiles: badFiles, memoryFormat: tta.memoryFormat)
    defer { onSkipped?(loader.skipped) }
    var metrics = ClassificationMetrics(classes: classes)
    var predictions: [(Int, Int, Double)] = []
    model.eval()
    model.to(device)
    model.to(memoryFormat: .channelsLast)
    try MemoryEstimate.check(model, pass: .inference, name: "evaluation", imageSize: preprocessing.cropSize,
                             batchSize: batchSize * tta.views, device: device, memoryFormat: .channelsLast)
    var done = 0
    try Torch.inferenceMode {
        var batchIndex = 0
        try loader.forEachBatch(epoch: 0) { batch in
            let (p, k) = try guarded("evaluation", batch: batchIndex) {
                let y = batch.labels.to(device)
                let (averaged, logits) = tta.probabilities(model, batch.images.to(device), temperature: temperature,
                                                             precision: precision, device: device)
                // With views, the loss is the negative log of the averaged probability.
                let lossSum = tta == .none ? Functional.crossEntropy(logits, y, reduction: .sum).double
                    : Functional.nllLoss(averaged.clamp(min: 1e-12).log(), y, reduction: .sum).double
                metrics.update(logits: averaged, labels: y, lossSum: lossSum)  // ranks as the logits do
                let probabilities = averaged.max(dim: 1)
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

/// A multi-label model's metrics on a dataset with several labels per image (its CSV list):
/// the per-class sigmoid probabilities (averaged over TTA views) against the labels, at the
/// model card's thresholds (0.5 where it has none).
public func evaluateMultiLabel(_ model: ImageClassifier, on dataset: any Dataset, classes: [String],
                               preprocessing: Preprocessing, thresholds: [Double]?, batchSize: Int = 64,
                               workers: Int = ProcessInfo.processInfo.activeProcessorCount, device: Device = .cpu,
                               precision: Precision = .fp32, badFiles: BadFilePolicy = .fail, tta: TestTimeAugmentation = .none,
                               onBatch: ((Int, Int) -> Void)? = nil, onSkipped: (([SampleError]) -> Void)? = nil) throws
    -> MultiLabelMetrics
{
    let loader = DataLoader(dataset, transform: tta.transform(preprocessing), batchSize: batchSize,
                            workers: workers, badFiles: badFiles, memoryFormat: tta.memoryFormat)
    defer { onSkipped?(loader.skipped) }
    model.eval()
    model.to(device)
    model.to(memoryFormat: .channelsLast)
    try MemoryEstimate.check(model, pass: .inference, name: "evaluation", imageSize: preprocessing.cropSize,
                             batchSize: batchSize * tta.views, device: device, memoryFormat: .channelsLast)
    let sets = dataset.labelSets ?? dataset.labels.map { [$0] }
    var probabilities: [[Double]] = [], targets: [[Bool]] = [], lossSum = 0.0
    var done = 0
    try Torch.inferenceMode {
        var batchIndex = 0
        try loader.forEachBatch(epoch: 0) { batch in
            let c = classes.count
            let y = batch.indices.map { i in (0..<c).map { sets[i].contains($0) } }
            let (p, loss) = try guarded("evaluation", batch: batchIndex) { () -> ([Double], Double) in
                let (averaged, logits) = tta.probabilities(model, batch.images.to(device), multiLabel: true,
                                                             precision: precision, device: device)
                let target = Tensor(y.flatMap { $0.map { $0 ? Float(1) : 0 } }).view([y.count, c]).to(device)
                let loss = Functional.binaryCrossEntropyWithLogits(logits, target).double * Double(y.count)
                return (averaged.to(.cpu).to(.float64).toArray(Double.self), loss)
            }
            batchIndex += 1
            for row in y.indices { probabilities.append(Array(p[(row * c)..<(row * c + c)])) }
            targets += y
            lossSum += loss
            done += batch.indices.count
            onBatch?(done, dataset.count)
        }
    }
    return MultiLabelMetrics(classes: classes, probabilities: probabilities, targets: targets, thresholds: thresholds,
                             loss: probabilities.isEmpty ? nil : lossSum / Double(probabilities.count))
}

/// One image's top classes, or why it could not be read.
public struct Prediction: Sendable {
    public var path: String
    /// (class index, probability), most probable first; empty when `error` is set.
    public var top: [(index: Int, probability: Double)]
    public var error: String?
    /// A multi-label model's answer: the classes at or above their thresholds, most probable first.
    public var labels: [Int]? = nil
}

/// Classifies image files with a loaded model: its preprocessing, batches on the loader's
/// threads, softmax (of the logits over the card's temperature, when it has one), the top
/// classes. Unreadable files get a ``Prediction/error`` instead.
public func predict(_ loaded: LoadedModel, files: [String], top: Int = 5, batchSize: Int = 32,
                    workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                    device: Device = .cpu, precision: Precision = .fp32, tta: TestTimeAugmentation = .none,
                    temperature: Double? = nil) throws -> [Prediction] {
    let temperature = temperature ?? loaded.card?.temperature ?? 1
    let multiLabel = loaded.card?.multiLabel == true
    let thresholds = loaded.card?.thresholds
    let net = loaded.model
    net.eval()
    net.to(device)
    net.to(memoryFormat: .channelsLast)
    try MemoryEstimate.check(net, pass: .inference, name: "prediction", imageSize: loaded.preprocessing.cropSize,
                             batchSize: min(batchSize, max(files.count, 1)) * tta.views, device: device,
                             memoryFormat: .channelsLast)
    let loader = DataLoader(ImageFiles(paths: files), transform: tta.transform(loaded.preprocessing),
                            batchSize: batchSize, workers: workers, badFiles: .skip, memoryFormat: tta.memoryFormat)
    let k = min(max(top, 1), loaded.classes.count)
    var results = files.map { Prediction(path: $0, top: [], error: nil) }
    try Torch.inferenceMode {
        var batchIndex = 0
        try loader.forEachBatch(epoch: 0) { batch in
            let (p, index, all) = try guarded("prediction", batch: batchIndex) {
                let probabilities = tta.probabilities(net, batch.images.to(device), temperature: temperature,
                                                      multiLabel: multiLabel, precision: precision,
                                                      device: device).probabilities
                let best = probabilities.topk(k, dim: 1)
                return (best.values.toArray(Double.self), best.indices.toArray(Int.self),
                        multiLabel ? probabilities.to(.cpu).to(.float64).toArray(Double.self) : [])
            }
            batchIndex += 1
            let c = loaded.classes.count
            for (row, sample) in batch.indices.enumerated() {
                results[sample].top = (0..<k).map { (index[row * k + $0], p[row * k + $0]) }
                if multiLabel {
                    let scores = all[(row * c)..<(row * c + c)].map { $0 }
                    results[sample].labels = (0..<c).filter { scores[$0] >= (thresholds?[safe: $0] ?? 0.5) }
                        .sorted { scores[$0] > scores[$1] }
                }
            }
        }
    }
    for failure in loader.skipped { results[failure.index].error = failure.reason }
    return results
}

/// Pooled features (float32, on the CPU) of every sample `batches` yields, one eval-mode,
/// inference-mode pass: a row per dataset index (zeros for samples the loader skipped,
/// which `rows` leaves out). The feature cache of a frozen trunk and `graft select` both
/// run this pass, in `precision` (the features come back in fp32 whatever it is). `stage` names it in a ``ComputationError``.
public func pooledFeatures(of model: ImageClassifier, batches: any BatchProvider, device: Device = .cpu,
                           precision: Precision = .fp32, stage: String = "feature extraction", onBatch: ((Int) -> Void)? = nil) throws
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
                let features = Torch.float32Result(of: precision, on: device) { model.pooledFeatures(batch.images.to(device)) }
                    .to(.cpu)
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

extension Array {
    /// The element at `index`, or nil outside the array.
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
