import Checkpoints
import Foundation
import NN
import Testing
import Torch
@testable import Vision

/// timm's `adapt_input_conv` on real pretrained stems (Fixtures/make_adapt_input_conv.py):
/// EfficientNet-Lite0 and Lite2 from their ImageNet files for 1, 2, 4 and 13 channels, bit
/// for bit; and what the adaptation is for: a gray (or repeated) input through the adapted
/// convolution gives the RGB network's response to that image in every channel.
@Suite("Input channels", .serialized)
struct InputChannelsTests {
    static let weights = URL(fileURLWithPath: ProcessInfo.processInfo.environment["GRAFT_CACHE"]
        ?? NSHomeDirectory() + "/.cache/graft").appendingPathComponent("weights")
    static let fixture: [String: Tensor] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/adapt_input_conv.safetensors")
        do {
            return Dictionary(uniqueKeysWithValues: try SafeTensors.read(url).tensors().map { ($0.key, $0.tensor) })
        } catch {
            Issue.record("cannot read \(url.path): \(error)")
            return [:]
        }
    }()

    func pretrained(_ name: String) throws -> EfficientNetLite {
        let (model, file) = name == "lite0" ? (EfficientNetLite.lite0(), "efficientnet-lite0-57934424.pth")
                                            : (EfficientNetLite.lite2(), "efficientnet-lite2-9656183e.pth")
        let url = Self.weights.appendingPathComponent(file)
        try #require(FileManager.default.fileExists(atPath: url.path), "\(file) missing: run scripts/setup.sh")
        try model.loadWeights(from: url)
        return model
    }

    func stem(_ model: ImageClassifier) -> Tensor? {
        model.namedParameters().first { $0.key == model.firstConvKey + ".weight" }?.parameter.value
    }

    @Test(arguments: ["lite0", "lite2"])
    func equalsTimmOnRealWeights(_ name: String) throws {
        for channels in [1, 2, 4, 13] {
            let model = try pretrained(name)
            try model.adaptInputChannels(to: channels)
            let expected = try #require(Self.fixture["\(name)_\(channels)"])
            let adapted = try #require(stem(model))
            #expect(adapted.shape == expected.shape, "\(name) \(channels): shape")
            #expect(adapted.allClose(expected, rtol: 0, atol: 0), "\(name) \(channels): differs from timm's")
            #expect(model.inputChannels == channels)
            #expect(model.pooledFeatures(Tensor.randn([1, channels, 64, 64])).shape == [1, 1280])
        }
    }

    /// Every family's first convolution (``ImageClassifier/firstConvKey``) takes another channel
    /// count after adaptation, and the network runs on such an input.
    @Test(arguments: MinimumInputSizeTests.families)
    func everyFamilyAdapts(_ name: String) throws {
        let entry = try #require(Zoo.entry(name))
        let model = try Torch.withManualSeed(0) { try Zoo.make(name, numClasses: 3) }
        if let inception = model as? InceptionV3 { inception.transformInput = false }  // it rescales RGB
        let before = try #require(stem(model)).detach().clone()
        try model.adaptInputChannels(to: 4)
        #expect(model.inputChannels == 4)
        let expected = try InputChannels.adaptConvWeight(before, to: 4)
        #expect(try #require(stem(model)).allClose(expected, rtol: 0, atol: 0))
        let logits = try withTorchErrors {
            Torch.noGrad { model.eval()(Tensor.randn([1, 4, entry.minimumInputSize, entry.minimumInputSize])) }
        }
        #expect(logits.shape == [1, 3])
    }

    @Test func spaceToDepthStemSumsEachGroup() throws {
        Torch.manualSeed(7)
        let weight = Tensor.randn([8, 12, 2, 2])
        let adapted = try InputChannels.adaptConvWeight(weight, to: 1)
        let expected = try #require(Self.fixture["s2d_1"])
        #expect(adapted.shape == [8, 4, 2, 2] && adapted.allClose(expected, rtol: 0, atol: 0))
    }

    @Test func repeatedInputKeepsThePretrainedResponse() throws {
        let rgb = try pretrained("lite0")
        let reference = try #require(stem(rgb)).detach().clone()
        let gray = Tensor.randn([2, 1, 32, 32])
        let rgbResponse = Functional.conv2d(gray.repeated([1, 3, 1, 1]), weight: reference)
        for channels in [1, 6] {
            let adapted = try InputChannels.adaptConvWeight(reference, to: channels)
            let response = Functional.conv2d(gray.repeated([1, channels, 1, 1]), weight: adapted)
            #expect(response.allClose(rgbResponse, rtol: 1e-5, atol: 1e-5), "\(channels) channels")
        }
        #expect(try InputChannels.adaptConvWeight(reference, to: 3).allClose(reference, rtol: 0, atol: 0))
    }

    @Test func refusals() throws {
        #expect(throws: InputChannels.AdaptError.self) { try InputChannels.adaptConvWeight(Tensor.ones([4, 3, 3, 3]), to: 0) }
        #expect(throws: InputChannels.AdaptError.self) { try InputChannels.adaptConvWeight(Tensor.ones([4, 3]), to: 2) }
        #expect(throws: InputChannels.AdaptError.self) { try InputChannels.adaptConvWeight(Tensor.ones([4, 5, 3, 3]), to: 2) }
        let inception = InceptionV3(numClasses: 10, auxLogits: false, transformInput: true)
        #expect(throws: InputChannels.AdaptError.self) { try inception.adaptInputChannels(to: 1) }
    }
}
