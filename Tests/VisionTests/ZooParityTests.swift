import Checkpoints
import Foundation
import ImageData
import NN
import Pretrained
import Testing
import GraftTestSupport
import Torch
@testable import Vision

/// Every zoo model against torchvision on the same weights and input
/// (fixtures from Fixtures/make_fixtures.py, run with the Python torch of the same wheel).
struct ZooFixture: Decodable {
    let seed: UInt64
    let gain: Double
    let input: Int
    let keys: [[KeyField]]
    let bn: [String]

    enum KeyField: Decodable {
        case text(String), shape([Int])
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .text(s) } else { self = .shape(try c.decode([Int].self)) }
        }
    }

    /// (key, shape, dtype) triples.
    var keyList: [(String, [Int], String)] {
        keys.compactMap { f in
            guard f.count == 3, case .text(let k) = f[0], case .shape(let s) = f[1], case .text(let d) = f[2] else {
                return nil
            }
            return (k, s, d)
        }
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    /// scikit-image's photos, installed by scripts/setup.sh.
    static let photos = URL(fileURLWithPath: ProcessInfo.processInfo.environment["GRAFT_CACHE"]
        ?? NSHomeDirectory() + "/.cache/graft").appendingPathComponent("data/photos")
    static let all: [String: ZooFixture] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("models.json")),
              let index = try? JSONDecoder().decode([String: ZooFixture].self, from: data) else { return [:] }
        return index
    }()
    /// Each model's multiply-adds on its parity input, by torch's FlopCounterMode
    /// (`make_fixtures.py --multiply-adds`).
    static let multiplyAdds: [String: Int] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("multiply_adds.json")) else { return [:] }
        return (try? JSONDecoder().decode([String: Int].self, from: data)) ?? [:]
    }()
}

func expectClose(_ actual: Tensor?, _ expected: Tensor?, _ what: String, atol: Double = 1e-4, rtol: Double = 1e-4)
    -> Double
{
    guard let actual, let expected else {
        Issue.record("\(what): missing tensor")
        return .infinity
    }
    #expect(actual.shape == expected.shape, "\(what): shape \(actual.shape) vs \(expected.shape)")
    guard actual.shape == expected.shape else { return .infinity }
    let diff = (actual.to(.float64) - expected.to(.float64)).abs()
    let allowed = expected.to(.float64).abs() * rtol + atol
    let worst = diff.max().double
    #expect((diff .<= allowed).all().item(Bool.self), "\(what): largest difference \(worst)")
    return worst
}

@Suite(.serialized)
struct ZooParityTests {
    static let torchvisionModels = Zoo.names.filter { !$0.hasPrefix("efficientnet_lite") }

    @Test func fixturesCoverEveryTorchvisionModel() {
        #expect(Set(ZooFixture.all.keys) == Set(Self.torchvisionModels))
        #expect(Set(ZooFixture.multiplyAdds.keys) == Set(Self.torchvisionModels))
    }

