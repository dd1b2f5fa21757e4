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
}
