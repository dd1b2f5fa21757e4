// How well a pretrained network's features suit a labelled dataset, measured on the
// features themselves (float64), without training the network: LogME's exact evidence,
// LEEP and NCE from the source head, and k-NN accuracy by stratified cross-validation.
import Foundation
import Torch

/// A transferability measure could not be computed from what it was given.
public struct TransferabilityError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// LogME (You et al., ICML 2021) by its exact evidence.
public struct LogME: Sendable, Equatable {
    /// The mean over classes of the maximised log evidence per sample; higher is better.
    public let score: Double
    /// Per class (one-vs-rest targets): the converged α, β and evidence per sample.
    public let classes: [(alpha: Double, beta: Double, evidence: Double)]
    /// When the features were reduced by PCA first (N ≤ D: otherwise the labels lie in
    /// the span of the features, β diverges and the score says nothing), the dimension kept.
    public let reducedTo: Int?

    public static func == (a: LogME, b: LogME) -> Bool {
        a.score == b.score && a.reducedTo == b.reducedTo && a.classes.count == b.classes.count
            && zip(a.classes, b.classes).allSatisfy { $0.alpha == $1.alpha && $0.beta == $1.beta && $0.evidence == $1.evidence }
    }

    /// Computes LogME of `features` (N × D) for `labels` (class indices 0..<C).
    ///
    /// For each class, with `y` its one-vs-rest target and F = U S Vᵀ, the evidence
    /// D/2 log α + N/2 log β − α/2 ‖m‖² − β/2 ‖Fm − y‖² − ½ Σ log(α + β sᵢ²) − N/2 log 2π
    /// is maximised over α, β by MacKay's fixed point (γ = Σ β sᵢ² / (α + β sᵢ²),
    /// α = γ / ‖m‖², β = (N − γ) / ‖Fm − y‖²) until α/β changes by less than `tolerance`
    /// relatively — no ε in the denominators and no iteration cap short of `maxIterations`,
    /// unlike the reference code, whose 11 iterations and ε = 1e-5 set the score on small data.
    /// With N ≤ D the features are first reduced by PCA to ⌈N/2⌉ − 1 dimensions (`reducedTo`).
    public static func compute(features: Tensor, labels: [Int], tolerance: Double = 1e-14,
                               maxIterations: Int = 100_000) throws -> LogME {
        let f = features.to(.float64)
        guard f.rank == 2, f.size(0) == labels.count, f.size(0) > 1 else {
            throw TransferabilityError("LogME needs an N × D feature matrix with a label per row (N ≥ 2), got "
                                       + "\(f.shape) for \(labels.count) labels")
        }
        let classCount = (labels.max() ?? -1) + 1
        guard classCount >= 2, labels.allSatisfy({ $0 >= 0 }) else {
            throw TransferabilityError("LogME needs labels 0..<C with C ≥ 2")
        }
        let n = f.size(0)
        var reducedTo: Int?
        let u: Tensor, s: Tensor
        if n <= f.size(1) {
            // The top d principal components F V_d = U_d S_d come straight from the N × N Gram
            // matrix F Fᵀ = U S² Uᵀ of the centred features, and are their own SVD.
            let d = max(1, (n + 1) / 2 - 1)
            let centred = f - f.mean(dim: 0, keepDim: true)
            let (gu, s2, _) = try withTorchErrors { centred.matmul(centred.transposed(0, 1)).svd() }
            (u, s) = (gu.slice(dim: 1, start: 0, end: d), s2.slice(dim: 0, start: 0, end: d).clamp(min: 0).sqrt())
            reducedTo = d
        } else {
            (u, s, _) = try withTorchErrors { f.svd() }
        }
        let sigma = (s * s).toArray(Double.self)
        let uT = u.transposed(0, 1).contiguous()
        var perClass: [(Double, Double, Double)] = []
        for c in 0..<classCount {
            let y = labels.map { $0 == c ? 1.0 : 0.0 }
            let x = uT.matmul(Tensor(y).view([n, 1])).view([-1]).toArray(Double.self)
            let x2 = x.map { $0 * $0 }
            let residualOutside = max(0, y.reduce(0, +) - x2.reduce(0, +))  // ‖y‖² − ‖Uᵀy‖²
            var alpha = 1.0, beta = 1.0
            var m2 = 0.0, res2 = 0.0
            // t = α/β. When the features carry nothing about the class, the evidence rises
            // with α without bound (the best model predicts 0): t = ∞, a finite limit.
            var t = alpha / beta
            for _ in 0..<maxIterations {
                var gamma = 0.0
                m2 = 0
                res2 = residualOutside
                for (sg, xx) in zip(sigma, x2) {
                    gamma += sg / (sg + t)
                    m2 += sg * xx / ((t + sg) * (t + sg))
                    let r = 1 + sg / t
                    res2 += xx / (r * r)
                }
                alpha = gamma / m2
                beta = (Double(n) - gamma) / res2
                guard beta.isFinite, beta > 0 else {
                    throw TransferabilityError("LogME did not converge for class \(c) (β \(beta)): "
                                               + "the features fit it exactly")
                }
                guard alpha.isFinite, alpha > 0, m2 > 0 else { t = .infinity; break }
                let next = alpha / beta
                if abs(next - t) / t < tolerance { t = next; break }
                t = next
            }
            // The evidence at the converged t, written so that t = ∞ is its limit:
            // D/2 log α − ½ Σ log(α + β sᵢ²) over all D directions = −½ Σ log(1 + sᵢ² / t).
            m2 = 0
            res2 = residualOutside
            var logRatio = 0.0
            for (sg, xx) in zip(sigma, x2) {
                guard t.isFinite else { res2 += xx; continue }
                m2 += sg * xx / ((t + sg) * (t + sg))
                let r = 1 + sg / t
                res2 += xx / (r * r)
                logRatio += Foundation.log1p(sg / t)
            }
            var gamma = 0.0
            if t.isFinite { for sg in sigma { gamma += sg / (sg + t) } }
            beta = (Double(n) - gamma) / res2
            alpha = t.isFinite ? t * beta : .infinity
            let alphaTerm = t.isFinite ? alpha / 2 * m2 : 0
            let evidence = Double(n) / 2 * Foundation.log(beta) - beta / 2 * res2 - alphaTerm - logRatio / 2
                - Double(n) / 2 * Foundation.log(2 * Double.pi)
            perClass.append((alpha, beta, evidence / Double(n)))
        }
        return LogME(score: perClass.map(\.2).reduce(0, +) / Double(classCount),
                     classes: perClass.map { (alpha: $0.0, beta: $0.1, evidence: $0.2) }, reducedTo: reducedTo)
    }
}

