import Foundation
import Torch

/// Classification metrics people read: accuracy, top-5, per-class precision,
/// recall and F1, and the confusion matrix (rows = true class, columns = predicted).
/// Accumulates batch by batch (`update`), as a reset/update/compute metric does.
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    public let classes: [String]
    /// confusion[true][predicted]
    public private(set) var confusion: [[Int]]
    public private(set) var top5Correct = 0
    public private(set) var lossSum = 0.0
    public private(set) var count = 0

    public init(classes: [String]) {
        self.classes = classes
        confusion = Array(repeating: Array(repeating: 0, count: classes.count), count: classes.count)
    }

    /// Adds a batch: logits (N, C), labels (N), and the batch's summed loss if known.
    public mutating func update(logits: Tensor, labels: Tensor, lossSum batchLoss: Double? = nil) {
        let predicted = logits.argmax(dim: 1).toArray(Int.self)
        let truth = labels.toArray(Int.self)
        for (t, p) in zip(truth, predicted) where t >= 0 && t < classes.count && p >= 0 && p < classes.count {
            confusion[t][p] += 1
        }
        let k = min(5, logits.size(1))
        let top = logits.topk(k, dim: 1).indices
        top5Correct += top.eq(labels.unsqueeze(1)).any(dim: 1).sum().int
        count += truth.count
        if let batchLoss { lossSum += batchLoss }
    }

    public var accuracy: Double {
        count == 0 ? 0 : Double((0..<classes.count).reduce(0) { $0 + confusion[$1][$1] }) / Double(count)
    }
    /// Top-5 accuracy (top-k with k = number of classes when fewer than 5).
    public var top5Accuracy: Double { count == 0 ? 0 : Double(top5Correct) / Double(count) }
    public var meanLoss: Double { count == 0 ? .nan : lossSum / Double(count) }

    public struct PerClass: Codable, Sendable, Equatable {
        public let name: String
        public let precision: Double
        public let recall: Double
        public let f1: Double
        /// True samples of this class.
        public let support: Int
    }

    /// Precision, recall and F1 per class (0 where undefined, as scikit-learn's `zero_division=0`).
    public var perClass: [PerClass] {
        classes.indices.map { c in
            let tp = Double(confusion[c][c])
            let predicted = Double(confusion.reduce(0) { $0 + $1[c] })
            let actual = Double(confusion[c].reduce(0, +))
            let p = predicted > 0 ? tp / predicted : 0
            let r = actual > 0 ? tp / actual : 0
            return PerClass(name: classes[c], precision: p, recall: r, f1: p + r > 0 ? 2 * p * r / (p + r) : 0,
                            support: Int(actual))
        }
    }

    /// Unweighted mean F1 over classes.
    public var macroF1: Double { perClass.isEmpty ? 0 : perClass.map(\.f1).reduce(0, +) / Double(classes.count) }
}

extension Tensor {
    /// Whether any element along `dim` is true.
    func any(dim: Int) -> Tensor { self.to(.int64).sum(dim: dim).gt(0) }
}
