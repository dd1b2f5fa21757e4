import Checkpoints
import Foundation
import ImageData
import NN
import Pretrained
import Torch
import Transferability
import Vision

/// Choosing the pretrained model for a dataset: one eval-mode pass of each candidate over
/// the training images (its pooled features, kept on disk so a rerun is instant), then
/// the transferability measures on those features — linear-probe accuracy by stratified
/// 5-fold CV (the ranking's key), k-NN accuracy, LogME, LEEP and NCE where the candidate
/// keeps its source head — the priors (ImageNet top-1, parameters, measured images/s),
/// and how often each comes out first over bootstrap resamples.
public enum ModelSelection {
    /// A model and its starting weights (`imagenet`/`pretrained`, a tag, a file, or `none`).
    public struct Candidate: Sendable, Hashable, CustomStringConvertible {
        public var model: String
        public var weights: WeightsSource
        public init(model: String, weights: WeightsSource = .pretrained) {
            self.model = model
            self.weights = weights
        }
        /// `name` or `name:weights` (`resnet50:IMAGENET1K_V1`, `resnet50:none`).
        public init(parsing text: String) {
            if let colon = text.lastIndex(of: ":"), Zoo.entry(String(text[..<colon])) != nil {
                self.init(model: String(text[..<colon]), weights: WeightsSource(String(text[text.index(after: colon)...])))
            } else {
                self.init(model: text)
            }
        }
        public var description: String { weights == .pretrained ? model : "\(model):\(weights)" }
    }

    /// One candidate's evidence.
    public struct Report: Sendable {
        public var candidate: Candidate
        public var probeAccuracy: Double
        public var probeSD: Double
        public var probeL2: Double
        public var knnAccuracy: Double
        public var knnSD: Double
        public var logME: Double
        /// PCA dimension LogME ran at (N ≤ D), or nil.
        public var logMEReducedTo: Int?
        public var leep: Double?
        public var nce: Double?
        public var imagenetTop1: Double?
        public var parameters: Int
        /// Multiply-adds of one image's forward pass at `imageSize` (GFLOPs as torchvision counts them ×10⁹).
        public var multiplyAdds: Int?
        public var featureDimension: Int
        public var imagesPerSecond: Double
        /// Seconds of the feature pass (0 when read from the cache).
        public var featureSeconds: Double
        public var fromCache: Bool
        /// Seconds the measures took on the features (probe, k-NN, LogME, LEEP/NCE).
        public var measureSeconds: Double = 0
        /// The short fine-tune's outcome, when the candidate was in the race (`--budget`).
        public var fineTune: FineTuneRace.Entry?
        /// Share of bootstrap resamples in which this candidate's probe is first.
        public var firstShare: Double = 0
        /// The probe fitted on every training image at the chosen L2, scored on a separate
        /// validation set (never seen by the cross-validation), when one is given.
        public var validationAccuracy: Double?
        /// Whether the candidate's input size (its weights' own, or the one asked for).
        public var imageSize: Int
        var heldOutCorrect: [Bool]
    }

    /// Pooled features (float32, N × D) of every sample, and the source head's probabilities
    /// when the weights keep their ImageNet classifier; read from `cache` when it holds them.
    /// The trunk runs in `precision`; the features are fp32 either way.
    public static func features(of loaded: LoadedModel, dataset: any Dataset, imageSize: Int?, batchSize: Int = 32,
                                workers: Int = 2, device: Device = .cpu, precision: Precision = .fp32,
                                cache: URL? = nil, onBatch: ((Int, Int) -> Void)? = nil) throws
        -> (features: Tensor, probabilities: Tensor?, seconds: Double, fromCache: Bool)
    {
        let preprocessing = loaded.preprocessing.resized(to: imageSize)
        let keepsHead = loaded.catalogueEntry != nil && loaded.classes.count == loaded.model.numClasses
            && loaded.classes == imageNetCategories
        if let cache, FileManager.default.fileExists(atPath: cache.path),
           let dict = try? SafeTensors.read(cache), let f = dict.tensors().first(where: { $0.key == "features" })?.tensor,
           f.size(0) == dataset.count {
            return (f, dict.tensors().first { $0.key == "probabilities" }?.tensor, 0, true)
        }
        let started = Date()
        let model = loaded.model
        model.eval()
        model.to(device)
        let format: MemoryFormat = device == .cpu ? .channelsLast : .contiguous
        let loader = DataLoader(dataset, transform: preprocessing.transform, batchSize: batchSize, workers: workers,
                                memoryFormat: format)
        model.to(memoryFormat: format)
        try MemoryEstimate.check(model, pass: .inference, name: "feature extraction", imageSize: preprocessing.cropSize,
                                 batchSize: min(batchSize, max(dataset.count, 1)), device: device, memoryFormat: format)
        let pass = try pooledFeatures(of: model, batches: loader, device: device, precision: precision,
                                      onBatch: { onBatch?($0, dataset.count) })
        guard let features = pass.cache else { throw TrainingError.emptyData("the dataset") }
        // The source head on the whole feature matrix at once (it is a Linear or a norm and a Linear).
        let probabilities = keepsHead
            ? try guarded("feature extraction", batch: 0) {
                Torch.inferenceMode { model.head(features.to(device)).softmax(dim: 1).to(.cpu) }
            } : nil
        let seconds = Date().timeIntervalSince(started)
        if let cache {
            try FileManager.default.createDirectory(at: cache.deletingLastPathComponent(), withIntermediateDirectories: true)
            var entries = [(key: "features", tensor: try features.contiguous().tensorData())]
            if let probabilities { entries.append((key: "probabilities", tensor: try probabilities.contiguous().tensorData())) }
            try SafeTensors.write(StateDict(entries: entries, metadata: ["seconds": String(seconds)]), to: cache)
        }
        return (features, probabilities, seconds, false)
    }

