import Foundation
import Testing
import Torch
@testable import Transfer
import Vision

struct CalibrationFixture: Decodable {
    struct Case: Decodable {
        let name: String
        let classes: Int
        let logits: [Double]
        let labels: [Int]
        let temperature: Double
        let nll_before: Double
        let nll_after: Double
        let ece_before: Double
        let ece_after: Double
    }
    let bins: Int
    let cases: [Case]
    static let value: CalibrationFixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/calibration.json")
        return try! JSONDecoder().decode(CalibrationFixture.self, from: Data(contentsOf: url))
    }()
}

/// Temperature scaling and ECE against the references (Fixtures/make_calibration_fixtures.py):
/// scipy's minimiser of the cross-entropy for T, torchmetrics' top-label ECE before and after.
@Suite struct CalibrationTests {
    @Test(arguments: CalibrationFixture.value.cases.map(\.name))
    func temperatureAndECEEqualTheReferences(_ name: String) throws {
        let c = try #require(CalibrationFixture.value.cases.first { $0.name == name })
        let logits = Tensor(c.logits).view([c.labels.count, c.classes])
        let fitted = Calibration.fit(logits: logits, labels: c.labels, bins: CalibrationFixture.value.bins)
        #expect(abs(fitted.temperature - c.temperature) <= 1e-6 * c.temperature, "T \(fitted.temperature) vs \(c.temperature)")
        #expect(abs(fitted.nllBefore - c.nll_before) <= 1e-12)
        // At the optimum the loss is flat: a smaller NLL than scipy's (to its xatol) or equal.
        #expect(fitted.nllAfter <= c.nll_after + 1e-12 && fitted.nllAfter < fitted.nllBefore)
        // torchmetrics bins float32 confidences.
        #expect(abs(fitted.eceBefore - c.ece_before) <= 1e-6, "ECE \(fitted.eceBefore) vs \(c.ece_before)")
        #expect(abs(fitted.eceAfter - c.ece_after) <= 1e-6, "ECE \(fitted.eceAfter) vs \(c.ece_after)")
        #expect(fitted.binsBefore.map(\.count).reduce(0, +) == c.labels.count)
    }

    @Test func degenerateInputsGiveOne() {
        #expect(TemperatureScaling.fit(logits: Tensor.zeros([4, 3]), labels: [0, 1, 2, 0]) == 1)
        #expect(TemperatureScaling.fit(logits: Tensor.zeros([0, 3]), labels: []) == 1)
        #expect(CalibrationError.expected(confidences: [], correct: []).ece == 0)
    }
}

/// A run with `calibrate`: the temperature is the one that fits the best epoch's validation
/// logits, it is written into the model card with the ECE, and predict divides by it.
@Suite(.serialized) struct CalibratedRunTests {
    @Test func theCardCarriesTheBestEpochsTemperature() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("calibrated-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = ResNet.resnet18()
        model.resetClassifier(numClasses: 3)
        fillRecipeWeights(model, seed: 7)
        Torch.manualSeed(8)
        let images = Tensor.randn([24, 3, 32, 32]), labels = (0..<24).map { $0 % 3 }
        let valImages = Tensor.randn([12, 3, 32, 32]), valLabels = (0..<12).map { ($0 * 7) % 3 }
        var recipe = Recipe(model: "resnet18")
        recipe.channelsLast = false
        recipe.epochs = 3
        recipe.learningRate = 0.05
        recipe.calibrate = true
        let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b", "c"],
                              train: TensorBatches(images: images, labels: labels, batchSize: 8, shuffle: true),
                              validation: TensorBatches(images: valImages, labels: valLabels, batchSize: 5),
                              cacheSource: TensorBatches(images: images, labels: labels, batchSize: 8),
                              runDirectory: directory,
                              card: ModelCard(architecture: "resnet18", classes: ["a", "b", "c"], preprocessing: .imageNet))
        _ = try trainer.fit()
        let calibration = try #require(trainer.calibration)
        let (saved, card) = try ModelFile.load(directory.appendingPathComponent("model.safetensors"))
        #expect(card.temperature == calibration.temperature)
        #expect(card.metrics["val_ece"] == calibration.eceBefore && card.metrics["val_ece_calibrated"] == calibration.eceAfter)
        // The saved (best) model's own validation logits give the same temperature.
        saved.eval()
        let logits = Torch.inferenceMode { saved(valImages).to(.float64) }
        let refit = Calibration.fit(logits: logits, labels: valLabels)
        #expect(abs(refit.temperature - calibration.temperature) < 1e-6 * calibration.temperature)
        #expect(calibration.nllAfter <= calibration.nllBefore)
        let scaled = TestTimeAugmentation.none.probabilities(saved, valImages, temperature: calibration.temperature)
        let expected = (logits / calibration.temperature).softmax(dim: 1)
        #expect((scaled.probabilities.to(.float64) - expected).abs().max().double < 1e-5)
    }
}
