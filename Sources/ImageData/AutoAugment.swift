import Foundation
import Torch

/// The operations of torchvision's automatic augmentations, in the order of their
/// `_AUGMENTATION_SPACE` (the order the random index picks from).
enum AugmentOperation: CaseIterable {
    case identity, shearX, shearY, translateX, translateY, rotate, brightness, color, contrast, sharpness,
         posterize, solarize, autoContrast, equalize

    /// Whether a magnitude gets a random sign.
    var isSigned: Bool {
        switch self {
        case .shearX, .shearY, .translateX, .translateY, .rotate, .brightness, .color, .contrast, .sharpness: true
        default: false
        }
    }

    /// The `bins` magnitudes of `_AUGMENTATION_SPACE`, or nil for operations without one:
    /// TrivialAugmentWide's table when `wide`, else RandAugment's.
    func magnitudes(bins: Int, height: Int, width: Int, wide: Bool) -> Tensor? {
        func linspace(_ start: Double, _ end: Double) -> Tensor { Tensor.linspace(start, end, steps: bins) }
        switch self {
        case .identity, .autoContrast, .equalize: return nil
        case .shearX, .shearY: return linspace(0, wide ? 0.99 : 0.3)
        case .translateX: return linspace(0, wide ? 32 : 150.0 / 331.0 * Double(width))
        case .translateY: return linspace(0, wide ? 32 : 150.0 / 331.0 * Double(height))
        case .rotate: return linspace(0, wide ? 135 : 30)
        case .brightness, .color, .contrast, .sharpness: return linspace(0, wide ? 0.99 : 0.9)
        case .posterize:
            return (8 - Tensor.arange(0, Double(bins)) / (Double(bins - 1) / (wide ? 6 : 4))).round().to(.int32)
        case .solarize: return linspace(1, 0)
        }
    }

    /// `_apply_image_or_video_transform` on a `uint8` image.
    func apply(to image: Tensor, magnitude: Double, interpolation: Interpolation, fill: Double?) -> Tensor {
        let shear = atan(magnitude) * (180 / Double.pi)  // math.degrees(math.atan(magnitude))
        switch self {
        case .identity: return image
        case .shearX:
            return Kernels.affine(image, translate: (0, 0), shear: (shear, 0), center: (0, 0),
                                  interpolation: interpolation, fill: fill)
        case .shearY:
            return Kernels.affine(image, translate: (0, 0), shear: (0, shear), center: (0, 0),
                                  interpolation: interpolation, fill: fill)
        case .translateX:
            return Kernels.affine(image, translate: (Double(Int(magnitude)), 0), shear: (0, 0), center: nil,
                                  interpolation: interpolation, fill: fill)
        case .translateY:
            return Kernels.affine(image, translate: (0, Double(Int(magnitude))), shear: (0, 0), center: nil,
                                  interpolation: interpolation, fill: fill)
        case .rotate: return Kernels.rotate(image, angle: magnitude, interpolation: interpolation, fill: fill)
        case .brightness: return Kernels.adjustBrightness(image, factor: 1 + magnitude)
        case .color: return Kernels.adjustSaturation(image, factor: 1 + magnitude)
        case .contrast: return Kernels.adjustContrast(image, factor: 1 + magnitude)
        case .sharpness: return Kernels.adjustSharpness(image, factor: 1 + magnitude)
        case .posterize: return Kernels.posterize(image, bits: Int(magnitude))
        case .solarize: return Kernels.solarize(image, threshold: 255 * magnitude)
        case .autoContrast: return Kernels.autocontrast(image)
        case .equalize: return Kernels.equalize(image)
        }
    }

    /// Draws an operation (`randint(14, ())`).
    static func random(_ generator: Generator) -> AugmentOperation {
        allCases[Tensor.randint(0, allCases.count, [], generator: generator).int]
    }

    /// Negates `magnitude` when the operation is signed and `rand(()) <= 0.5`.
    func signed(_ magnitude: Double, _ generator: Generator) -> Double {
        isSigned && Tensor.rand([], generator: generator).le(0.5).item(Bool.self) ? -magnitude : magnitude
    }
}

