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

    /// Features standardised (and, with fewer samples than dimensions, rotated into their
    /// row space), ready for any number of fits.
    ///
    /// With N ≤ D the penalised optimum lies in the span of the standardised training rows
    /// (the loss's gradient in W is Xᵀ R, so at the optimum λW = −XᵀR): writing X = U S Vᵀ
    /// and W = V A, the fit on X V = U S (N × r) with ‖A‖ = ‖W‖ is the same problem in r ≤ N
    /// dimensions — the same optimum, predictions and stopping test, at a fraction of the cost.
    public struct Prepared {
        /// N × r: the standardised features in the basis (or as they are, without one).
        public let x: Tensor
        public let mean: Tensor
        public let scale: Tensor
        /// D × r orthonormal columns spanning the rows, when the features were rotated.
        public let basis: Tensor?

        public init(features: Tensor) {
            let x0 = features.to(.float64)
            mean = x0.mean(dim: 0, keepDim: true)
            scale = x0.std(dims: [0], correction: 0, keepDim: true).clamp(min: 1e-8)
            let x = (x0 - mean) / scale
            // The basis from the N × N Gram matrix X Xᵀ = U S² Uᵀ (a fifth of the SVD's time on
            // 160 × 1280): X V = U S and V = Xᵀ U S⁻¹. Directions with s below 10⁻⁷ of the
            // largest, which the Gram matrix can't resolve, move no logit and are dropped.
            if x.size(0) < x.size(1), let (u, s2, _) = try? withTorchErrors({ x.matmul(x.transposed(0, 1)).svd() }) {
                let values = s2.toArray(Double.self)
                let rank = max(1, values.filter { $0 > (values.first ?? 0) * 1e-14 }.count)
                let kept = u.slice(dim: 1, start: 0, end: rank)
                let s = s2.slice(dim: 0, start: 0, end: rank).sqrt()
                (self.x, basis) = (kept * s, x.transposed(0, 1).matmul(kept) / s)
            } else {
                (self.x, basis) = (x, nil)
            }
        }

        /// Other features (M × D) in the same standardisation and basis.
        public func transform(_ features: Tensor) -> Tensor {
            let x = (features.to(.float64) - mean) / scale
            return basis.map { x.matmul($0) } ?? x
        }
    }

    /// Fits mean cross-entropy + `l2`/2 ‖W‖² (the bias unpenalised) to a relative gradient
    /// tolerance by L-BFGS with a backtracking (Armijo) line search. `start`: W and b as one
    /// vector (a model's `parameters`), to warm-start from.
    public static func fit(features: Tensor, labels: [Int], classes: Int, l2: Double,
                           tolerance: Double = 1e-6, maxIterations: Int = 500, start: Tensor? = nil) -> Model {
        let prepared = Prepared(features: features)
        let d = features.size(1)
        // A full-space start, moved into the basis: A = Vᵀ W.
        let reducedStart = start.map { v -> Tensor in
            guard let basis = prepared.basis else { return v }
            let w = v.slice(dim: 0, start: 0, end: d * classes).view([d, classes])
            return Tensor.cat([basis.transposed(0, 1).matmul(w).reshape([-1]), v.slice(dim: 0, start: d * classes, end: nil)])
        }
        let (a, b, iterations) = fit(prepared, labels: labels, classes: classes, l2: l2, tolerance: tolerance,
                                     maxIterations: maxIterations, start: reducedStart)
        let w = prepared.basis.map { $0.matmul(a) } ?? a
        return Model(weight: w, bias: b, mean: prepared.mean, scale: prepared.scale, iterations: iterations,
                     parameters: Tensor.cat([w.reshape([-1]), b]))
    }

    /// The multi-label probe: an independent logistic regression per class (a sigmoid each),
    /// fitted jointly to mean Σ-over-classes binary cross-entropy + `l2`/2 ‖W‖² by the same
    /// L-BFGS. `targets`: N × C of 0 and 1.
    public static func fitMultiLabel(features: Tensor, targets: Tensor, l2: Double, tolerance: Double = 1e-6,
                                     maxIterations: Int = 500) -> Model {
        let prepared = Prepared(features: features)
        let (a, b, iterations) = Torch.inferenceMode {
            fitInferenceMode(prepared, target: targets.to(.float64), objective: .sigmoid, l2: l2, tolerance: tolerance,
                             maxIterations: maxIterations, start: nil)
        }
        let w = prepared.basis.map { $0.matmul(a) } ?? a
        return Model(weight: w, bias: b, mean: prepared.mean, scale: prepared.scale, iterations: iterations,
                     parameters: Tensor.cat([w.reshape([-1]), b]))
    }

    /// The multi-label probe's L2 by `folds`-fold cross-validation (folds stratified by each
    /// sample's first class): the L2 whose pooled held-out predictions have the best mean
    /// average precision over the classes (ties: the stronger L2).
    public static func crossValidatedMultiLabel(features: Tensor, targets: [[Bool]], grid: [Double] = defaultGrid,
                                                folds: Int = 5, seed: UInt64 = 0, tolerance: Double = 1e-5) throws
        -> (l2: Double, meanAveragePrecision: Double)
    {
        let f = features.to(.float64)
        let n = targets.count, c = targets.first?.count ?? 0
        guard f.rank == 2, f.size(0) == n, n >= folds, folds >= 2, c > 0, !grid.isEmpty else {
            throw TransferabilityError("the multi-label probe needs an N × D feature matrix with targets per row and N ≥ \(folds)")
        }
        let first = targets.map { row in row.firstIndex(of: true) ?? c }
        let assignment = NearestNeighbours.stratifiedFolds(labels: first, folds: folds, seed: seed)
        let path = grid.sorted(by: >)
        let y = Tensor(targets.flatMap { $0.map { $0 ? 1.0 : 0.0 } }).view([n, c])
        // scores[k][i]: sample i's held-out probabilities at L2 path[k].
        let outcomes = Locked([[[Double]]?](repeating: nil, count: folds * path.count))
        DispatchQueue.concurrentPerform(iterations: folds) { fold in Torch.withThreadLocalThreads(1) {
            let test = (0..<n).filter { assignment[$0] == fold }
            let train = (0..<n).filter { assignment[$0] != fold }
            guard !test.isEmpty, !train.isEmpty else { return }
            let prepared = Prepared(features: f.indexSelect(dim: 0, index: Tensor(train.map(Int64.init))))
            let testFeatures = prepared.transform(f.indexSelect(dim: 0, index: Tensor(test.map(Int64.init))))
            let trainTargets = y.indexSelect(dim: 0, index: Tensor(train.map(Int64.init)))
            var start: Tensor?
            for (k, l2) in path.enumerated() {
                let (w, b, _) = Torch.inferenceMode {
                    fitInferenceMode(prepared, target: trainTargets, objective: .sigmoid, l2: l2, tolerance: tolerance,
                                     maxIterations: 500, start: start)
                }
                start = Tensor.cat([w.reshape([-1]), b])
                let p = (testFeatures.matmul(w) + b).sigmoid().toArray(Double.self)
                outcomes.update { $0[fold * path.count + k] = test.indices.map { Array(p[($0 * c)..<($0 * c + c)]) } }
            }
        } }
        let results = outcomes.value
        var best: (l2: Double, map: Double)?
        for (k, l2) in path.enumerated() {
            var scores = [[Double]](repeating: [Double](repeating: 0, count: c), count: n)
            for fold in 0..<folds {
                guard let rows = results[fold * path.count + k] else { continue }
                for (i, row) in zip((0..<n).filter { assignment[$0] == fold }, rows) { scores[i] = row }
            }
            let aps = (0..<c).compactMap { j in
                RankingMetrics.averagePrecision(scores: scores.map { $0[j] }, targets: targets.map { $0[j] })
            }
            let map = aps.isEmpty ? 0 : aps.reduce(0, +) / Double(aps.count)
            if best == nil || map > best!.map + 1e-12 { best = (l2, map) }
        }
        return (best!.l2, best!.map)
    }

    /// What the probe's outputs are: a softmax over the classes (one class per sample) or a
    /// sigmoid per class (any number).
    enum Objective { case softmax, sigmoid }

    /// The fit on prepared features: W (r × C, in the basis) and b.
    static func fit(_ prepared: Prepared, labels: [Int], classes: Int, l2: Double, tolerance: Double,
                    maxIterations: Int, start: Tensor?) -> (weight: Tensor, bias: Tensor, iterations: Int) {
        // No autograd: the gradient is written out, and inference mode skips the
        // dispatcher's autograd work on each of the thousands of small ops.
        Torch.inferenceMode {
            let n = prepared.x.size(0)
            let target = Tensor.zeros([n, classes], dtype: .float64)
                .scatterAdd(dim: 1, index: Tensor(labels.map(Int64.init)).view([n, 1]),
                            source: Tensor.ones([n, 1], dtype: .float64))
            return fitInferenceMode(prepared, target: target, objective: .softmax, l2: l2, tolerance: tolerance,
                                    maxIterations: maxIterations, start: start)
        }
    }

    /// `target`: N × C, one-hot rows for the softmax objective, multi-hot for the sigmoid one.
    private static func fitInferenceMode(_ prepared: Prepared, target: Tensor, objective: Objective, l2: Double,
                                         tolerance: Double, maxIterations: Int, start: Tensor?)
        -> (weight: Tensor, bias: Tensor, iterations: Int) {
        let x = prepared.x
        let xT = x.transposed(0, 1).contiguous()
        let (n, d) = (x.size(0), x.size(1))
        let classes = target.size(1)
        let count = d * classes + classes
        func weights(_ v: Tensor) -> Tensor { v.slice(dim: 0, start: 0, end: d * classes).view([d, classes]) }
        func bias(_ v: Tensor) -> Tensor { v.slice(dim: 0, start: d * classes, end: nil) }
        func dot(_ a: Tensor, _ b: Tensor) -> Double { (a * b).sum().double }
        // The logits are linear in the parameters, so a line search moves them along x·direction
        // without another product with x: one product forward and one back per iteration.
        /// The loss and the model's probabilities (softmax rows, or sigmoids), which the gradient takes.
        func loss(logits z: Tensor, weightNorm2: Double) -> (Double, Tensor) {
            switch objective {
            case .softmax:
                let logp = z.logSoftmax(dim: 1)
                return (-(logp * target).sum().double / Double(n) + l2 / 2 * weightNorm2, logp.exp())
            case .sigmoid:
                // Σ softplus(z) − y z, with softplus(z) = max(z, 0) + log1p(e^−|z|).
                let softplus = z.clamp(min: 0) + (-z.abs()).exp().log1p()
                return ((softplus - target * z).sum().double / Double(n) + l2 / 2 * weightNorm2, z.sigmoid())
            }
        }
        func gradient(_ v: Tensor, logp p: Tensor) -> Tensor {
            let residual = (p - target) / Double(n)
            return Tensor.cat([(xT.matmul(residual) + weights(v) * l2).reshape([-1]), residual.sum(dim: 0)])
        }
        // The initial inverse Hessian: at W = 0 the mean cross-entropy's Hessian is
        // Σ xxᵀ/n ⊗ (I/C − 11ᵀ/C²) (softmax) or Σ xxᵀ/n ⊗ I/4 (sigmoids); in the row-space
        // basis Σ xxᵀ/n is diagonal, so its diagonal (the columns' mean squares / C or / 4,
        // plus the L2) is close to the whole.
        let curvature = objective == .softmax ? Double(classes) : 4
        let columns = (x * x).mean(dim: 0, keepDim: true).transposed(0, 1)
        let inverseH0 = Tensor.cat([(1 / (columns / curvature + l2)).expand([d, classes]).reshape([-1]),
                                    Tensor.full([classes], curvature, dtype: .float64)])
        var v = start ?? Tensor.zeros([count], dtype: .float64)
        var z = x.matmul(weights(v)) + bias(v)
        var w2 = dot(weights(v), weights(v))
        var (f, logp) = loss(logits: z, weightNorm2: w2)
        var g = gradient(v, logp: logp)
        // Relative to the gradient at zero, so a warm start doesn't tighten the target.
        let g0: Double
        if start == nil {
            g0 = max(g.norm(2).double, 1e-300)
        } else {
            let (_, logp0) = loss(logits: Tensor.zeros([n, classes], dtype: .float64), weightNorm2: 0)
            g0 = max(gradient(Tensor.zeros([count], dtype: .float64), logp: logp0).norm(2).double, 1e-300)
        }
        var memory = LBFGSMemory(diagonal: inverseH0, capacity: 10)
        var iterations = 0
        while iterations < maxIterations && g.norm(2).double > tolerance * g0 {
            iterations += 1
            var direction = -memory.inverseHessianTimes(g)
            var slope = dot(g, direction)
            if slope >= 0 { direction = -(g * inverseH0); slope = dot(g, direction); memory.clear() }
            let dw = weights(direction)
            let dz = x.matmul(dw) + bias(direction)
            let (wdw, dw2) = (dot(weights(v), dw), dot(dw, dw))
            var step = 1.0
            var accepted: (z: Tensor, w2: Double, f: Double, logp: Tensor)?
            for _ in 0..<40 {
                let zc = z + dz * step
                let w2c = w2 + 2 * step * wdw + step * step * dw2
                let (fc, logpc) = loss(logits: zc, weightNorm2: w2c)
                if fc <= f + 1e-4 * step * slope { accepted = (zc, w2c, fc, logpc); break }
                step /= 2
            }
            guard let accepted else { break }
            let next = v + direction * step
            let gn = gradient(next, logp: accepted.logp)
            memory.add(s: next - v, y: gn - g)
            (v, z, w2, f, g) = (next, accepted.z, accepted.w2, accepted.f, gn)
        }
        return (weights(v), bias(v), iterations)
    }

    /// Accuracy by stratified `folds`-fold cross-validation at each L2 of `grid`; the best
    /// mean accuracy wins (ties: the stronger L2). Only `features` and `labels` are seen.
    /// Each fold's fits run to a relative gradient of `tolerance` (10⁻⁵: on three Lite models'
    /// Fashion-MNIST features the accuracies were those at 10⁻⁶ to the last digit, at 60 % of
    /// the iterations; 10⁻⁴ moved one).
    public static func crossValidated(features: Tensor, labels: [Int], grid: [Double] = defaultGrid,
                                      folds: Int = 5, seed: UInt64 = 0, tolerance: Double = 1e-5) throws -> Result {
        let f = features.to(.float64)
        guard f.rank == 2, f.size(0) == labels.count, labels.count >= folds, folds >= 2, !grid.isEmpty else {
            throw TransferabilityError("the linear probe needs an N × D feature matrix with a label per row and N ≥ \(folds)")
        }
        let classes = (labels.max() ?? 0) + 1
        let assignment = NearestNeighbours.stratifiedFolds(labels: labels, folds: folds, seed: seed)
        // Per fold, the L2 path from strong to weak, each fit warm-started from the last.
        let path = grid.sorted(by: >)
        // The folds are independent: one per core, each running its small ops serially (on
        // problems this size the ops' fixed costs take the time, not their arithmetic).
        let outcomes = Locked([[Int]?](repeating: nil, count: folds * path.count))
        DispatchQueue.concurrentPerform(iterations: folds) { fold in Torch.withThreadLocalThreads(1) {
            let test = labels.indices.filter { assignment[$0] == fold }
            let train = labels.indices.filter { assignment[$0] != fold }
            guard !test.isEmpty, !train.isEmpty else { return }
            let prepared = Prepared(features: f.indexSelect(dim: 0, index: Tensor(train.map(Int64.init))))
            let testFeatures = prepared.transform(f.indexSelect(dim: 0, index: Tensor(test.map(Int64.init))))
            let trainLabels = train.map { labels[$0] }
            var start: Tensor?
            for (k, l2) in path.enumerated() {
                let (w, b, _) = fit(prepared, labels: trainLabels, classes: classes, l2: l2, tolerance: tolerance,
                                    maxIterations: 500, start: start)
                start = Tensor.cat([w.reshape([-1]), b])
                let predicted = (testFeatures.matmul(w) + b).argmax(dim: 1).toArray(Int.self)
                outcomes.update { $0[fold * path.count + k] = predicted }
            }
        } }
        var foldAccuracies = [[Double]](repeating: [], count: path.count)
        var correct = [[Bool]](repeating: [Bool](repeating: false, count: labels.count), count: path.count)
        let predictions = outcomes.value
        for fold in 0..<folds {
            let test = labels.indices.filter { assignment[$0] == fold }
            for k in path.indices {
                guard let predicted = predictions[fold * path.count + k] else { continue }
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

/// The last `capacity` L-BFGS pairs and the products among them, for H g in the compact
/// form of Byrd, Nocedal and Schnabel (1994, Thm 2.2):
/// H = H₀ + [S H₀Y] M [Sᵀ; YᵀH₀], M = [[R⁻ᵀ(D + YᵀH₀Y)R⁻¹, −R⁻ᵀ], [−R⁻¹, 0]], with R the
/// upper triangle of SᵀY, D its diagonal, and H₀ = γ·`diagonal` (γ as Barzilai–Borwein
/// scale it, from the newest pair). The same direction as the two-loop recursion, in a
/// dozen tensor ops however many pairs: SᵀY and YᵀH₀Y are kept up to date in Swift from
/// one product per step, which on small problems is what the time goes to.
struct LBFGSMemory {
    let diagonal: Tensor
    let capacity: Int
    private var s: [Tensor] = [], y: [Tensor] = [], dy: [Tensor] = []
    /// sy[i][j] = sᵢ·yⱼ, ydy[i][j] = yᵢ·D·yⱼ (D = `diagonal`).
    private var sy: [[Double]] = [], ydy: [[Double]] = []
    /// Whether the newest pair's products are still to be read (with the next gradient's).
    private var pending = false

    init(diagonal: Tensor, capacity: Int) {
        (self.diagonal, self.capacity) = (diagonal, capacity)
    }

    mutating func clear() {
        (s, y, dy, sy, ydy, pending) = ([], [], [], [], [], false)
    }

    /// Keeps the pair when its curvature sᵀy is positive (else the update is skipped).
    mutating func add(s newS: Tensor, y newY: Tensor) {
        guard (newS * newY).sum().double > 1e-12 else { return }
        if s.count == capacity {
            s.removeFirst(); y.removeFirst(); dy.removeFirst()
            sy.removeFirst(); ydy.removeFirst()
            for i in sy.indices { sy[i].removeFirst(); ydy[i].removeFirst() }
        }
        s.append(newS); y.append(newY); dy.append(newY * diagonal)
        pending = true
    }

    /// H g (just D g without pairs).
    mutating func inverseHessianTimes(_ g: Tensor) -> Tensor {
        let m = s.count
        guard m > 0 else { return g * diagonal }
        // Rows [S; DY] times the columns [g, y_new, D⁻¹ s_new]: Sᵀg, (DY)ᵀg, and the newest
        // pair's row and column of SᵀY and YᵀDY, in one product read back at once.
        let rows = Tensor.stack(s + dy)  // 2m × p
        let columns = pending ? Tensor.stack([g, y[m - 1], s[m - 1] / diagonal], dim: 1) : g.view([-1, 1])
        let width = pending ? 3 : 1
        let products = rows.matmul(columns).toArray(Double.self)  // 2m × width, row-major
        func at(_ row: Int, _ column: Int) -> Double { products[row * width + column] }
        if pending {
            // Row/column m−1: sᵢ·y_new = (S y_new)ᵢ, s_new·yᵢ = (DY D⁻¹s_new)ᵢ, yᵢ·D·y_new = (DY y_new)ᵢ.
            for i in 0..<(m - 1) {
                sy[i].append(at(i, 1))
                ydy[i].append(at(m + i, 1))
            }
            sy.append((0..<m).map { at(m + $0, 2) })
            ydy.append((0..<m).map { at(m + $0, 1) })
            sy[m - 1][m - 1] = at(m - 1, 1)
            pending = false
        }
        let a = (0..<m).map { at($0, 0) }, dg = (0..<m).map { at(m + $0, 0) }
        let gamma = sy[m - 1][m - 1] / ydy[m - 1][m - 1]
        // u = R⁻¹ a by back substitution (R upper: R[i][j] = sᵢ·yⱼ for i ≤ j).
        var u = [Double](repeating: 0, count: m)
        for i in stride(from: m - 1, through: 0, by: -1) {
            var t = a[i]
            for j in (i + 1)..<max(m, i + 1) { t -= sy[i][j] * u[j] }
            u[i] = t / sy[i][i]
        }
        // p₁ = R⁻ᵀ((D_R + γ YᵀDY) u − γ (DY)ᵀg) by forward substitution; p₂ = −u.
        var p1 = [Double](repeating: 0, count: m)
        for i in 0..<m {
            var t = sy[i][i] * u[i] - gamma * dg[i]
            for j in 0..<m { t += gamma * ydy[i][j] * u[j] }
            for j in 0..<i { t -= sy[j][i] * p1[j] }
            p1[i] = t / sy[i][i]
        }
        // H g = γ D g + S p₁ + γ D Y p₂.
        let coefficients = Tensor(p1 + u.map { -gamma * $0 }).view([1, 2 * m])
        return g * diagonal * gamma + coefficients.matmul(rows).view([-1])
    }
}

/// A value behind a lock, for results written from concurrent folds.
final class Locked<Value>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
