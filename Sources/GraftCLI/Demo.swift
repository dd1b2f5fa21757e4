import ArgumentParser
import Foundation
import Graft

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Demonstrations: a real few-shot transfer-learning run (the default), and autograd.",
        subcommands: [FashionMNIST.self, Autograd.self],
        defaultSubcommand: FashionMNIST.self
    )

    struct Autograd: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fits y = 3x - 2 + noise by gradient descent, with libtorch's autograd.",
            discussion: "Example:\n  graft demo autograd --steps 200"
        )

        @Option(help: "Gradient steps.") var steps = 200
        @Option(help: "Learning rate.") var lr = 0.1
        @Option(help: "Random seed.") var seed: UInt64 = 0

        func validate() throws {
            guard steps > 0 else { throw ValidationError("--steps must be positive, got \(steps)") }
            guard lr > 0 else { throw ValidationError("--lr must be positive, got \(lr)") }
        }

        func run() throws {
            print(GraftCommand.versionLine())
            Torch.manualSeed(seed)
            let x = Tensor.rand([256, 1]) * 4 - 2
            let y = x * 3 - 2 + Tensor.randn([256, 1]) * 0.1
            let w = Tensor.zeros([1, 1]).requiresGrad(), b = Tensor.zeros([1]).requiresGrad()
            for step in 1...steps {
                let loss = Functional.mseLoss(Functional.linear(x, weight: w, bias: b), y)
                loss.backward()
                Torch.noGrad {
                    w.add_(w.grad!, alpha: -lr)
                    b.add_(b.grad!, alpha: -lr)
                }
                w.zeroGrad()
                b.zeroGrad()
                if step == 1 || step % 50 == 0 || step == steps {
                    print(String(format: "step %4d  loss %.5f  w %.4f  b %.4f", step, loss.double, w.double, b.double))
                }
            }
        }
    }
}

