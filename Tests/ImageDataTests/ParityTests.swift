import Checkpoints
import Foundation
import NN
import Testing
import Torch
@testable import ImageData

/// The outputs of torchvision.transforms.v2 made by Fixtures/make_fixtures.py, keyed
/// "<case>/<image>/<seed>", and its input images, keyed "image/<name>".
enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static let tensors: [String: Tensor] = {
        let url = folder.appendingPathComponent("transforms.safetensors")
        do {
            return Dictionary(uniqueKeysWithValues: try SafeTensors.read(url).tensors().map { ($0.key, $0.tensor) })
        } catch {
            Issue.record("cannot read \(url.path): \(error)")
            return [:]
        }
    }()

    static func image(_ name: String) -> Tensor { tensors["image/" + name]! }
}

/// A transform, its fixture case name, and the largest difference allowed per element.
struct ParityCase: Sendable, CustomTestStringConvertible {
    let name: String
    let transform: any ImageTransform
    let tolerance: Double
    init(_ name: String, _ transform: any ImageTransform, tolerance: Double = 0) {
        self.name = name
        self.transform = transform
        self.tolerance = tolerance
    }
    var testDescription: String { name }
}

let imageNet = (mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

/// The Swift side of every case in make_fixtures.py. Tolerances are absolute, per element:
/// 0 (bit for bit) for everything; float outputs are float32 from the same libtorch ops.
let parityCases: [ParityCase] = [
    ParityCase("resize_bilinear", Resize(size: 24)),
    ParityCase("resize_bilinear_noaa", Resize(size: 24, antialias: false)),
    ParityCase("resize_bilinear_up", Resize(size: 45)),
    ParityCase("resize_bicubic", Resize(size: 24, interpolation: .bicubic)),
    ParityCase("resize_bicubic_noaa", Resize(size: 24, interpolation: .bicubic, antialias: false)),
    ParityCase("resize_bicubic_up", Resize(size: 45, interpolation: .bicubic)),
    ParityCase("resize_nearest", Resize(size: 24, interpolation: .nearest)),
    ParityCase("resize_nearest_up", Resize(size: 45, interpolation: .nearest)),
    ParityCase("resize_max_size", Resize(size: 30, maxSize: 40)),
    ParityCase("center_crop", CenterCrop(24)),
    ParityCase("center_crop_rect", CenterCrop(height: 20, width: 31)),
    ParityCase("center_crop_pad", CenterCrop(height: 45, width: 33)),
    ParityCase("random_resized_crop", RandomResizedCrop(32)),
    ParityCase("random_resized_crop_bicubic", RandomResizedCrop(32, interpolation: .bicubic)),
    ParityCase("random_resized_crop_fallback", RandomResizedCrop(24, scale: 0.9...1, ratio: 3...4)),
    ParityCase("horizontal_flip", RandomHorizontalFlip()),
    ParityCase("vertical_flip", RandomVerticalFlip(p: 0.3)),
    ParityCase("rotation", RandomRotation(30)),
    ParityCase("rotation_bilinear", RandomRotation(30, interpolation: .bilinear)),
    ParityCase("rotation_bilinear_nofill", RandomRotation(30, interpolation: .bilinear, fill: nil)),
    ParityCase("rotation_90", RandomRotation(degrees: 90...90)),
    ParityCase("rotation_180", RandomRotation(degrees: -180...(-180))),
    ParityCase("color_jitter", ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)),
    ParityCase("color_jitter_hue", ColorJitter(hue: 0.5)),
    ParityCase("to_float", ToFloat()),
    ParityCase("normalize", Compose([ToFloat(), Normalize(mean: imageNet.mean, std: imageNet.std)])),
    ParityCase("eval", Preprocessing(cropSize: 28, resizeSize: 32).transform),
    ParityCase("eval_bicubic", Preprocessing(cropSize: 28, resizeSize: 32, interpolation: .bicubic).transform),
    ParityCase("trivial_augment", TrivialAugmentWide()),
    ParityCase("trivial_augment_large", TrivialAugmentWide()),
    ParityCase("trivial_augment_bilinear", TrivialAugmentWide(interpolation: .bilinear, fill: 0)),
    ParityCase("rand_augment", RandAugment()),
    ParityCase("rand_augment_large", RandAugment()),
    ParityCase("random_erasing", Compose([ToFloat(), RandomErasing()])),
    ParityCase("random_erasing_random", Compose([ToFloat(), RandomErasing(p: 1, value: nil)])),
    ParityCase("random_erasing_channels", Compose([ToFloat(), RandomErasing(p: 1, scale: 0.1...0.5, value: [0.5, -1, 2])])),
    ParityCase("random_erasing_uint8", RandomErasing(p: 1)),
]

/// Runs `transform` on every fixture of case `name`; returns the largest difference found.
func largestDifference(_ name: String, _ transform: any ImageTransform) -> Double {
    let keys = Fixtures.tensors.keys.filter { $0.hasPrefix(name + "/") }.sorted()
    #expect(!keys.isEmpty, "no fixtures for \(name)")
    var worst = 0.0
    for key in keys {
        let parts = key.split(separator: "/")
        guard parts.count == 3, let seed = UInt64(parts[2]) else {
            Issue.record("bad fixture key \(key)")
            continue
        }
        let expected = Fixtures.tensors[key]!
        let actual = transform(Fixtures.image(String(parts[1])), generator: Generator(seed: seed))
        guard actual.shape == expected.shape, actual.dtype == expected.dtype else {
            Issue.record("\(key): \(actual) but torchvision gives \(expected)")
            worst = .infinity
            continue
        }
        worst = max(worst, (actual.to(.float64) - expected.to(.float64)).abs().max().double)
    }
    return worst
}

@Suite struct TorchvisionParityTests {
    @Test(arguments: parityCases)
    func matchesTorchvision(_ parity: ParityCase) {
        let worst = largestDifference(parity.name, parity.transform)
        print("parity \(parity.name): largest |Swift - torchvision| = \(worst)")
        #expect(worst <= parity.tolerance, "\(parity.name): largest difference \(worst)")
    }

    /// torchvision's `ImageClassification` preset uses v1 functions (float resize then round,
    /// division by 255), so it is allowed one grey level over the std before normalization.
    @Test func evalPreprocessingIsCloseToThePreset() {
        let worst = largestDifference("eval_preset", Preprocessing(cropSize: 28, resizeSize: 32).transform)
        print("parity eval_preset: largest |Swift - torchvision| = \(worst)")
        #expect(worst <= 1.0 / 255 / 0.224 + 1e-5)
    }

    @Test func everyFixtureCaseIsChecked() {
        let names = Set(Fixtures.tensors.keys.map { String($0.prefix { $0 != "/" }) })
        let checked = Set(parityCases.map(\.name) + ["image", "eval_preset"])
        #expect(names == checked)
    }
}