/// LEEP (Nguyen et al., ICML 2020) and NCE (Tran et al., ICCV 2019): how well the source
/// head's predictions on the target images explain the target labels. Both need the
/// model's own classifier (undefined for a headless backbone).
public enum SourceHeadMeasures {
    /// LEEP: (1/N) Σᵢ log Σ_z P̂(yᵢ | z) θᵢ(z), with P̂(y | z) from the empirical joint
    /// (1/N) Σᵢ θᵢ(z) [yᵢ = y]. `probabilities`: N × Z source-class probabilities.
    public static func leep(probabilities: Tensor, labels: [Int]) throws -> Double {
        let p = probabilities.to(.float64)
        guard p.rank == 2, p.size(0) == labels.count, !labels.isEmpty else {
            throw TransferabilityError("LEEP needs N × Z source probabilities with a label per row")
        }
        let n = p.size(0), z = p.size(1)
        let rows = p.toArray(Double.self)
        let classCount = (labels.max() ?? 0) + 1
        var joint = [Double](repeating: 0, count: classCount * z)
        for (i, y) in labels.enumerated() { for k in 0..<z { joint[y * z + k] += rows[i * z + k] / Double(n) } }
        var marginal = [Double](repeating: 0, count: z)
        for y in 0..<classCount { for k in 0..<z { marginal[k] += joint[y * z + k] } }
        var total = 0.0
        for (i, y) in labels.enumerated() {
            var likelihood = 0.0
            for k in 0..<z where marginal[k] > 0 { likelihood += joint[y * z + k] / marginal[k] * rows[i * z + k] }
            total += Foundation.log(likelihood)
        }
        return total / Double(n)
    }

    /// NCE: the negative conditional entropy −H(Y | Z) of the target labels given the source
    /// head's top-1 predictions, from their empirical joint.
    public static func nce(predictions: [Int], labels: [Int]) throws -> Double {
        guard predictions.count == labels.count, !labels.isEmpty else {
            throw TransferabilityError("NCE needs one source prediction per label")
        }
        let n = Double(labels.count)
        var joint: [Int: [Int: Double]] = [:]
        var marginal: [Int: Double] = [:]
        for (z, y) in zip(predictions, labels) {
            joint[z, default: [:]][y, default: 0] += 1 / n
            marginal[z, default: 0] += 1 / n
        }
        var total = 0.0
        for (z, row) in joint { for (_, pyz) in row { total += pyz * Foundation.log(pyz / marginal[z]!) } }
        return total
    }
}

