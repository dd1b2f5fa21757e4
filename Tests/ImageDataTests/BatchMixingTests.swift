import Foundation
@testable import ImageData
import Testing
import Torch

/// MixUp and CutMix against torchvision 0.29.2 (mixing.json, make_mixing_fixtures.py):
/// the same images and soft labels from the same global seed.
@Suite(.serialized) struct BatchMixingTests {
    static let expected: [String: [String: [Double]]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mixing.json")
        return (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode([String: [String: [Double]]].self, from: $0) } ?? [:]
    }()

    @Test(arguments: ["mixup", "cutmix"])
    func matchesTorchvision(_ name: String) throws {
        let images = Tensor((0..<(4 * 3 * 8 * 10)).map { Float(Foundation.sin(0.1 * Double($0))) }, shape: [4, 3, 8, 10])
        let labels = Tensor([0, 1, 2, 1] as [Int64])
        let mix: BatchMix = name == "mixup" ? .mixUp(alpha: 0.4) : .cutMix(alpha: 1.0)
        var cases = 0
        for seed in 0..<5 {
            let fixture = try #require(Self.expected["\(name)/\(seed)"])
            Torch.manualSeed(UInt64(seed))
            let (x, y) = mix(images: images, labels: labels, classes: 3)
            let ours = (x.to(.float64).reshape([-1]).toArray(Double.self), y.to(.float64).reshape([-1]).toArray(Double.self))
            let imageGap = zip(ours.0, fixture["images"]!).map { abs($0 - $1) }.max() ?? .infinity
            let labelGap = zip(ours.1, fixture["labels"]!).map { abs($0 - $1) }.max() ?? .infinity
            #expect(imageGap < 1e-6 && labelGap < 1e-6, "\(name) seed \(seed): images \(imageGap), labels \(labelGap)")
            cases += 1
        }
        #expect(cases == 5)
    }
}
