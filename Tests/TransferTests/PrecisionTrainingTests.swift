import Foundation
import ImageData
import NN
import Testing
import Torch
@testable import Transfer

/// bf16 autocast training of a small real recipe reaches the fp32 run's validation accuracy:
/// EfficientNet-Lite0 from its real ImageNet weights on 10 Fashion-MNIST images per class
/// (the head on cached features, then fine-tuning everything), validated on 20 per class.
/// Tolerance: 4 points of accuracy (8 of the 200 validation images), about the spread between
/// fp32 runs that differ only in their seed on a set this small.
/// Only where the CPU has native bfloat16: elsewhere bf16 is emulated, 20–40× slower.
@Suite("bf16 training accuracy", .serialized,
       .enabled(if: !CPUFeatures.current.nativeBF16.isEmpty, "this CPU has no avx512_bf16 or amx_bf16"))
struct PrecisionTrainingTests {
    static let fashionMNIST = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    func run(_ precision: PrecisionChoice, in root: URL) throws -> TrainingSession.Outcome {
        let full = try IDXDataset(images: Self.fashionMNIST.appendingPathComponent("train-images-idx3-ubyte.gz"),
                                  labels: Self.fashionMNIST.appendingPathComponent("train-labels-idx1-ubyte.gz"),
                                  classes: IDXDataset.fashionMNISTClasses)
        let pool = full.nPerClass(30, seed: 0)
        let parts = pool.split(validationFraction: 2.0 / 3.0, seed: 0)
        let train = Subset(full, parts.train.indices.map { pool.indices[$0] })
        let validation = Subset(full, parts.validation.indices.map { pool.indices[$0] })
        var recipe = Recipe(model: "efficientnet_lite0")
        recipe.weights = .pretrained
        recipe.freeze = .backbone
        recipe.epochs = 6
        recipe.fineTuneEpochs = 2
        recipe.optimizer = .adamw
        recipe.learningRate = 1e-3
        recipe.weightDecay = 0.01
        recipe.imageSize = 112
        recipe.batchSize = 32
        recipe.seed = 0
        recipe.precision = precision
        var session = TrainingSession(recipe: recipe, train: train, validation: validation,
                                      runDirectory: root.appendingPathComponent(precision.rawValue))
        session.workers = 1
        return try session.run()
    }

    @Test func bf16ReachesFP32Accuracy() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("graft-precision-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let fp32 = try run(.fp32, in: root)
        let bf16 = try run(.bf16, in: root)
        #expect(fp32.trainer.precision.precision == .fp32)
        #expect(bf16.trainer.precision.precision == .bf16)
        let a32 = try #require(fp32.result.bestValAccuracy), a16 = try #require(bf16.result.bestValAccuracy)
        print("validation accuracy: fp32 \(a32), bf16 \(a16); seconds fp32 \(fp32.result.seconds), bf16 \(bf16.result.seconds)")
        #expect(a32 >= 0.5, "the fp32 run learned too little to compare with (\(a32))")
        #expect(Swift.abs(a16 - a32) <= 0.04, "bf16 \(a16) vs fp32 \(a32)")
        // The saved model keeps fp32 weights: it is the same file either way.
        let (model, card) = try ModelFile.load(try #require(bf16.result.modelPath))
        #expect(model.stateDict().allSatisfy { !$0.tensor.dtype.isFloatingPoint || $0.tensor.dtype == .float32 })
        #expect(card.trainingPrecision == .bf16)
    }
}
