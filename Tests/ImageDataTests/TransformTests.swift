import Foundation
import ImageCodecs
import Testing
import Torch
@testable import ImageData

func equal(_ a: Tensor, _ b: Tensor) -> Bool {
    a.shape == b.shape && a.dtype == b.dtype && a.eq(b).all().item(Bool.self)
}

let randomTransforms: [ParityCase] = [
    ParityCase("random_resized_crop", RandomResizedCrop(24)),
    ParityCase("horizontal_flip", RandomHorizontalFlip()),
    ParityCase("vertical_flip", RandomVerticalFlip()),
    ParityCase("rotation", RandomRotation(30)),
    ParityCase("color_jitter", ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)),
    ParityCase("trivial_augment", TrivialAugmentWide()),
    ParityCase("rand_augment", RandAugment()),
    ParityCase("compose", Compose([CenterCrop(30), RandomHorizontalFlip(), ToFloat()])),
]

@Suite struct DeterminismTests {
    @Test(arguments: randomTransforms)
    func sameSeedSameOutput(_ random: ParityCase) {
        let image = Fixtures.image("rgb")
        #expect(random.transform.isRandom)
        for seed: UInt64 in [0, 7, 123] {
            let a = random.transform(image, generator: Generator(seed: seed))
            let b = random.transform(image, generator: Generator(seed: seed))
            #expect(equal(a, b), "seed \(seed)")
        }
    }

    @Test(arguments: randomTransforms)
    func differentSeedsDiffer(_ random: ParityCase) {
        let image = Fixtures.image("rgb")
        let outputs = (0..<8).map { random.transform(image, generator: Generator(seed: UInt64($0))) }
        #expect(outputs.dropFirst().contains { !equal($0, outputs[0]) })
    }

    @Test func deterministicTransformsAreNotRandom() {
        let transforms: [any ImageTransform] = [
            Resize(size: 10), CenterCrop(10), ToFloat(), Normalize(mean: [0.5], std: [0.5]),
            Preprocessing(cropSize: 8).transform,
        ]
        #expect(transforms.allSatisfy { !$0.isRandom })
    }

    /// Leading dimensions get one draw, applied to every image, as in torchvision.
    @Test(arguments: [
        ParityCase("resize", Resize(size: 24, interpolation: .bicubic)),
        ParityCase("random_resized_crop", RandomResizedCrop(24)),
        ParityCase("rotation", RandomRotation(30, interpolation: .bilinear)),
        ParityCase("color_jitter", ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.3)),
    ])
    func batchesTransformLikeEachImage(_ random: ParityCase) {
        let image = Fixtures.image("rgb")
        let batch = random.transform(Tensor.stack([image, image]), generator: Generator(seed: 3))
        let single = random.transform(image, generator: Generator(seed: 3))
        #expect(equal(batch, Tensor.stack([single, single])))
    }

    @Test func noFlipAtZeroAlwaysAtOne() {
        let image = Fixtures.image("rgb")
        for seed: UInt64 in 0..<4 {
            #expect(equal(RandomHorizontalFlip(p: 0)(image, generator: Generator(seed: seed)), image))
            #expect(equal(RandomVerticalFlip(p: 1)(image, generator: Generator(seed: seed)), image.flip([-2])))
        }
    }
}

@Suite struct ImageTensorTests {
    @Test func loadImageGivesCHWUInt8() throws {
        let tensor = try loadImage(Fixtures.folder.appendingPathComponent("rgb.png"))
        #expect(equal(tensor, Fixtures.image("rgb")))
        let gray = try loadImage(Fixtures.folder.appendingPathComponent("rgb.png"), options: DecodeOptions(channels: 1))
        #expect(gray.shape == [1, 37, 53] && gray.dtype == .uint8)
    }

    @Test func decodedImageRoundTrips() {
        for name in ["rgb", "gray"] {
            let tensor = Fixtures.image(name)
            let image = DecodedImage(tensor)
            #expect(image.channels == tensor.size(0) && image.height == tensor.size(1) && image.width == tensor.size(2))
            #expect(Array(image.pixels.prefix(image.channels)) == tensor[TensorIndex.all, 0, 0].toArray(UInt8.self))
            #expect(equal(Tensor(image), tensor))
        }
    }

    @Test func sixteenBitKeepsTheHighByte() {
        let samples: [UInt16] = [0x1234, 0xFF01, 0x00FF]
        let bytes = samples.withUnsafeBytes { Array($0) }
        let tensor = Tensor(DecodedImage(width: 1, height: 1, channels: 3, bitDepth: 16, pixels: bytes))
        #expect(tensor.shape == [3, 1, 1] && tensor.toArray(UInt8.self) == [0x12, 0xFF, 0x00])
    }
}

@Suite struct PreprocessingTests {
    @Test func codableRoundTrip() throws {
        let preprocessing = Preprocessing(cropSize: 299, resizeSize: 342, interpolation: .bicubic)
        let json = try JSONEncoder().encode(preprocessing)
        #expect(String(decoding: json, as: UTF8.self).contains("\"interpolation\":\"bicubic\""))
        #expect(try JSONDecoder().decode(Preprocessing.self, from: json) == preprocessing)
    }

    @Test func transformShapeAndType() {
        let output = Preprocessing(cropSize: 16, resizeSize: 20).transform(Fixtures.image("rgb"), generator: Generator(seed: 0))
        #expect(output.shape == [3, 16, 16] && output.dtype == .float32)
    }
}

/// A stored preprocessing its transforms can't run is a decoding error (a damaged model
/// card), not a trap later in Resize, CenterCrop, FiveCrop or Normalize.
@Suite struct PreprocessingDecodingTests {
    func decode(_ json: String) throws -> Preprocessing {
        try JSONDecoder().decode(Preprocessing.self, from: Data(json.utf8))
    }

    @Test func impossibleValuesAreRefusedAndGoodOnesRoundTrip() throws {
        let good = Preprocessing(cropSize: 160, resizeSize: 182, interpolation: .bicubic)
        #expect(try decode(String(decoding: try JSONEncoder().encode(good), as: UTF8.self)) == good)
        let base = #""interpolation":"bilinear","mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5]"#
        #expect(throws: DecodingError.self) { try decode(#"{"cropSize":0,"resizeSize":256,"# + base + "}") }
        #expect(throws: DecodingError.self) { try decode(#"{"cropSize":224,"resizeSize":-3,"# + base + "}") }
        #expect(throws: DecodingError.self) {
            try decode(#"{"cropSize":224,"resizeSize":256,"interpolation":"bilinear","mean":[0.5],"std":[0.5,0.5]}"#)
        }
        #expect(throws: DecodingError.self) {
            try decode(#"{"cropSize":224,"resizeSize":256,"interpolation":"bilinear","mean":[0.5],"std":[0]}"#)
        }
    }
}
