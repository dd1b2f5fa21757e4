import Foundation
import GraftTestSupport
import ImageData
import NN
import Optimizers
import Pretrained
import Testing
import Torch
import Vision
@testable import Transfer

/// Defects found by a new user and by kill, NaN and bad-data runs; each test failed before its fix.
@Suite(.serialized) struct RobustnessTests {
    static func folder(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("graft-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// 12 training and 6 validation images of 3 classes, 40×40 uint8; `unreadable` train samples throw.
    static func data(unreadable: Set<Int> = [], validationImages: [Tensor]? = nil) -> (MemoryDataset, MemoryDataset) {
        let images = Torch.withManualSeed(11) { (0..<18).map { _ in Tensor.randint(0, 256, [3, 40, 40]).to(.uint8) } }
        let train = MemoryDataset(images: Array(images[..<12]), labels: (0..<12).map { $0 % 3 },
                                  classes: ["a", "b", "c"], unreadable: unreadable)
        let val = MemoryDataset(images: validationImages ?? Array(images[12...]), labels: (0..<6).map { $0 % 3 },
                                classes: ["a", "b", "c"])
        return (train, val)
    }

    static func recipe(epochs: Int = 2, cache: Recipe.CacheMode = .auto) -> Recipe {
        var r = Recipe(model: "resnet18")
        r.weights = .none
        r.imageSize = 32
        r.epochs = epochs
        r.batchSize = 4
        r.cacheFeatures = cache
        // fp32: the cached and uncached paths agree to 1e-5 there. Under bf16 autocast the uncached
        // path runs the head in bf16 too (as torch.autocast would), the cached one on fp32 features.
        r.precision = .fp32
        return r
    }

    static func session(_ recipe: Recipe, _ run: URL, unreadable: Set<Int> = []) -> TrainingSession {
        let (train, val) = data(unreadable: unreadable)
        var session = TrainingSession(recipe: recipe, train: train, validation: val, runDirectory: run)
        session.workers = 1
        session.badFiles = .skip
        return session
    }

    @Test func featureCacheSkipsExactlyWhatTheUncachedPathSkips() throws {
        let base = try Self.folder("skip")
        defer { try? FileManager.default.removeItem(at: base) }
        let cached = try Self.session(Self.recipe(cache: .auto), base.appendingPathComponent("cached"), unreadable: [1, 5])
            .run()
        let uncached = try Self.session(Self.recipe(cache: .off), base.appendingPathComponent("uncached"),
                                        unreadable: [1, 5]).run()
        #expect(cached.result.history.allSatisfy { $0.cached })
        // Both trained on the 10 readable images: the same losses and accuracies.
        for (a, b) in zip(cached.result.history, uncached.result.history) {
            #expect(abs(a.trainLoss - b.trainLoss) < 1e-5, "\(a.trainLoss) vs \(b.trainLoss)")
            #expect(a.trainAccuracy == b.trainAccuracy)
            #expect(abs((a.valLoss ?? 0) - (b.valLoss ?? 1)) < 1e-5)
        }
        #expect(Set(cached.skipped.map(\.source)) == ["memory/b/1.png", "memory/c/5.png"])
        #expect(Set(uncached.skipped.map(\.source)) == ["memory/b/1.png", "memory/c/5.png"])
    }

    @Test func modelCardEpochsAreOneBased() throws {
        let run = try Self.folder("card")
        defer { try? FileManager.default.removeItem(at: run) }
        let outcome = try Self.session(Self.recipe(epochs: 3), run).run()
        let card = try ModelFile.card(at: run.appendingPathComponent("model.safetensors"))
        let best = try #require(outcome.result.bestEpoch)
        #expect(card.metrics["best_epoch"] == Double(best + 1))
        #expect(card.metrics["epoch"] == Double(best + 1))
        #expect(card.metrics["epochs"] == 3)
        // Three classes: top-5 is always 1 and is not reported.
        let top5 = outcome.result.history.map(\.valTop5)
        #expect(top5.allSatisfy { $0 == nil })
    }

    @Test func resumeNeedsACheckpointAndAFreshRunNeedsAnEmptyFolder() throws {
        let run = try Self.folder("folder")
        defer { try? FileManager.default.removeItem(at: run) }
        #expect(throws: RunFolderError.nothingToResume(run.path)) { try Self.session(Self.recipe(), run).run(resume: true) }
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("recipe.json").path))
        _ = try Self.session(Self.recipe(), run).run()
        let recipeJSON = try Data(contentsOf: run.appendingPathComponent("recipe.json"))
        var other = Self.recipe()
        other.learningRate = 0.01
        #expect(throws: RunFolderError.holdsARun(run.path)) { try Self.session(other, run).run() }
        // A refused resume names the changed field and leaves recipe.json alone.
        #expect {
            try Self.session(other, run).run(resume: true)
        } throws: { error in
            "\(error)".contains("learningRate: 0.001 → 0.01")
        }
        #expect(try Data(contentsOf: run.appendingPathComponent("recipe.json")) == recipeJSON)
        var replace = Self.session(other, run)
        replace.overwrite = true
        #expect(try replace.run().result.history.count == 2)
    }

    @Test func aFinishedRunCanBeExtendedAndCountsItsWholeTime() throws {
        let base = try Self.folder("extend")
        defer { try? FileManager.default.removeItem(at: base) }
        let straight = try Self.session(Self.recipe(epochs: 3, cache: .off), base.appendingPathComponent("a")).run()
        let split = base.appendingPathComponent("b")
        let first = try Self.session(Self.recipe(epochs: 2, cache: .off), split).run()
        let extended = try Self.session(Self.recipe(epochs: 3, cache: .off), split).run(resume: true)
        #expect(extended.result.history.map(\.trainLoss) == straight.result.history.map(\.trainLoss))
        #expect(extended.result.seconds >= first.result.history.map(\.seconds).reduce(0, +))
        var cosine = Self.recipe(epochs: 4, cache: .off)
        cosine.schedule = .cosine
        #expect(!cosine.canContinue(from: Self.recipe(epochs: 3, cache: .off)))
    }

    @Test func staleTemporaryFilesOfKilledRunsAreRemoved() throws {
        let run = try Self.folder("tmp")
        defer { try? FileManager.default.removeItem(at: run) }
        let stale = run.appendingPathComponent(".model.safetensors.2147483646.12345.tmp")
        try Data(count: 16).write(to: stale)
        let live = run.appendingPathComponent(".model.safetensors.\(getpid()).1.tmp")
        try Data(count: 16).write(to: live)
        TrainingSession.removeStaleTemporaries(in: run)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(FileManager.default.fileExists(atPath: live.path))
    }

    @Test func oneClassIsRefusedBeforeTraining() throws {
        let run = try Self.folder("oneclass")
        defer { try? FileManager.default.removeItem(at: run) }
        let images = (0..<4).map { _ in Tensor.zeros([3, 40, 40]).to(.uint8) }
        let session = TrainingSession(recipe: Self.recipe(), train: MemoryDataset(images: images, labels: [0, 0, 0, 0],
                                                                                  classes: ["only"]),
                                      validation: nil, runDirectory: run)
        #expect {
            try session.run()
        } throws: { error in "\(error)".contains("at least two classes") && "\(error)".contains("only") }
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("recipe.json").path))
    }

    @Test func anEmptyValidationSetIsAnErrorBeforeTraining() throws {
        let run = try Self.folder("emptyval")
        defer { try? FileManager.default.removeItem(at: run) }
        let (train, _) = Self.data()
        let session = TrainingSession(recipe: Self.recipe(), train: train,
                                      validation: MemoryDataset(images: [], labels: [], classes: ["a", "b", "c"]),
                                      runDirectory: run)
        #expect(throws: TrainingError.self) { try session.run() }
    }

    @Test func aNaNValidationLossStopsWithAClearErrorAndSavesNothingNonFinite() throws {
        let run = try Self.folder("nanval")
        defer { try? FileManager.default.removeItem(at: run) }
        let (train, _) = Self.data()
        let model = ResNet.resnet18()
        model.resetClassifier(numClasses: 3)
        let images = TensorBatches(images: Tensor.randn([12, 3, 32, 32]), labels: train.labels, batchSize: 4)
        let nan = TensorBatches(images: Tensor.full([6, 3, 32, 32], .nan), labels: (0..<6).map { $0 % 3 }, batchSize: 4)
        var recipe = Self.recipe()
        recipe.freeze = .none
        let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b", "c"], train: images, validation: nan,
                              runDirectory: run, card: ModelCard(architecture: "resnet18", classes: ["a", "b", "c"],
                                                                 preprocessing: .imageNet))
        #expect {
            _ = try trainer.fit()
        } throws: { error in
            "\(error)".contains("validation loss is nan") && "\(error)".contains("before any model was saved")
        }
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("model.safetensors").path))
    }

    @Test func divergingWeightsAreNeverSavedAsTheBestModel() throws {
        let run = try Self.folder("diverge")
        defer { try? FileManager.default.removeItem(at: run) }
        var recipe = Self.recipe(epochs: 4, cache: .off)
        recipe.freeze = .none
        recipe.learningRate = 10  // the largest --lr the CLI allows; BatchNorm statistics blow up
        recipe.momentum = 0.99
        #expect {
            _ = try Self.session(recipe, run).run()
        } throws: { error in
            print("diverged: \(error)")
            return "\(error)".contains("stopped")
        }
        let url = run.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: url.path) {
            let (model, _) = try ModelFile.load(url)
            for (key, t) in model.stateDict() where t.dtype.isFloatingPoint {
                #expect(t.isFinite().all().double == 1, "\(key) is not finite in the saved model")
            }
        }
    }

    @Test func aWeightsFileGivesTheSameNewHeadAsTheCatalogueEntry() throws {
        let weights = try #require(PretrainedWeights.forModel("efficientnet_lite0"))
        guard let file = WeightsStore().locate(weights) else {
            Issue.record("EfficientNet-Lite0 weights missing: run scripts/setup.sh")
            return
        }
        func head(_ source: WeightsSource) throws -> Tensor {
            try Torch.withManualSeed(5) {
                let loaded = try LoadedModel.load(architecture: "efficientnet_lite0", weights: source)
                loaded.model.graftHead(numClasses: 4)
                return try #require(loaded.model.classifierLayer as? Linear).weight
            }
        }
        #expect(try head(.pretrained).eq(head(.file(file.path))).all().double == 1)
    }

    /// A model whose forward fails inside libtorch (here a head of the wrong width; for a
    /// user, memory running out at a large image or batch size) stops with one error
    /// naming the stage, epoch and batch. Before, the failing op trapped the process.
    @Test func aFailingForwardIsAnErrorNotACrash() throws {
        let run = try Self.folder("forward")
        defer { try? FileManager.default.removeItem(at: run) }
        let (train, val) = Self.data()
        let model = ResNet.resnet18()
        model.replaceClassifier(with: Linear(7, 3))
        let images = TensorBatches(images: Tensor.randn([12, 3, 32, 32]), labels: train.labels, batchSize: 4)
        var recipe = Self.recipe(cache: .off)
        recipe.freeze = .none
        let trainer = Trainer(recipe: recipe, model: model, classes: ["a", "b", "c"], train: images, validation: nil,
                              runDirectory: run, card: ModelCard(architecture: "resnet18", classes: ["a", "b", "c"],
                                                                 preprocessing: .imageNet))
        #expect {
            _ = try trainer.fit()
        } throws: { error in
            guard let e = error as? ComputationError else { return false }
            return e.stage == "the forward pass" && e.epoch == 0 && e.batch == 0 && e.underlying.operation == "linear"
                && "\(e)".hasPrefix("the forward pass failed at epoch 1, batch 1: linear:")
                && "\(e)".hasSuffix("training stopped before any model was saved")
        }
        #expect(throws: ComputationError.self) {
            _ = try evaluate(model, on: val, classes: ["a", "b", "c"], preprocessing: .imageNet.resized(to: 32),
                             batchSize: 4, workers: 1)
        }
    }

    /// A frozen-trunk run's checkpoint holds the head and the buffers, not the trunk, and
    /// names the trunk by a digest; resuming with other trunk weights is refused.
    @Test func frozenTrunkCheckpointsHoldOnlyWhatChanges() throws {
        let base = try Self.folder("slim")
        defer { try? FileManager.default.removeItem(at: base) }
        let weights = base.appendingPathComponent("trunk.safetensors")
        let source = Torch.withManualSeed(21) { ResNet.resnet18() }
        try source.saveWeights(to: weights)
        var recipe = Self.recipe(epochs: 2, cache: .off)
        recipe.weights = .file(weights.path)
        let run = base.appendingPathComponent("run")
        _ = try Self.session(recipe, run).run()
        let url = run.appendingPathComponent("checkpoint.safetensors")
        let checkpoint = try TrainingCheckpoint.read(url)
        let frozen = try #require(checkpoint.frozen)
        let keys = Set(checkpoint.model.map(\.key))
        #expect(keys.contains("fc.weight") && keys.contains("fc.bias") && keys.contains("bn1.running_var"))
        #expect(!keys.contains("conv1.weight") && frozen.keys.contains("conv1.weight"))
        #expect(frozen.keys.count == 60 && frozen.sourceWeights == "trunk.safetensors")
        let checkpointBytes = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        let modelBytes = try #require(try FileManager.default.attributesOfItem(
            atPath: run.appendingPathComponent("model.safetensors").path)[.size] as? Int)
        #expect(checkpointBytes * 20 < modelBytes, "checkpoint \(checkpointBytes) B vs model \(modelBytes) B")
        // The same weights continue the run exactly (as a whole checkpoint would) ...
        recipe.epochs = 3
        let extended = try Self.session(recipe, run).run(resume: true)
        let straightRun = base.appendingPathComponent("straight")
        let straight = try Self.session(recipe, straightRun).run()
        #expect(extended.result.history.map(\.trainLoss) == straight.result.history.map(\.trainLoss))
        // ... other trunk weights under the same name are refused, naming the file.
        try Torch.withManualSeed(22) { ResNet.resnet18() }.saveWeights(to: weights)
        recipe.epochs = 4
        #expect {
            _ = try Self.session(recipe, run).run(resume: true)
        } throws: { error in
            error is CheckpointTrunkError && "\(error)".contains("trained on trunk.safetensors")
                && "\(error)".contains("resume with the same weights file")
        }
    }
}
