import Foundation
import Torch
import Transferability

/// Metrics of a multi-label classifier (each image may have any number of the classes):
/// per-class average precision and their mean (mAP), per-class thresholds, precision,
/// recall and F1 at thresholds, and their micro and macro averages, as scikit-learn
/// computes them (`average_precision_score`, `precision_recall_curve`, `f1_score`).
public struct MultiLabelMetrics: Codable, Sendable, Equatable {
    public struct PerClass: Codable, Sendable, Equatable {
        public var name: String
        /// Average precision (nil for a class with no positive sample).
        public var averagePrecision: Double?
        public var threshold: Double
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// Positive samples.
        public var support: Int
    }

    public var classes: [String]
    public var samples: Int
    public var perClass: [PerClass]
    /// Mean average precision over the classes that have a positive sample.
    public var meanAveragePrecision: Double
    public var microF1: Double
    public var macroF1: Double
    /// Share of (sample, class) decisions right at the thresholds (fastai's `accuracy_multi`
    /// at 0.5 when the thresholds are 0.5).
    public var elementAccuracy: Double
    /// Mean binary cross-entropy of the logits (nil when computed from probabilities).
    public var loss: Double?

    /// - Parameters:
    ///   - probabilities: N × C sigmoid outputs; targets: N × C of 0 and 1.
    ///   - thresholds: per class (default 0.5 each).
    public init(classes: [String], probabilities: [[Double]], targets: [[Bool]], thresholds: [Double]? = nil,
                loss: Double? = nil) {
        let c = classes.count
        let thresholds = thresholds ?? Array(repeating: 0.5, count: c)
        self.classes = classes
        samples = probabilities.count
        self.loss = loss
        var per: [PerClass] = []
        var tpAll = 0, fpAll = 0, fnAll = 0, right = 0
        for k in 0..<c {
            let scores = probabilities.map { $0[k] }, truth = targets.map { $0[k] }
            var tp = 0, fp = 0, fn = 0
            for (s, t) in zip(scores, truth) {
                let predicted = s >= thresholds[k]
                if predicted && t { tp += 1 } else if predicted { fp += 1 } else if t { fn += 1 }
                if predicted == t { right += 1 }
            }
            tpAll += tp; fpAll += fp; fnAll += fn
            let (precision, recall, f1) = Self.prf(tp: tp, fp: fp, fn: fn)
            per.append(PerClass(name: classes[k], averagePrecision: RankingMetrics.averagePrecision(scores: scores, targets: truth),
                                threshold: thresholds[k], precision: precision, recall: recall, f1: f1,
                                support: truth.filter { $0 }.count))
        }
        perClass = per
        let aps = per.compactMap(\.averagePrecision)
        meanAveragePrecision = aps.isEmpty ? 0 : aps.reduce(0, +) / Double(aps.count)
        microF1 = Self.prf(tp: tpAll, fp: fpAll, fn: fnAll).f1
        macroF1 = c == 0 ? 0 : per.map(\.f1).reduce(0, +) / Double(c)
        elementAccuracy = samples * c == 0 ? 0 : Double(right) / Double(samples * c)
    }

    /// From logits (N × C) and multi-hot targets (N × C): sigmoid, and the mean BCE-with-logits.
    public init(classes: [String], logits: Tensor, targets: Tensor, thresholds: [Double]? = nil) {
        let z = logits.to(.cpu).to(.float64), y = targets.to(.cpu).to(.float64)
        let loss = Functional.binaryCrossEntropyWithLogits(z, y).double
        let n = z.size(0), c = z.size(1)
        let p = z.sigmoid().toArray(Double.self), t = y.toArray(Double.self)
        self.init(classes: classes, probabilities: (0..<n).map { Array(p[($0 * c)..<($0 * c + c)]) },
                  targets: (0..<n).map { i in (0..<c).map { t[i * c + $0] > 0.5 } }, thresholds: thresholds, loss: loss)
    }

    static func prf(tp: Int, fp: Int, fn: Int) -> (precision: Double, recall: Double, f1: Double) {
        let precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
        let recall = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        let f1 = 2 * tp + fp + fn == 0 ? 0 : Double(2 * tp) / Double(2 * tp + fp + fn)
        return (precision, recall, f1)
    }

    /// The threshold that maximises the class's F1 (predicting score ≥ t): among the distinct
    /// scores in ascending order, the first best, as `np.argmax` over scikit-learn's
    /// `precision_recall_curve` (every distinct score a threshold, since scikit-learn 1.5)
    /// picks it. 0.5 for a class without positives.
    public static func bestThreshold(scores: [Double], targets: [Bool]) -> Double {
        let positives = targets.filter { $0 }.count
        guard positives > 0, !scores.isEmpty else { return 0.5 }
        // Descending sweep: at each distinct score, the counts of samples at or above it.
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, fp = 0, i = 0
        var candidates: [(threshold: Double, f1: Double)] = []
        while i < order.count {
            let score = scores[order[i]]
            while i < order.count && scores[order[i]] == score {
                if targets[order[i]] { tp += 1 } else { fp += 1 }
                i += 1
            }
            // As scikit-learn: precision and recall, then 2PR / (P + R).
            let p = Double(tp) / Double(tp + fp), r = Double(tp) / Double(positives)
            candidates.append((score, p + r > 0 ? 2 * p * r / (p + r) : 0))
        }
        // Ascending order, the first maximum.
        let ascending = candidates.reversed()
        let best = ascending.max { $0.f1 < $1.f1 }!.f1
        return ascending.first { $0.f1 == best }!.threshold
    }

    /// Per-class best-F1 thresholds for N × C probabilities and targets.
    public static func bestThresholds(probabilities: [[Double]], targets: [[Bool]], classes: Int) -> [Double] {
        (0..<classes).map { k in bestThreshold(scores: probabilities.map { $0[k] }, targets: targets.map { $0[k] }) }
    }
}
