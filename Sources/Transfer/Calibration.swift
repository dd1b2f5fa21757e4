import Foundation
import Torch

/// One confidence bin of a reliability diagram: the samples whose top-class probability
/// falls in [lower, upper), their accuracy and mean confidence.
public struct ReliabilityBin: Codable, Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public var count: Int
    public var accuracy: Double
    public var confidence: Double
}

/// Top-label expected calibration error, as torchmetrics' `multiclass_calibration_error`
/// (`norm="l1"`): confidences binned by `torch.bucketize(conf, linspace(0, 1, bins + 1),
/// right=True) − 1` (so [lower, upper), and a confidence of exactly 1 in a last bin of its
/// own), then Σ |accuracy − confidence| · share of the samples over the bins.
public enum CalibrationError {
    public static func expected(confidences: [Double], correct: [Bool], bins: Int = 15)
        -> (ece: Double, bins: [ReliabilityBin])
    {
        let n = max(1, bins)
        var count = Array(repeating: 0, count: n + 1)
        var confidenceSum = Array(repeating: 0.0, count: n + 1)
        var correctSum = Array(repeating: 0.0, count: n + 1)
        for (c, ok) in zip(confidences, correct) where c.isFinite {
            // The number of boundaries j/n at or below c, minus one.
            var index = Int((c * Double(n)).rounded(.down))
            if Double(index + 1) / Double(n) <= c { index += 1 }  // rounding at a boundary
            index = min(max(index, 0), n)
            count[index] += 1
            confidenceSum[index] += c
            correctSum[index] += ok ? 1 : 0
        }
        let total = Double(count.reduce(0, +))
        guard total > 0 else { return (0, []) }
        var ece = 0.0
        var result: [ReliabilityBin] = []
        for i in 0...n where count[i] > 0 {
            let accuracy = correctSum[i] / Double(count[i]), confidence = confidenceSum[i] / Double(count[i])
            ece += abs(accuracy - confidence) * Double(count[i]) / total
            result.append(ReliabilityBin(lower: Double(i) / Double(n), upper: min(1, Double(i + 1) / Double(n)),
                                         count: count[i], accuracy: accuracy, confidence: confidence))
        }
        return (ece, result)
    }

    /// ECE of `logits` (N × C) divided by `temperature`, against `labels`.
    public static func expected(logits: Tensor, labels: [Int], temperature: Double = 1, bins: Int = 15)
        -> (ece: Double, bins: [ReliabilityBin])
    {
        let top = (logits.to(.float64) / temperature).softmax(dim: 1).max(dim: 1)
        let predicted = top.indices.toArray(Int.self)
        return expected(confidences: top.values.toArray(Double.self),
                        correct: zip(predicted, labels).map { $0 == $1 }, bins: bins)
    }
}

/// Temperature scaling (Guo et al., 2017): the one scalar T that divides the logits so the
/// validation negative log-likelihood is least. Argmax, and so accuracy, don't change.
public struct Calibration: Codable, Sendable, Equatable {
    public var temperature: Double
    public var samples: Int
    public var nllBefore: Double
    public var nllAfter: Double
    public var eceBefore: Double
    public var eceAfter: Double
    public var binsBefore: [ReliabilityBin]
    public var binsAfter: [ReliabilityBin]

    /// Fits T on `logits` (N × C) and `labels`, and measures both sides.
    public static func fit(logits: Tensor, labels: [Int], bins: Int = 15) -> Calibration {
        let z = logits.to(.cpu).to(.float64)
        let temperature = TemperatureScaling.fit(logits: z, labels: labels)
        let target = Tensor(labels.map(Int64.init))
        let before = CalibrationError.expected(logits: z, labels: labels, bins: bins)
        let after = CalibrationError.expected(logits: z, labels: labels, temperature: temperature, bins: bins)
        return Calibration(temperature: temperature, samples: labels.count,
                           nllBefore: Functional.crossEntropy(z, target).double,
                           nllAfter: Functional.crossEntropy(z / temperature, target).double,
                           eceBefore: before.ece, eceAfter: after.ece, binsBefore: before.bins, binsAfter: after.bins)
    }
}

public enum TemperatureScaling {
    /// The T > 0 minimising mean cross-entropy of `logits / T`: Newton's method on β = 1/T,
    /// where the loss is convex (its second derivative is the mean variance of the logits
    /// under softmax(βz)), with step halving so every step lowers the loss. 1 when the logits
    /// can't say (no samples, or every row constant).
    public static func fit(logits: Tensor, labels: [Int], maxIterations: Int = 100) -> Double {
        guard logits.rank == 2, logits.size(0) == labels.count, !labels.isEmpty else { return 1 }
        let z = logits.to(.float64)
        let zy = z.gather(dim: 1, index: Tensor(labels.map(Int64.init)).unsqueeze(1)).squeeze(dim: 1)
        func loss(_ beta: Double) -> Double {
            let scaled = z * beta
            let top = scaled.max(dim: 1).values
            let logSumExp = (scaled - top.unsqueeze(1)).exp().sum(dim: 1).log() + top
            return (logSumExp - zy * beta).mean().double
        }
        var beta = 1.0
        var current = loss(beta)
        for _ in 0..<maxIterations {
            let p = (z * beta).softmax(dim: 1)
            let mean = (p * z).sum(dim: 1)
            let gradient = (mean - zy).mean().double
            let curvature = ((p * z * z).sum(dim: 1) - mean * mean).mean().double
            guard gradient.isFinite, curvature.isFinite, curvature > 1e-300 else { break }
            if abs(gradient) < 1e-12 { break }
            var step = gradient / curvature
            var next = beta - step
            var value = next > 0 ? loss(next) : .infinity
            var halvings = 0
            while !(value <= current) && halvings < 60 {
                step /= 2
                next = beta - step
                value = next > 0 ? loss(next) : .infinity
                halvings += 1
            }
            guard value <= current else { break }
            let converged = abs(next - beta) <= 1e-14 * max(1, abs(beta))
            (beta, current) = (next, value)
            if converged { break }
        }
        return beta > 0 && beta.isFinite ? 1 / beta : 1
    }
}