    @Test(arguments: torchvisionModels)
    func matchesTorchvision(_ name: String) throws {
        let fixture = try #require(ZooFixture.all[name])
        let expected = Dictionary(
            uniqueKeysWithValues: try SafeTensors.read(ZooFixture.directory.appendingPathComponent("\(name).safetensors"))
                .tensors().map { ($0.key, $0.tensor) })
        let model = try Zoo.make(name)

        // The state-dict key list, shapes and dtypes equal torchvision's.
        let ours = model.stateDict().map { ($0.key, $0.tensor.shape, $0.tensor.dtype.description) }
        let theirs = fixture.keyList
        #expect(ours.count == theirs.count, "\(name): \(ours.count) keys, torchvision has \(theirs.count)")
        for (a, b) in zip(ours, theirs) where a.0 != b.0 || a.1 != b.1 || a.2 != b.2 {
            Issue.record("\(name): \(a.0) \(a.1) \(a.2) vs torchvision's \(b.0) \(b.1) \(b.2)")
            break
        }
        #expect(model.module(at: model.classifierKey) is Linear)
        #expect(model.module(at: model.firstConvKey) is Conv2d)

        fill(model, seed: fixture.seed, gain: fixture.gain)
        Torch.manualSeed(fixture.seed + 1)
        let x = Tensor.randn([2, 3, fixture.input, fixture.input])
        model.eval()
        let (logits, multiplyAdds) = Torch.noGrad { MultiplyAdds.count { model(x) } }
        let features = Torch.noGrad { model.pooledFeatures(x) }
        #expect(multiplyAdds == ZooFixture.multiplyAdds[name], "\(name): multiply-adds vs FlopCounterMode's")
        let worst = expectClose(logits, expected["logits"], "\(name) eval logits")
        _ = expectClose(features, expected["features"], "\(name) pooled features")
        print("parity \(name): largest eval-logit difference \(worst)")

        // One train-mode forward: same dropout / stochastic-depth draws, same BatchNorm updates.
        model.train()
        Torch.manualSeed(fixture.seed + 2)
        Torch.noGrad {
            if let inception = model as? InceptionV3 {
                let (train, aux) = inception.forwardWithAux(x)
                _ = expectClose(train, expected["train_logits"], "\(name) train logits")
                _ = expectClose(aux, expected["train_aux"], "\(name) train aux logits")
            } else {
                _ = expectClose(model(x), expected["train_logits"], "\(name) train logits")
            }
            let buffers = Dictionary(uniqueKeysWithValues: model.namedBuffers().map { ($0.key, $0.buffer.value) })
            for (i, bn) in fixture.bn.enumerated() {
                _ = expectClose(buffers[bn + ".running_mean"], expected["bn\(i)_running_mean"], "\(name) \(bn) mean")
                _ = expectClose(buffers[bn + ".running_var"], expected["bn\(i)_running_var"], "\(name) \(bn) var")
                #expect(buffers[bn + ".num_batches_tracked"]?.int == 1)
            }
        }

        // A real photo through the catalogue's preprocessing for these weights (torchvision's
        // DEFAULT eval transform, timm's pretrained_cfg), as `graft predict` runs it.
        if let probabilities = expected["photo_probs"] {
            let weights = try #require(PretrainedWeights.forModel(name))
            let image = try loadImage(ZooFixture.photos.appendingPathComponent("chelsea.png"))
            let x = weights.preprocessing.transform(image, generator: Generator(seed: 0)).unsqueeze(0)
            model.eval()
            let ours = Torch.noGrad { model(x).softmax(dim: 1) }
            let worst = expectClose(ours, probabilities, "\(name) photo probabilities", atol: 1e-5, rtol: 1e-3)
            print("parity \(name): chelsea.png probabilities within \(worst), top-1 \(ours.argmax(dim: 1).int)")
        }
    }

    @Test func resetClassifierGraftsANewHeadEverywhere() throws {
        for name in ["resnet18", "vgg11", "mobilenet_v3_small", "efficientnet_b0", "densenet121",
                     "efficientnet_lite0", "mobilenet_v2"] {
            let model = try Zoo.make(name)
            let features = model.numFeatures
            model.resetClassifier(numClasses: 7)
            #expect(model.numClasses == 7 && model.numFeatures == features, "\(name)")
            model.eval()
            let y = Torch.noGrad { model(Tensor.randn([1, 3, 64, 64])) }
            #expect(y.shape == [1, 7], "\(name)")
            #expect(model.stateDict().first { $0.key == "\(model.classifierKey).weight" }?.tensor.shape == [7, features])
        }
        let inception = InceptionV3(auxLogits: true)
        inception.resetClassifier(numClasses: 3)
        #expect(inception.AuxLogits?.fc.outFeatures == 3 && inception.numClasses == 3)
    }

    @Test func denseNetLegacyKeysAreRewrittenOnce() {
        #expect(DenseNet.upgradeLegacyKey("features.denseblock1.denselayer1.norm.1.weight")
                == "features.denseblock1.denselayer1.norm1.weight")
        #expect(DenseNet.upgradeLegacyKey("features.denseblock4.denselayer16.conv.2.weight")
                == "features.denseblock4.denselayer16.conv2.weight")
        #expect(DenseNet.upgradeLegacyKey("features.denseblock2.denselayer3.norm.2.running_var")
                == "features.denseblock2.denselayer3.norm2.running_var")
        #expect(DenseNet.upgradeLegacyKey("features.norm5.weight") == "features.norm5.weight")
    }
}