private func checkAugmentInput(_ image: Tensor, _ name: String) {
    precondition(image.dtype == .uint8 && image.rank == 3 && [1, 3].contains(image.size(0)),
                 "\(name): needs a uint8 CHW image with 1 or 3 channels, got \(image)")
}

/// TrivialAugment Wide, as `v2.TrivialAugmentWide(num_magnitude_bins, interpolation, fill)`:
/// one operation drawn from 14 (identity, shears, translations, rotation, brightness, color,
/// contrast, sharpness, posterize, solarize, autocontrast, equalize), one of
/// `numMagnitudeBins` magnitudes (`randint`) and, for signed operations, a sign (`rand`).
///
/// Takes a CHW `uint8` image with 1 or 3 channels and returns one. Geometric operations
/// sample with `interpolation` (nearest or bilinear) and fill uncovered pixels with `fill`
/// (nil: torchvision's default `fill=None`).
public struct TrivialAugmentWide: ImageTransform {
    public var numMagnitudeBins: Int
    public var interpolation: Interpolation
    public var fill: Double?

    public init(numMagnitudeBins: Int = 31, interpolation: Interpolation = .nearest, fill: Double? = nil) {
        precondition(numMagnitudeBins >= 2, "TrivialAugmentWide: numMagnitudeBins must be at least 2")
        precondition(interpolation != .bicubic, "TrivialAugmentWide: interpolation must be nearest or bilinear")
        self.numMagnitudeBins = numMagnitudeBins
        self.interpolation = interpolation
        self.fill = fill
    }

    public var isRandom: Bool { true }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        checkAugmentInput(image, "TrivialAugmentWide")
        let operation = AugmentOperation.random(generator)
        var magnitude = 0.0
        if let magnitudes = operation.magnitudes(bins: numMagnitudeBins, height: image.size(-2), width: image.size(-1),
                                                 wide: true) {
            let index = Tensor.randint(0, numMagnitudeBins, [], generator: generator).int
            magnitude = operation.signed(magnitudes[index].double, generator)
        }
        return operation.apply(to: image, magnitude: magnitude, interpolation: interpolation, fill: fill)
    }
}

/// RandAugment, as `v2.RandAugment(num_ops, magnitude, num_magnitude_bins, interpolation, fill)`:
/// `numOps` times, one operation drawn from 14 (as ``TrivialAugmentWide``'s, with RandAugment's
/// magnitude table) applied at magnitude bin `magnitude`, with a random sign for signed ones.
///
/// Takes a CHW `uint8` image with 1 or 3 channels and returns one. Geometric operations
/// sample with `interpolation` (nearest or bilinear) and fill uncovered pixels with `fill`
/// (nil: torchvision's default `fill=None`).
public struct RandAugment: ImageTransform {
    public var numOps: Int
    public var magnitude: Int
    public var numMagnitudeBins: Int
    public var interpolation: Interpolation
    public var fill: Double?

    public init(
        numOps: Int = 2, magnitude: Int = 9, numMagnitudeBins: Int = 31, interpolation: Interpolation = .nearest,
        fill: Double? = nil
    ) {
        precondition(numOps >= 0, "RandAugment: numOps must be non-negative")
        precondition(numMagnitudeBins >= 2 && (0..<numMagnitudeBins).contains(magnitude),
                     "RandAugment: magnitude must be a bin in 0..<numMagnitudeBins")
        precondition(interpolation != .bicubic, "RandAugment: interpolation must be nearest or bilinear")
        self.numOps = numOps
        self.magnitude = magnitude
        self.numMagnitudeBins = numMagnitudeBins
        self.interpolation = interpolation
        self.fill = fill
    }

    public var isRandom: Bool { true }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        checkAugmentInput(image, "RandAugment")
        let (height, width) = (image.size(-2), image.size(-1))
        return (0..<numOps).reduce(image) { output, _ in
            let operation = AugmentOperation.random(generator)
            let value = operation.magnitudes(bins: numMagnitudeBins, height: height, width: width, wide: false)
                .map { operation.signed($0[magnitude].double, generator) } ?? 0
            return operation.apply(to: output, magnitude: value, interpolation: interpolation, fill: fill)
        }
    }
}
