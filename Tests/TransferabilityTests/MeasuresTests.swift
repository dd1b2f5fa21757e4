import Foundation
import Testing
import Torch
@testable import Transferability

/// The measures on closed-form fixtures (values from running the authors' reference code,
/// and the exact, converged LogME evidence), and their invariances.
@Suite struct MeasuresTests {
    /// i = 0…59, j = 0…7, yᵢ = i mod 3, fᵢⱼ = sin(0.7 i + 1.3 j) + 0.5 cos(0.11 i j) + [yᵢ = j mod 3].
    static func fixture() -> (features: Tensor, labels: [Int]) {
        let (n, d, c) = (60, 8, 3)
        let labels = (0..<n).map { $0 % c }
        var values: [Double] = []
        for i in 0..<n {
            for j in 0..<d {
                let (x, y) = (Double(i), Double(j))
                values.append(Foundation.sin(0.7 * x + 1.3 * y) + 0.5 * Foundation.cos(0.11 * x * y)
                              + (labels[i] == j % c ? 1 : 0))
            }
        }
        return (Tensor(values, shape: [n, d]), labels)
    }

    /// pᵢ,z = softmax_z(cos(0.3 i (z + 1))), Z = 5.
    static func sourceProbabilities() -> Tensor {
        var values: [Double] = []
        for i in 0..<60 { for z in 0..<5 { values.append(Foundation.cos(0.3 * Double(i) * Double(z + 1))) } }
        return Tensor(values, shape: [60, 5]).softmax(dim: 1)
    }

    @Test func logMEIsTheExactConvergedEvidence() throws {
        let (f, y) = Self.fixture()
        let result = try LogME.compute(features: f, labels: y)
        #expect(abs(result.score - 0.07040381596436653) < 1e-12, "\(result.score)")
        #expect(result.reducedTo == nil && result.classes.count == 3)
    }

    @Test func leepAndNCEMatchTheReference() throws {
        let (_, y) = Self.fixture()
        let p = Self.sourceProbabilities()
        #expect(abs(try SourceHeadMeasures.leep(probabilities: p, labels: y) - -1.0980258167847594) < 1e-12)
        let top = p.argmax(dim: 1).toArray(Int.self)
        #expect(abs(try SourceHeadMeasures.nce(predictions: top, labels: y) - -1.080233675081666) < 1e-12)
    }

