import Foundation
import ImageData
import NN
import Optimizers
import Pretrained
import Testing
import Torch
import Vision
@testable import Transfer
import Transferability

/// The recipe fixture's weight fill (as Tests/VisionTests, with √(1/fan_in)).
func fillRecipeWeights(_ model: Module, seed: UInt64) {
    Torch.manualSeed(seed)
    Torch.noGrad {
        for (key, t) in model.stateDict() {
            let shape = t.shape
            if key.hasSuffix("num_batches_tracked") { t.zero_() }
            else if key.hasSuffix("running_var") { t.copy_(Tensor.rand(shape) + 0.5) }
            else if key.hasSuffix("running_mean") { t.copy_(Tensor.randn(shape) * 0.1) }
            else if shape.count >= 2 { t.copy_(Tensor.randn(shape) * (1.0 / Double(shape.dropFirst().reduce(1, *))).squareRoot()) }
            else if key.hasSuffix("weight") { t.copy_(Tensor.randn(shape) * 0.1 + 0.5) }
            else { t.copy_(Tensor.randn(shape) * 0.1) }
        }
    }
}

struct RecipeFixture: Decodable {
    struct Run: Decodable {
        let losses: [Double]
        let fc_weight: [Double]
        let fc_bias: [Double]
    }
    let tutorial: Run
    let graft_default: Run
    static let value: RecipeFixture? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/recipe.json")
        return (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode(RecipeFixture.self, from: $0) }
    }()
}

