import Foundation
import NN
import Testing
import Torch
@testable import Transfer
import Vision

struct LRFindFixture: Decodable {
    struct Case: Decodable {
        let name: String
        let start_lr: Double
        let end_lr: Double
        let num_it: Int
        let raw_losses: [Double]
        let lrs: [Double]
        let smoothed: [Double]
        let valley: Double
    }
    let beta: Double
    let cases: [Case]
    static let value: LRFindFixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/lr_find.json")
        return try! JSONDecoder().decode(LRFindFixture.self, from: Data(contentsOf: url))
    }()
}

@Suite(.serialized) struct LearningRateFinderTests {
    /// From fastai's own batch losses, Graft's finder gives fastai's rates, smoothed losses,
    /// stopping point (a full sweep, a divergence) and `valley` suggestion.
    @Test(arguments: LRFindFixture.value.cases.map(\.name))
    func sweepSmoothingStopAndValleyEqualFastai(_ name: String) throws {
        let c = try #require(LRFindFixture.value.cases.first { $0.name == name })
        #expect(LRFindFixture.value.beta == LearningRateFinding.beta)
        var finding = LearningRateFinding(sweep: LearningRateSweep(start: c.start_lr, end: c.end_lr, iterations: c.num_it))
        var fed = 0
        for loss in c.raw_losses {
            fed += 1
            if !finding.record(loss: loss) { break }
        }
        // It stops on the same batch as fastai (fastai ran exactly raw_losses.count batches).
        #expect(fed == c.raw_losses.count)
        #expect(finding.losses.count == c.lrs.count)
        for (a, b) in zip(finding.learningRates, c.lrs) { #expect(abs(a - b) <= 1e-12 * b) }
        // fastai smooths in float32.
        for (a, b) in zip(finding.smoothedLosses, c.smoothed) { #expect(abs(a - b) <= 2e-6 * abs(b)) }
        #expect(finding.diverged == (c.raw_losses.count < c.num_it))
        finding.suggest()
        let suggestion = try #require(finding.suggestion)
        #expect(abs(suggestion - c.valley) <= 1e-6 * c.valley, "\(suggestion) vs fastai \(c.valley)")
    }

    @Test func valleyOfTooShortASweepIsNil() {
        var finding = LearningRateFinding(sweep: LearningRateSweep(iterations: 100))
        for loss in [2.0, 1.9, 1.8, 1.7, 1.6, 1.5] { _ = finding.record(loss: loss) }
        finding.suggest()  // the first 10 and the last 5 are dropped: nothing left
        #expect(finding.suggestion == nil)
        #expect(LearningRateSweep(start: 1, end: 0.1).problem != nil)
    }

    func tinyTrainer(_ recipe: Recipe) -> Trainer {
        let model = ResNet.resnet18()
        model.resetClassifier(numClasses: 3)
        fillRecipeWeights(model, seed: 7)
        Torch.manualSeed(8)
        let images = Tensor.randn([24, 3, 32, 32])
        let labels = (0..<24).map { $0 % 3 }
        let data = TensorBatches(images: images, labels: labels, batchSize: 4, shuffle: true, seed: 1)
        return Trainer(recipe: recipe, model: model, classes: ["a", "b", "c"], train: data,
                       validation: TensorBatches(images: images, labels: labels, batchSize: 8), cacheSource: data,
                       runDirectory: nil, card: ModelCard(architecture: "resnet18", classes: ["a", "b", "c"],
                                                          preprocessing: .imageNet))
    }

    /// A real sweep of the head on cached features: the first batch's loss is the untrained
    /// model's loss on that batch, the losses first fall then blow up, and the weights come back.
    @Test func sweepOnTheHeadRestoresTheModel() throws {
        var recipe = Recipe(model: "resnet18")
        recipe.channelsLast = false
        let trainer = tinyTrainer(recipe)
        let before = trainer.model.stateDict().map { (key: $0.key, tensor: $0.tensor.clone()) }
        let finding = try trainer.findLearningRate(phase: .head, sweep: LearningRateSweep(start: 1e-5, end: 100, iterations: 60))
        let after = Dictionary(trainer.model.stateDict().map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        for (key, tensor) in before { #expect(after[key]!.eq(tensor).all().double == 1, "\(key) changed") }
        #expect(finding.losses.count > 10 && finding.losses.count <= 60)
        #expect(finding.losses.count == 60 || finding.diverged)
        let suggestion = try #require(finding.suggestion)
        #expect(suggestion > 1e-5 && suggestion < 100)
        #expect(finding.smoothedLosses.min()! < finding.smoothedLosses[0])
        // Batch 0 ran at 1e-5 on the untouched head: its loss is the model's own on that batch.
        let data = trainer.train as! TensorBatches
        let first = Array(data.indices(epoch: 0).prefix(4))
        let logits = Torch.inferenceMode {
            trainer.model.eval()
            return trainer.model(data.images.indexSelect(dim: 0, index: Tensor(first.map(Int64.init))))
        }
        let loss = Functional.crossEntropy(logits, Tensor(first.map { Int64(data.labels[$0]) })).double
        #expect(abs(loss - finding.losses[0]) < 1e-4)
    }

    /// `--lr auto`: the phase trains at the finder's suggestion.
    @Test func autoLearningRateTrainsAtTheSuggestion() throws {
        var recipe = Recipe(model: "resnet18")
        recipe.channelsLast = false
        recipe.epochs = 2
        recipe.learningRateSweep = LearningRateSweep(start: 1e-5, end: 100, iterations: 60)
        let trainer = tinyTrainer(recipe)
        let result = try trainer.fit()
        let finding = try #require(trainer.learningRateFindings[.head])
        let suggestion = try #require(finding.suggestion)
        #expect(result.history.map(\.learningRate) == [suggestion, suggestion])
        // The same sweep again, on the freshly made model, gives the same rate: the run is repeatable.
        let again = tinyTrainer(recipe)
        _ = try again.fit()
        #expect(again.learningRateFindings[.head]?.suggestion == suggestion)
    }
}