    /// The measures on one candidate's features.
    public static func measure(_ candidate: Candidate, features: Tensor, probabilities: Tensor?, labels: [Int],
                               seconds: Double, fromCache: Bool, imageSize: Int, parameters: Int,
                               imagenetTop1: Double?, multiplyAdds: Int? = nil) throws -> Report {
        let started = Date()
        let f = features.to(.float64)
        // Small matrices: one thread per op does them faster than a team (the probe's folds
        // run side by side instead).
        let (probe, knn, logME) = try Torch.withThreadLocalThreads(1) {
            (try LinearProbe.crossValidated(features: f, labels: labels),
             try NearestNeighbours.accuracy(features: f, labels: labels),
             try LogME.compute(features: f, labels: labels))
        }
        var leep: Double?, nce: Double?
        if let probabilities {
            leep = try SourceHeadMeasures.leep(probabilities: probabilities, labels: labels)
            nce = try SourceHeadMeasures.nce(predictions: probabilities.argmax(dim: 1).toArray(Int.self), labels: labels)
        }
        var report = Report(candidate: candidate, probeAccuracy: probe.accuracy, probeSD: probe.sd, probeL2: probe.l2,
                      knnAccuracy: knn.mean, knnSD: knn.sd, logME: logME.score, logMEReducedTo: logME.reducedTo,
                      leep: leep, nce: nce, imagenetTop1: imagenetTop1, parameters: parameters,
                      multiplyAdds: multiplyAdds,
                      featureDimension: f.size(1), imagesPerSecond: seconds > 0 ? Double(labels.count) / seconds : 0,
                      featureSeconds: seconds, fromCache: fromCache, imageSize: imageSize,
                      heldOutCorrect: probe.heldOutCorrect)
        report.measureSeconds = Date().timeIntervalSince(started)
        return report
    }

    /// The probe fitted on all of `features` at `l2`, its accuracy on `validation`.
    public static func validationAccuracy(features: Tensor, labels: [Int], validation: Tensor,
                                          validationLabels: [Int], classes: Int, l2: Double) -> Double {
        let model = LinearProbe.fit(features: features.to(.float64), labels: labels, classes: classes, l2: l2)
        let predicted = model.predict(validation.to(.float64))
        return Double(zip(predicted, validationLabels).filter { $0 == $1 }.count) / Double(max(validationLabels.count, 1))
    }

    /// Orders by probe accuracy (then k-NN, then LogME) and fills in the bootstrap shares.
    public static func rank(_ reports: [Report], resamples: Int = 1000) -> [Report] {
        var ranked = reports.sorted {
            ($0.probeAccuracy, $0.knnAccuracy, $0.logME) > ($1.probeAccuracy, $1.knnAccuracy, $1.logME)
        }
        let shares = RankStability.firstShares(correct: ranked.map(\.heldOutCorrect), resamples: resamples)
        for i in ranked.indices { ranked[i].firstShare = shares[i] }
        return ranked
    }

    /// The candidate to train and why: the short fine-tunes' winner when there was a race,
    /// else the probe's first.
    public static func recommendation(_ ranked: [Report]) -> (report: Report, reason: String)? {
        if let winner = ranked.first(where: { $0.fineTune != nil && $0.fineTune?.droppedAfter == nil }),
           let accuracy = winner.fineTune?.validationAccuracy {
            let epochs = winner.fineTune?.fineTuneEpochs ?? 0
            return (winner, epochs > 0
                ? String(format: "best on the validation set after short fine-tunes (%.3f, the best of its head and %d epochs of the whole network)",
                         accuracy, epochs)
                : String(format: "best on the validation set after short fine-tunes (%.3f; the budget left time for "
                         + "head epochs only)", accuracy))
        }
        guard let first = ranked.first else { return nil }
        return (first, "first in \(Int((first.firstShare * 100).rounded())) % of bootstrap resamples")
    }

    /// Measures that put another candidate first than the probe does, by name.
    public static func disagreements(_ ranked: [Report]) -> [String] {
        guard let first = ranked.first else { return [] }
        var out: [String] = []
        if let knn = ranked.max(by: { $0.knnAccuracy < $1.knnAccuracy }), knn.candidate != first.candidate,
           knn.knnAccuracy > first.knnAccuracy {
            out.append("k-NN prefers \(knn.candidate)")
        }
        if let logME = ranked.max(by: { $0.logME < $1.logME }), logME.candidate != first.candidate {
            out.append("LogME prefers \(logME.candidate)")
        }
        return out
    }

    /// A digest naming the dataset's samples (sources and labels), for the feature cache's file names.
    public static func datasetDigest(_ dataset: any Dataset) -> String {
        let digest = SHA256Digest()
        let labels = dataset.labels
        for i in 0..<dataset.count { digest.update("\(dataset.source(at: i))\u{0}\(labels[i])\n") }
        return String((digest.finish() ?? "nohash").prefix(16))
    }
}
