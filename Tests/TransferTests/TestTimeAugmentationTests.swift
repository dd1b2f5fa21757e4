import Foundation
import GraftTestSupport
import ImageData
import Pretrained
import Testing
import Torch
import Vision
@testable import Transfer

/// `--tta` against torchvision on a real photo (tta.json, make_tta_fixtures.py): ResNet-18
/// on the zoo fixtures' seeded weights, chelsea.png through its catalogue preprocessing.
@Suite struct TestTimeAugmentationTests {
    static let photos = URL(fileURLWithPath: ProcessInfo.processInfo.environment["GRAFT_CACHE"]
        ?? NSHomeDirectory() + "/.cache/graft").appendingPathComponent("data/photos")
    static let expected: [String: [Double]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tta.json")
        return (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode([String: [Double]].self, from: $0) } ?? [:]
    }()

    static func probabilities(_ model: ImageClassifier, _ tta: TestTimeAugmentation, _ preprocessing: Preprocessing,
                              _ image: Tensor) -> [Double] {
        let transform = tta.transform(preprocessing)
        let y = transform.callAsFunction(image, generator: Generator(seed: 0)).unsqueeze(0)
        let x = tta.rawValue == "five-crop" ? y : y.contiguous(.channelsLast)
        let p = Torch.noGrad { tta.probabilities(model, x).probabilities }
        return p.to(.float64).reshape([-1]).toArray(Double.self)
    }

    @Test func flipAndFiveCropAverageAsTorchvision() throws {
        let model = ResNet.resnet18()
        fill(model, seed: 1000, gain: 1)
        model.eval()
        let preprocessing = try #require(PretrainedWeights.forModel("resnet18")).preprocessing
        let image = try loadImage(Self.photos.appendingPathComponent("chelsea.png"))
        var ours: [String: [Double]] = [:]
        for tta in TestTimeAugmentation.allCases {
            ours[tta.rawValue] = Self.probabilities(model, tta, preprocessing, image)
            let theirs = Self.expected[tta.rawValue] ?? []
            let worst = zip(ours[tta.rawValue]!, theirs).map { abs($0 - $1) }.max() ?? .infinity
            #expect(theirs.count == 1000 && worst < 2e-8, "\(tta): largest difference \(worst) from torchvision")
        }
        // The views matter: each mode's answer is its own, far beyond that tolerance.
        for (a, b) in [("none", "flip"), ("none", "five-crop"), ("flip", "five-crop")] {
            let gap = zip(ours[a]!, ours[b]!).map { abs($0 - $1) }.max() ?? 0
            #expect(gap > 2e-7, "\(a) and \(b) differ by only \(gap)")
        }
    }

    /// FiveCrop's order and boxes are torchvision's: corners, then the center.
    @Test func fiveCropTakesTheCornersThenTheCenter() {
        let image = Tensor((0..<(1 * 5 * 6)).map { Float($0) }, shape: [1, 5, 6])
        let crops = FiveCrop(height: 3, width: 4)(image, generator: Generator(seed: 0))
        #expect(crops.shape == [5, 1, 3, 4])
        let firsts = (0..<5).map { crops[$0, 0, 0, 0].double }
        // Rows of 6: top-left 0, top-right 2, bottom-left 12, bottom-right 14, center (top 1, left 1) 7.
        #expect(firsts == [0, 2, 12, 14, 7])
    }
}