    @Test func noScoreDependsOnSampleOrderOrClassNames() throws {
        let (f, y) = Self.fixture()
        let order = (0..<60).map { ($0 * 37) % 60 }  // a permutation (37 is prime to 60)
        let fp = f.indexSelect(dim: 0, index: Tensor(order.map(Int64.init)))
        let yp = order.map { y[$0] }
        let renamed = yp.map { [2, 0, 1][$0] }
        let base = try LogME.compute(features: f, labels: y).score
        #expect(abs(try LogME.compute(features: fp, labels: renamed).score - base) < 1e-12)
        let p = Self.sourceProbabilities()
        let pp = p.indexSelect(dim: 0, index: Tensor(order.map(Int64.init)))
        #expect(abs(try SourceHeadMeasures.leep(probabilities: pp, labels: renamed)
                    - SourceHeadMeasures.leep(probabilities: p, labels: y)) < 1e-12)
    }

    @Test func leepIsZeroForPerfectPredictionsAndLogOneOverCForUniformOnes() throws {
        let y = (0..<30).map { $0 % 3 }
        let oneHot = Tensor(y.flatMap { c in (0..<3).map { $0 == c ? 1.0 : 0.0 } }, shape: [30, 3])
        #expect(abs(try SourceHeadMeasures.leep(probabilities: oneHot, labels: y)) < 1e-12)
        let uniform = Tensor([Double](repeating: 1.0 / 4, count: 120), shape: [30, 4])
        #expect(abs(try SourceHeadMeasures.leep(probabilities: uniform, labels: y) - Foundation.log(1.0 / 3)) < 1e-12)
    }

    @Test func informativeFeaturesScoreAboveRandomOnes() throws {
        let (f, y) = Self.fixture()
        let random = Torch.withManualSeed(1) { Tensor.randn([60, 8], dtype: .float64) }
        #expect(try LogME.compute(features: f, labels: y).score > LogME.compute(features: random, labels: y).score)
        let knn = try NearestNeighbours.accuracy(features: f, labels: y)
        let chance = try NearestNeighbours.accuracy(features: random, labels: y)
        #expect(knn.mean > chance.mean && knn.mean > 0.8, "k-NN \(knn) vs random \(chance)")
    }

    /// With N ≤ D the labels lie in the span of the features: the features are reduced by
    /// PCA first, and the result says to how many dimensions.
    @Test func fewSamplesManyDimensionsAreReducedByPCA() throws {
        let y = (0..<12).map { $0 % 3 }
        let f = Torch.withManualSeed(2) { Tensor.randn([12, 64], dtype: .float64) }
        let result = try LogME.compute(features: f, labels: y)
        #expect(result.reducedTo == 5 && result.score.isFinite)
        // The same as LogME on the top 5 principal components by a full SVD (12 > 5: no PCA there).
        let centred = f - f.mean(dim: 0, keepDim: true)
        let (_, _, vh) = centred.svd()
        let components = centred.matmul(vh.slice(dim: 0, start: 0, end: 5).transposed(0, 1))
        let direct = try LogME.compute(features: components, labels: y)
        #expect(direct.reducedTo == nil)
        #expect(abs(direct.score - result.score) < 1e-10, "\(result.score) vs \(direct.score) on the components")
    }

    @Test func stratifiedFoldsHoldEveryClassInProportion() {
        let labels = (0..<50).map { $0 < 30 ? 0 : 1 }
        let folds = NearestNeighbours.stratifiedFolds(labels: labels, folds: 5, seed: 3)
        for fold in 0..<5 {
            let members = labels.indices.filter { folds[$0] == fold }
            #expect(members.filter { labels[$0] == 0 }.count == 6 && members.filter { labels[$0] == 1 }.count == 4)
        }
    }
}