/// k-nearest-neighbour accuracy on the features (cosine similarity, majority vote with
/// ties broken by summed similarity), by stratified k-fold cross-validation.
public enum NearestNeighbours {
    /// Mean and standard deviation over the folds of the held-out accuracy.
    public static func accuracy(features: Tensor, labels: [Int], neighbours: Int = 5, folds: Int = 5,
                                seed: UInt64 = 0) throws -> (mean: Double, sd: Double) {
        let f = features.to(.float64)
        guard f.rank == 2, f.size(0) == labels.count, labels.count >= folds, folds >= 2 else {
            throw TransferabilityError("k-NN needs an N × D feature matrix with a label per row and N ≥ \(folds)")
        }
        let normalised = f / f.norm(2, dims: [1], keepDim: true).clamp(min: 1e-12)
        let similarity = normalised.matmul(normalised.transposed(0, 1)).toArray(Double.self)
        let n = labels.count
        let assignment = stratifiedFolds(labels: labels, folds: folds, seed: seed)
        var accuracies: [Double] = []
        for fold in 0..<folds {
            let test = (0..<n).filter { assignment[$0] == fold }
            let train = (0..<n).filter { assignment[$0] != fold }
            guard !test.isEmpty, !train.isEmpty else { continue }
            var correct = 0
            for i in test {
                let nearest = train.sorted { similarity[i * n + $0] > similarity[i * n + $1] }.prefix(neighbours)
                var votes: [Int: (count: Int, weight: Double)] = [:]
                for j in nearest {
                    let v = votes[labels[j]] ?? (0, 0)
                    votes[labels[j]] = (v.count + 1, v.weight + similarity[i * n + j])
                }
                let predicted = votes.max { a, b in
                    a.value.count != b.value.count ? a.value.count < b.value.count : a.value.weight < b.value.weight
                }?.key
                if predicted == labels[i] { correct += 1 }
            }
            accuracies.append(Double(correct) / Double(test.count))
        }
        let mean = accuracies.reduce(0, +) / Double(accuracies.count)
        let variance = accuracies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(accuracies.count - 1, 1))
        return (mean, variance.squareRoot())
    }

    /// Each sample's fold, 0..<folds: every class dealt round-robin over the folds after a
    /// seeded shuffle, so each fold holds each class in proportion.
    public static func stratifiedFolds(labels: [Int], folds: Int, seed: UInt64) -> [Int] {
        var assignment = [Int](repeating: 0, count: labels.count)
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        var offset = 0
        for c in Set(labels).sorted() {
            var members = labels.indices.filter { labels[$0] == c }
            for i in stride(from: members.count - 1, to: 0, by: -1) {
                members.swapAt(i, Int(next() % UInt64(i + 1)))
            }
            for (k, index) in members.enumerated() { assignment[index] = (k + offset) % folds }
            offset += members.count
        }
        return assignment
    }
}

/// How often each candidate comes out first when the samples are resampled: a paired
/// bootstrap over per-sample held-out correctness (the same resample for every candidate).
public enum RankStability {
    /// For each candidate, the share of `resamples` bootstrap draws in which its accuracy is
    /// the highest (ties split evenly).
    public static func firstShares(correct: [[Bool]], resamples: Int = 1000, seed: UInt64 = 0) -> [Double] {
        guard let n = correct.first?.count, n > 0, correct.allSatisfy({ $0.count == n }) else {
            return correct.map { _ in 0 }
        }
        var shares = [Double](repeating: 0, count: correct.count)
        var state = seed &+ 0xD1B5_4A32_D192_ED03
        for _ in 0..<resamples {
            var hits = [Int](repeating: 0, count: correct.count)
            for _ in 0..<n {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let i = Int((state >> 11) % UInt64(n))
                for c in correct.indices where correct[c][i] { hits[c] += 1 }
            }
            let top = hits.max()!
            let winners = hits.indices.filter { hits[$0] == top }
            for w in winners { shares[w] += 1 / Double(winners.count) }
        }
        return shares.map { $0 / Double(resamples) }
    }
}

/// Ranking metrics of scores against binary truth.
public enum RankingMetrics {
    /// scikit-learn's `average_precision_score` for one class: Σ (Rₙ − Rₙ₋₁) Pₙ over the
    /// distinct scores from the highest down (tied scores are one threshold). nil without positives.
    public static func averagePrecision(scores: [Double], targets: [Bool]) -> Double? {
        let positives = targets.filter { $0 }.count
        guard positives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, fp = 0, previousRecall = 0.0, ap = 0.0
        var i = 0
        while i < order.count {
            let score = scores[order[i]]
            while i < order.count && scores[order[i]] == score {
                if targets[order[i]] { tp += 1 } else { fp += 1 }
                i += 1
            }
            let recall = Double(tp) / Double(positives)
            ap += (recall - previousRecall) * Double(tp) / Double(tp + fp)
            previousRecall = recall
        }
        return ap
    }
}