extension Demo {
    /// The embedded default: few-shot Fashion-MNIST with EfficientNet-Lite0's real ImageNet
    /// weights, against the same network trained from scratch on the same images.
    struct FashionMNIST: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fashion-mnist",
            abstract: "Few-shot Fashion-MNIST: EfficientNet-Lite0 from ImageNet weights vs. from scratch.",
            discussion: """
                Takes --shots training and --val-shots validation images per class from Fashion-MNIST's \
                training set (Debian's dataset-fashion-mnist), trains EfficientNet-Lite0 from its real \
                ImageNet weights (head on cached features, then everything), trains the same network \
                from random weights on the same images, and tests both on all 10,000 test images.

                Examples:
                  graft demo
                  graft demo fashion-mnist --shots 50 --out runs/demo
                """
        )

        @Option(help: "Training images per class.") var shots = 20
        @Option(help: "Validation images per class (also from the training set, disjoint).") var valShots = 10
        @Option(help: "Input size (Fashion-MNIST's 28 px are upscaled).") var imageSize = 160
        @Option(help: "Head epochs on cached features.") var headEpochs = 20
        @Option(help: "Epochs with everything unfrozen.") var fineTuneEpochs = 6
        @Option(help: "Epochs for the from-scratch baseline.") var scratchEpochs = 20
        @Option(help: "Test on the first N test images (default all 10,000).") var testLimit: Int?
        @Option(help: "Fashion-MNIST folder.") var data = "/usr/share/datasets/fashion-mnist"
        @Option(help: "Where the two runs go.") var out = "runs/demo"
        @Option(help: "Random seed.") var seed: UInt64 = 0
        @Option(help: "auto (bf16 where the CPU has native bfloat16), fp32 or bf16: training and the test.")
        var precision: PrecisionChoice = .auto
        @Flag(help: "End with one JSON object.") var json = false
        @Option(help: "BatchNorm while fine-tuning everything.")
        var fineTuneBatchNorm: BatchNormPolicy = .frozen
        @Option(help: "Trunk learning rate relative to the head's while fine-tuning.") var trunkFactor = 0.1
        @Option(help: "Augmentation while fine-tuning everything (and for the scratch run).")
        var fineTuneAugment: Recipe.Augment?

        func run() throws {
            let started = Date()
            let progress = ProgressReporter()
            let resolved = try precision.resolvedForCLI(on: .cpu)
            let dir = URL(fileURLWithPath: data)
            func idx(_ name: String) throws -> IDXDataset {
                try IDXDataset(images: dir.appendingPathComponent("\(name)-images-idx3-ubyte.gz"),
                               labels: dir.appendingPathComponent("\(name)-labels-idx1-ubyte.gz"),
                               classes: IDXDataset.fashionMNISTClasses)
            }
            let full = try idx("train")
            var test: any Dataset = try idx("t10k")
            if let testLimit { test = Subset(test, Array(0..<min(testLimit, test.count))) }
            let pool = full.nPerClass(shots + valShots, seed: seed)
            let parts = pool.split(validationFraction: Double(valShots) / Double(shots + valShots), seed: seed)
            let train = Subset(full, parts.train.indices.map { pool.indices[$0] })
            let validation = Subset(full, parts.validation.indices.map { pool.indices[$0] })
            progress.line("Fashion-MNIST few-shot: \(train.count) training and \(validation.count) validation images "
                          + "(\(shots) + \(valShots) per class), \(test.count) test images, \(imageSize) px")
            progress.line("precision \(resolved)")

            var pretrained = Recipe(model: "efficientnet_lite0")
            pretrained.weights = .pretrained
            pretrained.freeze = .backbone
            pretrained.epochs = headEpochs
            pretrained.fineTuneEpochs = fineTuneEpochs
            pretrained.optimizer = .adamw
            pretrained.learningRate = 1e-3
            pretrained.weightDecay = 0.01
            pretrained.imageSize = imageSize
            pretrained.batchSize = 32
            pretrained.seed = seed
            pretrained.fineTuneBatchNorm = fineTuneBatchNorm
            pretrained.trunkLearningRateFactor = trunkFactor
            pretrained.fineTuneAugment = fineTuneAugment
            pretrained.precision = precision.recipeValue

            var scratch = pretrained
            scratch.weights = .none
            scratch.freeze = .none
            scratch.epochs = scratchEpochs
            scratch.fineTuneEpochs = 0
            scratch.learningRate = 2e-3
            scratch.fineTuneAugment = nil
            // Lite's BatchNorm momentum (0.01) suits long runs; from scratch on 200 images its
            // running statistics would lag far behind the weights, so evaluation would see noise.
            scratch.batchNormMomentum = 0.1

            var results: [(String, Double, Double)] = []
            for (name, recipe) in [("pretrained", pretrained), ("scratch", scratch)] where name == "pretrained" || scratchEpochs > 0 {
                let runStart = Date()
                progress.line("— \(name == "pretrained" ? "EfficientNet-Lite0 from its ImageNet weights" : "the same network from random weights")")
                progress.totalEpochs = String(recipe.totalEpochs)
                var session = TrainingSession(recipe: recipe, train: train, validation: validation,
                                              runDirectory: URL(fileURLWithPath: out).appendingPathComponent(name))
                session.overwrite = true  // the demo is one fixed job: running it again replaces its runs
                let result = try session.runWithReport(onEvent: { progress.handle($0) }).result
                guard let modelPath = result.modelPath else { continue }
                let (model, card) = try ModelFile.load(modelPath)
                let (metrics, _) = try evaluate(model, on: test, classes: card.classes,
                                                preprocessing: card.preprocessing,
                                                precision: resolved.precision) { done, total in
                    progress.bar(done, total, "test images")
                }
                let seconds = Date().timeIntervalSince(runStart)
                progress.line(String(format: "%@: test accuracy %.4f (%.0f s)", name, metrics.accuracy, seconds))
                results.append((name, metrics.accuracy, seconds))
            }
            let total = Date().timeIntervalSince(started)
            if json {
                var object: [String: Any] = ["seconds": (total * 10).rounded() / 10, "shots": shots,
                                             "precision": resolved.precision.rawValue,
                                             "test_images": test.count, "image_size": imageSize]
                for (name, accuracy, _) in results { object["\(name)_test_accuracy"] = accuracy }
                print(try jsonLine(object))
            } else {
                print("")
                print("Few-shot Fashion-MNIST (\(shots) images per class), tested on \(test.count) images:")
                for (name, accuracy, seconds) in results {
                    let label = name == "pretrained" ? "EfficientNet-Lite0, ImageNet weights, fine-tuned"
                                                     : "EfficientNet-Lite0, from scratch"
                    print(String(format: "  %-50@ accuracy %.4f  (%.0f s)", label as NSString, accuracy, seconds))
                }
                print(String(format: "total %.0f s; runs, reports and models in %@/", total, out))
            }
        }
    }
}

