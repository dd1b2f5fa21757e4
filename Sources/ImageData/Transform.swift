import Torch

/// One step of an image pipeline, as a torchvision v2 transform.
///
/// Images are CHW tensors: `uint8` in 0…255 straight from the decoder, `float32`
/// after ``ToFloat`` (0…1) and ``Normalize``. A random transform draws every random
/// number from `generator` with the same libtorch calls, in the same order, as
/// torchvision does from the global generator, so that
/// `torch.manual_seed(s); t(img)` in Python and `t(img, Generator(seed: s))` in
/// Swift give the same result. Deterministic transforms ignore the generator.
public protocol ImageTransform: Sendable {
    func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor
    /// Whether the transform draws random numbers (a feature cache needs none).
    var isRandom: Bool { get }
}

extension ImageTransform {
    public var isRandom: Bool { false }
}

/// Transforms applied in order, as `v2.Compose`.
public struct Compose: ImageTransform {
    public let transforms: [any ImageTransform]
    public init(_ transforms: [any ImageTransform]) { self.transforms = transforms }
    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        transforms.reduce(image) { $1($0, generator: generator) }
    }
    public var isRandom: Bool { transforms.contains { $0.isRandom } }
}

/// Per-sample randomness that doesn't depend on threads or order: the generator
/// for sample `index` in `epoch` of a run seeded with `seed`.
public func sampleGenerator(seed: UInt64, epoch: Int, index: Int) -> Generator {
    Generator(seed: mixSeed(seed, UInt64(truncatingIfNeeded: epoch), UInt64(truncatingIfNeeded: index)))
}

/// SplitMix64 over the three values: well-spread, stable across platforms.
public func mixSeed(_ values: UInt64...) -> UInt64 {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for v in values {
        state ^= v &+ 0x9E37_79B9_7F4A_7C15 &+ (state << 6) &+ (state >> 2)
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        state = z ^ (z >> 31)
    }
    return state
}
