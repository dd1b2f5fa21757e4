import Foundation
import NN
import Optimizers
import Testing
import Torch
@testable import Transfer
import Vision

struct LayerDecayFixture: Decodable {
    let layer_decay: Double
    let weight_decay: Double
    let classes: Int
    /// model → parameter key → [lr scale, weight decay].
    let models: [String: [String: [Double]]]
}

/// Layer-wise learning-rate decay against timm's `param_groups_layer_decay` (fixture:
/// Fixtures/make_layer_decay_fixtures.py): every parameter of every family Graft groups gets
/// timm's learning-rate scale and weight decay, through the optimizer the trainer builds.
@Suite(.serialized) struct LayerDecayTests {
    static let fixture: LayerDecayFixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/layer_decay.json")
        return try! JSONDecoder().decode(LayerDecayFixture.self, from: Data(contentsOf: url))
    }()

    @Test(arguments: fixture.models.keys.sorted())
    func scalesAndWeightDecayEqualTimms(_ name: String) throws {
        let fixture = Self.fixture
        let expected = try #require(fixture.models[name])
        let model = try Torch.withManualSeed(0) { try Zoo.make(name, numClasses: fixture.classes) }
        try model.applyFreeze(.none)
        var recipe = Recipe(model: name)
        recipe.optimizer = .adamw
        recipe.learningRate = 1e-3
        recipe.weightDecay = fixture.weight_decay
        recipe.layerDecay = fixture.layer_decay
        let trainer = Trainer(recipe: recipe, model: model, classes: (0..<fixture.classes).map(String.init),
                              train: TensorBatches(images: Tensor.zeros([1, 3, 8, 8]), labels: [0], batchSize: 1),
                              validation: nil, runDirectory: nil,
                              card: ModelCard(architecture: name, classes: [], preprocessing: .imageNet))
        let optimizer = trainer.makeOptimizer(phase: .fineTune)
        var found: [ObjectIdentifier: (lr: Double, wd: Double)] = [:]
        for group in optimizer.parameterGroups {
            for p in group.parameters { found[ObjectIdentifier(p)] = (group.learningRate, group.weightDecay) }
        }
        let parameters = model.namedParameters()
        #expect(parameters.count == expected.count)
        var wrong: [String] = []
        for (key, parameter) in parameters {
            guard let want = expected[key], let got = found[ObjectIdentifier(parameter)] else {
                wrong.append("\(key): missing"); continue
            }
            // timm's scales are Python floats from 0.75 ** k; the fixture stores them to JSON's precision.
            if abs(got.lr / 1e-3 - want[0]) > 1e-12 * max(1, want[0]) || got.wd != want[1] {
                wrong.append("\(key): scale \(got.lr / 1e-3), wd \(got.wd); timm \(want[0]), \(want[1])")
            }
        }
        let allMatch = wrong.isEmpty
        #expect(allMatch, "\(name): \(wrong.count) differ, e.g. \(wrong.prefix(3))")
        // The head trains at the full rate, the stem at the smallest.
        let (_, count) = try #require(model.layerIDs())
        #expect(Set(expected.values.map { $0[0] }).count == count)
    }

    @Test func familiesWithoutAGroupingAreRefusedByName() throws {
        let model = try Torch.withManualSeed(0) { try Zoo.make("resnet18", numClasses: 3) }
        var recipe = Recipe(model: "resnet18")
        recipe.layerDecay = 0.75
        recipe.epochs = 1
        let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b", "c"],
                              train: TensorBatches(images: Tensor.zeros([2, 3, 32, 32]), labels: [0, 1], batchSize: 2),
                              validation: nil, runDirectory: nil,
                              card: ModelCard(architecture: "resnet18", classes: ["a", "b", "c"], preprocessing: .imageNet))
        #expect(throws: TrainingError.self) { try trainer.fit() }
        do { _ = try trainer.fit() } catch { #expect("\(error)".contains("resnet18 has no grouping")) }
    }
}
