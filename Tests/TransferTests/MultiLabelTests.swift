import Foundation
import Testing
import Torch
@testable import Transfer
import Transferability

struct MultiLabelFixture: Decodable {
    struct Case: Decodable {
        let name: String
        let classes: Int
        let logits: [Double]
        let targets: [Int]
        let ap: [Double]
        let map: Double
        let thresholds: [Double]
        let f1_micro: Double
        let f1_macro: Double
        let f1_micro_half: Double
        let f1_macro_half: Double
        let bce: Double
    }
    struct Probe: Decodable {
        let features: [Double]
        let targets: [Int]
        let n: Int
        let d: Int
        let classes: Int
        let l2: Double
        let probabilities: [Double]
    }
    let cases: [Case]
    let probe: Probe
    static let value: MultiLabelFixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/multilabel.json")
        return try! JSONDecoder().decode(MultiLabelFixture.self, from: Data(contentsOf: url))
    }()
}

/// Multi-label metrics against scikit-learn (Fixtures/make_multilabel_fixtures.py).
@Suite struct MultiLabelMetricsTests {
    @Test(arguments: MultiLabelFixture.value.cases.map(\.name))
    func apThresholdsAndF1EqualScikitLearns(_ name: String) throws {
        let c = try #require(MultiLabelFixture.value.cases.first { $0.name == name })
        let n = c.targets.count / c.classes
        let logits = Tensor(c.logits).view([n, c.classes])
        let targets = Tensor(c.targets.map(Double.init)).view([n, c.classes])
        let classes = (0..<c.classes).map { "c\($0)" }
        let half = MultiLabelMetrics(classes: classes, logits: logits, targets: targets)
        for (k, ap) in c.ap.enumerated() { #expect(abs((half.perClass[k].averagePrecision ?? -1) - ap) < 1e-12) }
        #expect(abs(half.meanAveragePrecision - c.map) < 1e-12)
        #expect(abs(half.microF1 - c.f1_micro_half) < 1e-12 && abs(half.macroF1 - c.f1_macro_half) < 1e-12)
        #expect(abs(half.loss! - c.bce) < 1e-12)
        let p = logits.sigmoid().toArray(Double.self)
        let probabilities = (0..<n).map { Array(p[($0 * c.classes)..<($0 * c.classes + c.classes)]) }
        let truth = (0..<n).map { i in (0..<c.classes).map { c.targets[i * c.classes + $0] == 1 } }
        let thresholds = MultiLabelMetrics.bestThresholds(probabilities: probabilities, targets: truth, classes: c.classes)
        for (a, b) in zip(thresholds, c.thresholds) { #expect(abs(a - b) < 1e-12, "threshold \(a) vs \(b)") }
        let tuned = MultiLabelMetrics(classes: classes, probabilities: probabilities, targets: truth, thresholds: thresholds)
        #expect(abs(tuned.microF1 - c.f1_micro) < 1e-12 && abs(tuned.macroF1 - c.f1_macro) < 1e-12)
        #expect(tuned.macroF1 >= half.macroF1)
    }

    /// The converged multi-label head: one logistic regression per class, as scikit-learn's.
    @Test func multiLabelProbeEqualsScikitLearnsLogisticRegressions() {
        let p = MultiLabelFixture.value.probe
        let features = Tensor(p.features).view([p.n, p.d])
        let targets = Tensor(p.targets.map(Double.init)).view([p.n, p.classes])
        let model = LinearProbe.fitMultiLabel(features: features, targets: targets, l2: p.l2, tolerance: 1e-10)
        let probabilities = model.logits(features).sigmoid().toArray(Double.self)
        let worst = zip(probabilities, p.probabilities).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-6, "largest probability difference \(worst)")
    }

    @Test func aClassWithoutPositivesHasNoAveragePrecision() {
        let m = MultiLabelMetrics(classes: ["a", "b"], probabilities: [[0.9, 0.2], [0.1, 0.7]],
                                  targets: [[true, false], [false, false]])
        #expect(m.perClass[1].averagePrecision == nil && m.meanAveragePrecision == 1)
        #expect(MultiLabelMetrics.bestThreshold(scores: [0.3], targets: [false]) == 0.5)
    }
}
