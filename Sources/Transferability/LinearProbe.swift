// The linear probe: multinomial logistic regression on frozen features, fitted to
// convergence (L-BFGS, float64), its L2 strength chosen by stratified cross-validation.
import Foundation
import Torch

public enum LinearProbe {
    /// A fitted probe: `weight` (D × C) and `bias` (C) on standardised features.
    public struct Model {
        public let weight: Tensor
        public let bias: Tensor
        public let mean: Tensor
        public let scale: Tensor
        public let iterations: Int
        /// W and b as one vector, to warm-start the next fit along an L2 path.
        public let parameters: Tensor

        /// Class predictions for `features` (N × D).
        public func predict(_ features: Tensor) -> [Int] {
            logits(features).argmax(dim: 1).toArray(Int.self)
        }

        public func logits(_ features: Tensor) -> Tensor {
            ((features.to(.float64) - mean) / scale).matmul(weight) + bias
        }
    }

    /// The cross-validated result: accuracy mean ± sd over the folds at the chosen L2.
    public struct Result: Sendable {
        public let accuracy: Double
        public let sd: Double
        public let l2: Double
        /// Mean fold accuracy for every L2 tried.
        public let scores: [(l2: Double, accuracy: Double)]
        /// Per sample, whether its held-out fold classified it right at the chosen L2
        /// (for paired bootstrap comparisons between feature sets).
        public let heldOutCorrect: [Bool]
    }

    /// The L2 strengths tried (on the mean cross-entropy; features standardised).
    public static let defaultGrid: [Double] = [1e-4, 1e-3, 1e-2, 1e-1, 1]

    /// Fits mean cross-entropy + `l2`/2 ‖W‖² (the bias unpenalised) to a relative gradient
    /// tolerance by L-BFGS with a backtracking (Armijo) line search.
    public static func fit(features: Tensor, labels: [Int], classes: Int, l2: Double,
                           tolerance: Double = 1e-6, maxIterations: Int = 500, start: Tensor? = nil) -> Model {
        let x0 = features.to(.float64)
        let mean = x0.mean(dim: 0, keepDim: true)
        let scale = x0.std(dims: [0], correction: 0, keepDim: true).clamp(min: 1e-8)
        let x = (x0 - mean) / scale
        let (n, d) = (x.size(0), x.size(1))
        let target = Tensor.zeros([n, classes], dtype: .float64)
        Torch.noGrad {
            for (i, y) in labels.enumerated() { _ = target.select(dim: 0, index: i).select(dim: 0, index: y).fill_(1) }
        }
        // Parameters as one vector: W (D × C) then b (C).
        func split(_ v: Tensor) -> (Tensor, Tensor) {
            (v.slice(dim: 0, start: 0, end: d * classes).view([d, classes]), v.slice(dim: 0, start: d * classes, end: nil))
        }
        func objective(_ v: Tensor) -> (Double, Tensor) {
            let (w, b) = split(v)
            let logits = x.matmul(w) + b
            let logp = logits.logSoftmax(dim: 1)
            let loss = -(logp * target).sum().double / Double(n) + l2 / 2 * (w * w).sum().double
            let residual = (logp.exp() - target) / Double(n)
            let gw = x.transposed(0, 1).matmul(residual) + w * l2
            let gb = residual.sum(dim: 0)
            return (loss, Tensor.cat([gw.reshape([-1]), gb]))
        }
        var v = start ?? Tensor.zeros([d * classes + classes], dtype: .float64)
        var (f, g) = objective(v)
        // Relative to the gradient at zero, so a warm start doesn't tighten the target.
        let g0 = max(start == nil ? g.norm(2).double : objective(Tensor.zeros([d * classes + classes], dtype: .float64)).1.norm(2).double, 1e-300)
        var history: [(s: Tensor, y: Tensor, rho: Double)] = []
        var iterations = 0
        while iterations < maxIterations && g.norm(2).double > tolerance * g0 {
            iterations += 1
            // Two-loop recursion for the L-BFGS direction.
            var q = g
            var alphas: [Double] = []
            for h in history.reversed() {
                let a = h.rho * (h.s * q).sum().double
                alphas.append(a)
                q = q - h.y * a
            }
            if let last = history.last {
                q = q * ((last.s * last.y).sum().double / (last.y * last.y).sum().double)
            }
            for (h, a) in zip(history, alphas.reversed()) {
                let b = h.rho * (h.y * q).sum().double
                q = q + h.s * (a - b)
            }
            var direction = -q
            var slope = (g * direction).sum().double
            if slope >= 0 { direction = -g; slope = -(g * g).sum().double; history.removeAll() }
            var step = 1.0
            var accepted: (Tensor, Double, Tensor)?
            for _ in 0..<40 {
                let candidate = v + direction * step
                let (fc, gc) = objective(candidate)
                if fc <= f + 1e-4 * step * slope { accepted = (candidate, fc, gc); break }
                step /= 2
            }
            guard let (next, fn, gn) = accepted else { break }
            let s = next - v, y = gn - g
            let sy = (s * y).sum().double
            if sy > 1e-12 {
                history.append((s, y, 1 / sy))
                if history.count > 10 { history.removeFirst() }
            }
            (v, f, g) = (next, fn, gn)
        }
        let (w, b) = split(v)
        return Model(weight: w, bias: b, mean: mean, scale: scale, iterations: iterations, parameters: v)
    }