@Suite struct LinearProbeTests {
    /// On separable classes the probe reaches the optimum: its gradient vanishes, it
    /// classifies every training sample, and cross-validation beats random features.
    @Test func fitsToConvergenceAndRanksInformativeFeaturesFirst() throws {
        let (f, y) = MeasuresTests.fixture()
        let model = LinearProbe.fit(features: f, labels: y, classes: 3, l2: 1e-2)
        #expect(model.iterations < 500)
        let accuracy = Double(zip(model.predict(f), y).filter { $0 == $1 }.count) / Double(y.count)
        #expect(accuracy == 1)
        let informative = try LinearProbe.crossValidated(features: f, labels: y)
        let random = try LinearProbe.crossValidated(
            features: Torch.withManualSeed(4) { Tensor.randn([60, 8], dtype: .float64) }, labels: y)
        #expect(informative.accuracy > 0.9 && informative.accuracy > random.accuracy + 0.3,
                "probe \(informative.accuracy) ± \(informative.sd) vs random \(random.accuracy)")
        #expect(informative.scores.count == LinearProbe.defaultGrid.count)
        // Converged: a far tighter tolerance classifies every held-out sample the same way.
        let tight = try LinearProbe.crossValidated(features: f, labels: y, tolerance: 1e-9)
        #expect(tight.heldOutCorrect == informative.heldOutCorrect && tight.l2 == informative.l2)
    }

    /// The fit is the minimiser: at the returned weights the objective's gradient is ~0
    /// (checked against a finite-difference slope along a random direction).
    @Test func theFittedWeightsMinimiseThePenalisedCrossEntropy() throws {
        let (f, y) = MeasuresTests.fixture()
        let l2 = 0.1
        let model = LinearProbe.fit(features: f, labels: y, classes: 3, l2: l2, tolerance: 1e-10)
        func loss(_ w: Tensor, _ b: Tensor) -> Double {
            let x = (f - model.mean) / model.scale
            let logp = (x.matmul(w) + b).logSoftmax(dim: 1)
            let picked = y.enumerated().map { logp[$0.offset, $0.element].double }.reduce(0, +)
            return -picked / Double(y.count) + l2 / 2 * (w * w).sum().double
        }
        let direction = Torch.withManualSeed(5) { Tensor.randn(model.weight.shape, dtype: .float64) }
        let h = 1e-5
        let slope = (loss(model.weight + direction * h, model.bias) - loss(model.weight - direction * h, model.bias)) / (2 * h)
        #expect(abs(slope) < 1e-6, "directional derivative \(slope) at the fit")
    }

    /// With fewer samples than dimensions the fit runs in the rows' span (N × r instead of
    /// N × D): the weights it hands back are still the full problem's minimiser (the
    /// penalised loss is flat along random full-space directions at them).
    @Test func theRowSpaceFitIsTheFullProblemsMinimiser() throws {
        let (n, d, c) = (24, 60, 3)
        let labels = (0..<n).map { $0 % c }
        let f = Torch.withManualSeed(7) { Tensor.randn([n, d], dtype: .float64) }
            + Tensor(labels.map { Double($0) }, shape: [n, 1]) * 0.5
        let l2 = 0.05
        let model = LinearProbe.fit(features: f, labels: labels, classes: c, l2: l2, tolerance: 1e-10)
        #expect(model.weight.shape == [d, c])
        func loss(_ w: Tensor, _ b: Tensor) -> Double {
            let x = (f - model.mean) / model.scale
            let logp = (x.matmul(w) + b).logSoftmax(dim: 1)
            let picked = labels.enumerated().map { logp[$0.offset, $0.element].double }.reduce(0, +)
            return -picked / Double(n) + l2 / 2 * (w * w).sum().double
        }
        for seed in UInt64(8)...10 {
            let direction = Torch.withManualSeed(seed) { Tensor.randn([d, c], dtype: .float64) }
            let h = 1e-5
            let slope = (loss(model.weight + direction * h, model.bias) - loss(model.weight - direction * h, model.bias))
                / (2 * h)
            #expect(abs(slope) < 1e-6, "directional derivative \(slope) at the fit")
        }
        // Warm-starting from the full-space answer, there's nothing left to do.
        let again = LinearProbe.fit(features: f, labels: labels, classes: c, l2: l2, tolerance: 1e-8,
                                    start: model.parameters)
        #expect(again.iterations <= 2)
    }

    /// The compact L-BFGS product equals the two-loop recursion's on the same pairs and
    /// scaled diagonal, as pairs come and go past the memory's capacity.
    @Test func theCompactInverseHessianEqualsTheTwoLoopRecursion() {
        let p = 40
        let diagonal = Torch.withManualSeed(11) { Tensor.rand([p], dtype: .float64) + 0.5 }
        var memory = LBFGSMemory(diagonal: diagonal, capacity: 4)
        var pairs: [(Tensor, Tensor)] = []
        // y = A s for a fixed positive-definite A: every pair has positive curvature.
        let a = Torch.withManualSeed(12) { () -> Tensor in
            let m = Tensor.randn([p, p], dtype: .float64)
            return m.matmul(m.transposed(0, 1)) / Double(p) + Tensor.eye(p, dtype: .float64)
        }
        for step in 0..<7 {
            let s = Torch.withManualSeed(UInt64(20 + step)) { Tensor.randn([p], dtype: .float64) }
            let y = a.matmul(s)
            memory.add(s: s, y: y)
            pairs.append((s, y))
            if pairs.count > 4 { pairs.removeFirst() }
            let g = Torch.withManualSeed(UInt64(40 + step)) { Tensor.randn([p], dtype: .float64) }
            // The two-loop recursion with H₀ = γ D, γ = sᵀy / yᵀDy of the newest pair.
            var q = g
            var alphas: [Double] = []
            for (s, y) in pairs.reversed() {
                let alpha = (s * q).sum().double / (s * y).sum().double
                alphas.append(alpha)
                q = q - y * alpha
            }
            let (ls, ly) = pairs[pairs.count - 1]
            q = q * diagonal * ((ls * ly).sum().double / (ly * ly * diagonal).sum().double)
            for ((s, y), alpha) in zip(pairs, alphas.reversed()) {
                q = q + s * (alpha - (y * q).sum().double / (s * y).sum().double)
            }
            let compact = memory.inverseHessianTimes(g)
            let difference = (compact - q).abs().max().double / q.abs().max().double
            #expect(difference < 1e-10, "step \(step): relative difference \(difference)")
        }
    }
}
