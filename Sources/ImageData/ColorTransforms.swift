import Torch

/// Randomly changes brightness, contrast, saturation and hue, in a random order, as
/// `v2.ColorJitter(brightness, contrast, saturation, hue)`.
///
/// Draws `randperm(4)` for the order, then one factor (`uniform_`) for each adjustment
/// that is set, in the order brightness, contrast, saturation, hue. Takes a CHW (or
/// `[..., C, H, W]`) `uint8` or floating-point image with 1 or 3 channels and returns the
/// same dtype; saturation and hue leave a 1-channel image unchanged.
public struct ColorJitter: ImageTransform {
    /// Factor ranges (nil: not applied). Brightness, contrast and saturation factors are ≥ 0
    /// (1 keeps the image); hue shifts lie in -0.5…0.5 turns.
    public var brightness: ClosedRange<Double>?
    public var contrast: ClosedRange<Double>?
    public var saturation: ClosedRange<Double>?
    public var hue: ClosedRange<Double>?

    /// Factors drawn from `max(0, 1 - x)...1 + x` for brightness, contrast and saturation,
    /// and shifts from `-hue...hue`; 0 leaves that adjustment out.
    public init(brightness: Double = 0, contrast: Double = 0, saturation: Double = 0, hue: Double = 0) {
        precondition(min(brightness, contrast, saturation) >= 0, "ColorJitter: amounts must be non-negative")
        precondition((0...0.5).contains(hue), "ColorJitter: hue must be in 0...0.5, got \(hue)")
        func factors(_ x: Double) -> ClosedRange<Double>? { x == 0 ? nil : max(0, 1 - x)...1 + x }
        self.brightness = factors(brightness)
        self.contrast = factors(contrast)
        self.saturation = factors(saturation)
        self.hue = hue == 0 ? nil : -hue...hue
    }

    public var isRandom: Bool { true }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        let order = Tensor.randperm(4, generator: generator).toArray(Int.self)
        func draw(_ range: ClosedRange<Double>?) -> Double? {
            range.map { Tensor.empty([1]).uniform_($0.lowerBound, $0.upperBound, generator: generator).double }
        }
        let (b, c, s, h) = (draw(brightness), draw(contrast), draw(saturation), draw(hue))
        return order.reduce(image) { output, step in
            switch step {
            case 0: b.map { Kernels.adjustBrightness(output, factor: $0) } ?? output
            case 1: c.map { Kernels.adjustContrast(output, factor: $0) } ?? output
            case 2: s.map { Kernels.adjustSaturation(output, factor: $0) } ?? output
            default: h.map { Kernels.adjustHue(output, factor: $0) } ?? output
            }
        }
    }
}

/// Converts a `uint8` image (0…255) to `float32` (0…1), as `v2.ToDtype(torch.float32,
/// scale=True)`: `x.to(float32).mul_(1 / 255)`. Floating-point images are only converted to
/// `float32`. Any shape.
public struct ToFloat: ImageTransform {
    public init() {}

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        Kernels.toDtype(image, .float32)
    }
}

/// Normalizes each channel as `(x - mean[c]) / std[c]`, as `v2.Normalize(mean, std)`.
///
/// Takes a floating-point CHW (or `[..., C, H, W]`) image, such as ``ToFloat``'s, with as many
/// channels as `mean` and `std` have entries (or one entry for every channel), and returns the
/// same dtype.
public struct Normalize: ImageTransform {
    public var mean: [Double]
    public var std: [Double]

    public init(mean: [Double], std: [Double]) {
        precondition(!mean.isEmpty && mean.count == std.count, "Normalize: mean and std need the same, non-zero count")
        precondition(!std.contains(0), "Normalize: std contains 0")
        self.mean = mean
        self.std = std
    }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        precondition(image.dtype.isFloatingPoint, "Normalize: needs a floating-point image (apply ToFloat first), got \(image.dtype)")
        func column(_ values: [Double]) -> Tensor { Tensor(values).to(image.device, dtype: image.dtype).view([-1, 1, 1]) }
        return (image - column(mean)).div_(column(std))
    }
}