    /// Accuracy by stratified `folds`-fold cross-validation at each L2 of `grid`; the best
    /// mean accuracy wins (ties: the stronger L2). Only `features` and `labels` are seen.
    public static func crossValidated(features: Tensor, labels: [Int], grid: [Double] = defaultGrid,
                                      folds: Int = 5, seed: UInt64 = 0) throws -> Result {
        let f = features.to(.float64)
        guard f.rank == 2, f.size(0) == labels.count, labels.count >= folds, folds >= 2, !grid.isEmpty else {
            throw TransferabilityError("the linear probe needs an N × D feature matrix with a label per row and N ≥ \(folds)")
        }
        let classes = (labels.max() ?? 0) + 1
        let assignment = NearestNeighbours.stratifiedFolds(labels: labels, folds: folds, seed: seed)
        // Per fold, the L2 path from strong to weak, each fit warm-started from the last.
        let path = grid.sorted(by: >)
        var foldAccuracies = [[Double]](repeating: [], count: path.count)
        var correct = [[Bool]](repeating: [Bool](repeating: false, count: labels.count), count: path.count)
        for fold in 0..<folds {
            let test = labels.indices.filter { assignment[$0] == fold }
            let train = labels.indices.filter { assignment[$0] != fold }
            guard !test.isEmpty, !train.isEmpty else { continue }
            let trainFeatures = f.indexSelect(dim: 0, index: Tensor(train.map(Int64.init)))
            let testFeatures = f.indexSelect(dim: 0, index: Tensor(test.map(Int64.init)))
            var start: Tensor?
            for (k, l2) in path.enumerated() {
                let model = fit(features: trainFeatures, labels: train.map { labels[$0] }, classes: classes, l2: l2,
                                start: start)
                start = model.parameters
                let predicted = model.predict(testFeatures)
                for (p, i) in zip(predicted, test) { correct[k][i] = p == labels[i] }
                foldAccuracies[k].append(Double(zip(predicted, test).filter { $0 == labels[$1] }.count) / Double(test.count))
            }
        }
        var best: (l2: Double, mean: Double, sd: Double, index: Int)?
        var scores: [(Double, Double)] = []
        for (index, (l2, accuracies)) in zip(path, foldAccuracies).enumerated() {
            let mean = accuracies.reduce(0, +) / Double(accuracies.count)
            let sd = (accuracies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(accuracies.count - 1, 1)))
                .squareRoot()
            scores.append((l2, mean))
            if best == nil || mean > best!.mean + 1e-12 { best = (l2, mean, sd, index) }
        }
        return Result(accuracy: best!.mean, sd: best!.sd, l2: best!.l2, scores: scores.sorted { $0.0 < $1.0 },
                      heldOutCorrect: correct[best!.index])
    }
}