@Suite(.serialized)
struct TrainerTests {
    /// The tutorial's recipe: ResNet-18, new fc, all frozen but fc, SGD(0.001, 0.9), 2 epochs of 4 batches.
    func tutorialRun(batchNorm: BatchNormPolicy, cache: Bool) throws
        -> (losses: [Double], model: ImageClassifier, validation: [Double])
    {
        let model = ResNet.resnet18()
        model.resetClassifier(numClasses: 3)
        fillRecipeWeights(model, seed: 7)
        Torch.manualSeed(8)
        var xs: [Tensor] = [], ys: [Int] = []
        for _ in 0..<4 {
            xs.append(Tensor.randn([4, 3, 64, 64]))
            ys += Tensor.randint(0, 3, [4]).toArray(Int.self)
        }
        let data = TensorBatches(images: Tensor.cat(xs), labels: ys, batchSize: 4)
        Torch.manualSeed(80)
        let val = TensorBatches(images: Tensor.randn([6, 3, 64, 64]), labels: [0, 1, 2, 0, 1, 2], batchSize: 4)
        var recipe = Recipe(model: "resnet18")
        recipe.epochs = 2
        recipe.learningRate = 0.001
        recipe.batchNorm = batchNorm
        recipe.channelsLast = false
        recipe.cacheFeatures = cache ? .auto : .off
        let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b", "c"], train: data, validation: val,
                              cacheSource: data, runDirectory: nil,
                              card: ModelCard(architecture: "resnet18", classes: ["a", "b", "c"], preprocessing: .imageNet))
        var losses: [Double] = []
        trainer.onEvent = { event in
            if case .batchFinished(_, _, _, let loss, _, _) = event { losses.append(loss) }
        }
        let result = try trainer.fit()
        return (losses, model, result.history.compactMap(\.valLoss))
    }

    @Test func tutorialRecipeMatchesPyTorch() throws {
        let expected = try #require(RecipeFixture.value)
        let (losses, model, _) = try tutorialRun(batchNorm: .train, cache: false)
        #expect(losses.count == 8)
        for (a, e) in zip(losses, expected.tutorial.losses) { #expect(abs(a - e) < 1e-4, "loss \(a) vs PyTorch \(e)") }
        let fc = try #require(model.classifierLayer as? Linear)
        let w = fc.weight.toArray(Double.self)
        let worst = zip(w, expected.tutorial.fc_weight).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "fc weight differs from PyTorch's by \(worst)")
    }

    @Test func frozenBatchNormDefaultMatchesPyTorchAndTheCacheChangesNothing() throws {
        let expected = try #require(RecipeFixture.value)
        let uncached = try tutorialRun(batchNorm: .frozen, cache: false)
        let cached = try tutorialRun(batchNorm: .frozen, cache: true)
        for (a, e) in zip(uncached.losses, expected.graft_default.losses) { #expect(abs(a - e) < 1e-4, "\(a) vs \(e)") }
        for (a, e) in zip(cached.losses, uncached.losses) { #expect(abs(a - e) < 1e-5, "cached \(a) vs \(e)") }
        // Validation on cached features gives the same numbers as running the model.
        #expect(cached.validation.count == 2 && uncached.validation.count == 2)
        for (a, e) in zip(cached.validation, uncached.validation) { #expect(abs(a - e) < 1e-5, "val \(a) vs \(e)") }
        let wc = try #require(cached.model.classifierLayer as? Linear).weight
        let wu = try #require(uncached.model.classifierLayer as? Linear).weight
        #expect(wc.allClose(wu, rtol: 1e-5, atol: 1e-6))
        // The frozen trunk's BatchNorm statistics did not move.
        let bn = try #require(cached.model.module(at: "bn1") as? BatchNorm2d)
        #expect(bn.numBatchesTracked.int == 0)
    }

    func smallRun(epochs: Int, fineTune: Int, run: URL, stopAfter: Int? = nil, resume: Bool = false,
                  ema: Double? = nil) throws -> Trainer
    {
        Torch.manualSeed(3)
        let model = MobileNetV3.small(numClasses: 4)
        model.graftHead(numClasses: 4, hidden: 16, dropout: 0.3)
        Torch.manualSeed(4)
        let data = TensorBatches(images: Tensor.randn([12, 3, 32, 32]), labels: (0..<12).map { $0 % 4 }, batchSize: 4,
                                 shuffle: true, seed: 5)
        let val = TensorBatches(images: Tensor.randn([8, 3, 32, 32]), labels: (0..<8).map { $0 % 4 }, batchSize: 4)
        var recipe = Recipe(model: "mobilenet_v3_small")
        recipe.epochs = epochs
        recipe.fineTuneEpochs = fineTune
        recipe.optimizer = .adamw
        recipe.schedule = .cosine
        recipe.learningRate = 1e-3
        recipe.headHidden = 16
        recipe.headDropout = 0.3
        recipe.seed = 9
        recipe.ema = ema
        recipe.emaWarmup = ema == nil ? nil : true
        let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b", "c", "d"], train: data, validation: val,
                              runDirectory: run,
                              card: ModelCard(architecture: "mobilenet_v3_small", classes: ["a", "b", "c", "d"],
                                              preprocessing: .imageNet))
        if let stopAfter {
            trainer.onEvent = { event in
                if case .epochFinished(let r) = event, r.epoch + 1 == stopAfter { throw CancellationError() }
            }
        }
        do { _ = try trainer.fit(resume: resume) } catch is CancellationError {}
        return trainer
    }

    /// `HeadFit.converged`: one head step that writes the tuned linear probe into the
    /// Linear: its logits on the cached features are the probe's (fitted at the L2 that
    /// cross-validation on those features picks), and the record carries that L2.
    @Test func theConvergedHeadIsTheTunedLinearProbe() throws {
        let model = ResNet.resnet18()
        model.resetClassifier(numClasses: 3)
        fillRecipeWeights(model, seed: 21)
        Torch.manualSeed(22)
        let labels = (0..<30).map { $0 % 3 }
        let offsets = Tensor(labels.map { Float($0) * 0.7 }, shape: [30, 1, 1, 1])
        let images = Tensor.randn([30, 3, 32, 32]) + offsets
        let data = TensorBatches(images: images, labels: labels, batchSize: 8)
        let valImages = Tensor.randn([9, 3, 32, 32])
            + Tensor([0, 0.7, 1.4, 0, 0.7, 1.4, 0, 0.7, 1.4] as [Float], shape: [9, 1, 1, 1])
        let val = TensorBatches(images: valImages, labels: [0, 1, 2, 0, 1, 2, 0, 1, 2], batchSize: 8)
        var recipe = Recipe(model: "resnet18")
        recipe.headFit = .converged
        recipe.epochs = 1
        recipe.channelsLast = false
        let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b", "c"], train: data, validation: val,
                              cacheSource: data, runDirectory: nil,
                              card: ModelCard(architecture: "resnet18", classes: ["a", "b", "c"], preprocessing: .imageNet))
        let result = try trainer.fit()
        #expect(result.history.count == 1)
        let record = try #require(result.history.first)
        model.eval()
        let features = Torch.noGrad { model.pooledFeatures(images) }.to(.float64)
        let cv = try LinearProbe.crossValidated(features: features, labels: labels)
        #expect(record.l2 == cv.l2)
        let probe = LinearProbe.fit(features: features, labels: labels, classes: 3, l2: cv.l2)
        let ours = Torch.noGrad { model.head(features.to(.float32)) }.to(.float64)
        let worst = (ours - probe.logits(features)).abs().max().double
        #expect(worst < 1e-3, "head logits vs the probe's: largest difference \(worst)")
        let accuracy = Double(zip(probe.predict(features), labels).filter { $0 == $1 }.count) / 30
        #expect(abs(record.trainAccuracy - accuracy) < 1e-12)
        // Validation ran on the written head: its accuracy is the probe's on the validation features.
        let valFeatures = Torch.noGrad { model.pooledFeatures(valImages) }.to(.float64)
        let valAccuracy = Double(zip(probe.predict(valFeatures), [0, 1, 2, 0, 1, 2, 0, 1, 2]).filter { $0 == $1 }.count) / 9
        #expect(record.valAccuracy.map { abs($0 - valAccuracy) < 1e-12 } == true, "\(record.valAccuracy ?? -1) vs \(valAccuracy)")
        // A recipe the converged fit can't serve is refused with the reason.
        var augmented = recipe
        augmented.augment = .light
        #expect(augmented.convergedHeadProblem != nil)
    }

    /// Accumulating 3 batches of 4 is one batch of 12: the same weights after two epochs of
    /// SGD with momentum on a shuffled order (a ragged last group included: 30 samples).
    @Test func accumulatedBatchesStepAsOneBigBatch() throws {
        func run(batchSize: Int, accumulate: Int?) throws -> Tensor {
            let model = ResNet.resnet18()
            model.resetClassifier(numClasses: 3)
            fillRecipeWeights(model, seed: 31)
            Torch.manualSeed(32)
            let labels = (0..<30).map { $0 % 3 }
            let data = TensorBatches(images: Tensor.randn([30, 3, 32, 32]), labels: labels, batchSize: batchSize,
                                     shuffle: true, seed: 5)
            var recipe = Recipe(model: "resnet18")
            recipe.epochs = 2
            recipe.learningRate = 0.05
            recipe.accumulate = accumulate
            recipe.channelsLast = false
            let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b", "c"], train: data, validation: nil,
                                  cacheSource: TensorBatches(images: data.images, labels: labels, batchSize: batchSize),
                                  runDirectory: nil,
                                  card: ModelCard(architecture: "resnet18", classes: ["a", "b", "c"], preprocessing: .imageNet))
            _ = try trainer.fit()
            return try #require(model.classifierLayer as? Linear).weight
        }
        let big = try run(batchSize: 12, accumulate: nil)
        let accumulated = try run(batchSize: 4, accumulate: 3)
        let plain = try run(batchSize: 4, accumulate: nil)
        let worst = (big - accumulated).abs().max().double
        #expect(worst < 1e-6, "accumulated vs one big batch: \(worst)")
        #expect((big - plain).abs().max().double > 1e-3, "batches of 4 without accumulation should differ")
    }

    /// A time limit stops the run at the first epoch end that leaves no room for another
    /// epoch as long; a generous one changes nothing.
    @Test func aTimeLimitStopsAtAnEpochEnd() throws {
        func run(limit: TimeInterval) throws -> TrainingResult {
            let model = ResNet.resnet18()
            model.resetClassifier(numClasses: 2)
            fillRecipeWeights(model, seed: 3)
            Torch.manualSeed(4)
            let data = TensorBatches(images: Tensor.randn([8, 3, 32, 32]), labels: [0, 1, 0, 1, 0, 1, 0, 1], batchSize: 4)
            var recipe = Recipe(model: "resnet18")
            recipe.epochs = 6
            recipe.channelsLast = false
            recipe.cacheFeatures = .off
            let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b"], train: data, validation: nil,
                                  runDirectory: nil,
                                  card: ModelCard(architecture: "resnet18", classes: ["a", "b"], preprocessing: .imageNet))
            trainer.callbacks.append(TimeLimit(seconds: limit))
            return try trainer.fit()
        }
        let cut = try run(limit: 0.001)
        #expect(cut.history.count == 1 && cut.stoppedEarly)
        let whole = try run(limit: 3600)
        #expect(whole.history.count == 6 && !whole.stoppedEarly)
        #expect(FineTuneRace.rounds(for: 1) == 1 && FineTuneRace.rounds(for: 2) == 1 && FineTuneRace.rounds(for: 3) == 2
                && FineTuneRace.rounds(for: 5) == 3)
    }

    @Test func resumeEqualsNoInterruptionAcrossThePhaseBoundary() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("graft-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let straight = base.appendingPathComponent("straight"), split = base.appendingPathComponent("split")
        try FileManager.default.createDirectory(at: straight, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: split, withIntermediateDirectories: true)
        let a = try smallRun(epochs: 2, fineTune: 2, run: straight)
        _ = try smallRun(epochs: 2, fineTune: 2, run: split, stopAfter: 1)
        _ = try smallRun(epochs: 2, fineTune: 2, run: split, stopAfter: 3, resume: true)
        let b = try smallRun(epochs: 2, fineTune: 2, run: split, resume: true)
        #expect(a.history.count == 4 && b.history.count == 4)
        #expect(a.history.map(\.trainLoss) == b.history.map(\.trainLoss))
        for ((key, x), (_, y)) in zip(a.model.stateDict(), b.model.stateDict()) {
            #expect(x.to(.float64).eq(y.to(.float64)).all().item(Bool.self), "\(key) differs after resume")
        }
        // The best model is a self-describing file that loads on its own.
        let (loaded, card) = try ModelFile.load(split.appendingPathComponent("model.safetensors"))
        #expect(card.classes == ["a", "b", "c", "d"])
        #expect(card.recipe?.headHidden == 16 && card.headHidden == 16)
        #expect(loaded.numClasses == 4)
    }

    /// With a moving average, a run cut short and resumed twice ends with the same average
    /// as one that never stopped; the checkpoint carries it with its update count.
    @Test func theWeightAverageResumesExactly() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("graft-ema-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let straight = base.appendingPathComponent("straight"), split = base.appendingPathComponent("split")
        for url in [straight, split] { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        let a = try smallRun(epochs: 2, fineTune: 2, run: straight, ema: 0.9)
        _ = try smallRun(epochs: 2, fineTune: 2, run: split, stopAfter: 1, ema: 0.9)
        _ = try smallRun(epochs: 2, fineTune: 2, run: split, stopAfter: 3, resume: true, ema: 0.9)
        let b = try smallRun(epochs: 2, fineTune: 2, run: split, resume: true, ema: 0.9)
        let (x, y) = (try #require(a.ema), try #require(b.ema))
        #expect(x.updates == 12 && y.updates == 12)
        #expect(Set(x.shadow.keys) == Set(y.shadow.keys) && !x.shadow.isEmpty)
        for (key, value) in x.shadow {
            #expect(value.to(.float64).eq(y.shadow[key]!.to(.float64)).all().item(Bool.self), "\(key) average differs")
        }
        // The average is not the weights themselves.
        let weights = Dictionary(a.model.stateDict().map { ($0.key, $0.tensor) }, uniquingKeysWith: { p, _ in p })
        #expect(x.shadow.contains { key, value in
            value.dtype.isFloatingPoint && (value - weights[key]!).abs().max().double > 1e-6 })
        let checkpoint = try TrainingCheckpoint.read(split.appendingPathComponent("checkpoint.safetensors"))
        #expect(checkpoint.emaUpdates == 12 && checkpoint.ema?.count == x.shadow.count)
    }

    /// Gradual unfreezing: after fine-tuning epoch e the top e stages (and the head) have
    /// changed and every stage below is as the head phase left it.
    @Test func stagesThawFromTheTopOneAnEpoch() throws {
        let model = ResNet.resnet18()
        model.resetClassifier(numClasses: 2)
        fillRecipeWeights(model, seed: 41)
        Torch.manualSeed(42)
        let data = TensorBatches(images: Tensor.randn([8, 3, 32, 32]), labels: [0, 1, 0, 1, 0, 1, 0, 1], batchSize: 4)
        var recipe = Recipe(model: "resnet18")
        recipe.epochs = 1
        recipe.fineTuneEpochs = 3
        recipe.unfreezeEvery = 1
        recipe.learningRate = 0.05
        recipe.trunkLearningRateFactor = 1
        recipe.fineTuneBatchNorm = .frozen
        recipe.channelsLast = false
        let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b"], train: data, validation: nil,
                              runDirectory: nil,
                              card: ModelCard(architecture: "resnet18", classes: ["a", "b"], preprocessing: .imageNet))
        let stages = model.stageKeys
        func snapshot() -> [String: Tensor] {
            Dictionary(model.namedParameters().map { ($0.key, $0.parameter.value.detach().clone()) }, uniquingKeysWith: { a, _ in a })
        }
        var states: [[String: Tensor]] = []
        trainer.onEvent = { event in if case .epochFinished = event { states.append(snapshot()) } }
        _ = try trainer.fit()
        #expect(states.count == 4 && stages.count >= 4)
        func changed(_ stage: String, from a: [String: Tensor], to b: [String: Tensor]) -> Bool {
            a.keys.filter { $0.hasPrefix(stage + ".") }.contains { (a[$0]! - b[$0]!).abs().max().double > 0 }
        }
        for e in 1...3 {
            let (before, after) = (states[0], states[e])
            for (i, stage) in stages.enumerated() {
                let thawed = i >= stages.count - e
                #expect(changed(stage, from: before, to: after) == thawed,
                        "fine-tune epoch \(e): \(stage) \(thawed ? "should" : "should not") have changed")
            }
        }
    }

    @Test func nonFiniteLossStopsWithAClearMessage() throws {
        let model = ResNet.resnet18()
        model.resetClassifier(numClasses: 2)
        let data = TensorBatches(images: Tensor.full([4, 3, 32, 32], .nan), labels: [0, 1, 0, 1], batchSize: 2)
        var recipe = Recipe(model: "resnet18")
        recipe.epochs = 1
        let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b"], train: data, validation: nil,
                              runDirectory: nil,
                              card: ModelCard(architecture: "resnet18", classes: ["a", "b"], preprocessing: .imageNet))
        #expect {
            _ = try trainer.fit()
        } throws: { error in
            // The library speaks of the learning rate; the CLI names the flag (CLITests).
            "\(error)".contains("nan") && "\(error)".contains("learning rate") && !"\(error)".contains("--")
        }
    }
}
