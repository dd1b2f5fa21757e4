import Torch

/// Resampling filters, as torchvision's `InterpolationMode`; raw values are its names.
public enum Interpolation: String, Codable, Sendable, CaseIterable {
    case nearest
    case bilinear
    case bicubic

    var mode: InterpolationMode {
        switch self {
        case .nearest: .nearest
        case .bilinear: .bilinear
        case .bicubic: .bicubic
        }
    }
}

/// Resizes so the shorter side is `size`, keeping the aspect ratio, as
/// `v2.Resize(size, interpolation, max_size, antialias)` with an `int` size does.
///
/// Takes a CHW (or `[..., C, H, W]`) `uint8` or floating-point image and returns the same
/// dtype. The longer side is `size * long / short`, truncated; with `maxSize`, both sides
/// shrink so the longer is at most `maxSize`. `antialias` applies to bilinear and bicubic.
public struct Resize: ImageTransform {
    public var size: Int
    public var maxSize: Int?
    public var interpolation: Interpolation
    public var antialias: Bool

    public init(size: Int, maxSize: Int? = nil, interpolation: Interpolation = .bilinear, antialias: Bool = true) {
        precondition(size > 0, "Resize: size must be positive, got \(size)")
        precondition(maxSize.map { $0 > size } ?? true, "Resize: maxSize must be greater than size")
        self.size = size
        self.maxSize = maxSize
        self.interpolation = interpolation
        self.antialias = antialias
    }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        let target = Kernels.resizedSize(height: image.size(-2), width: image.size(-1), shorterSide: size, maxSize: maxSize)
        return Kernels.resize(image, height: target.height, width: target.width, interpolation: interpolation,
                              antialias: antialias)
    }
}

/// Crops the center `height` × `width`, as `v2.CenterCrop`: where the image is smaller it is
/// first padded with zeros, the extra pixel of an odd padding going right and bottom.
///
/// Takes and returns a CHW (or `[..., C, H, W]`) image of any dtype; the result may be a view.
public struct CenterCrop: ImageTransform {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        precondition(height > 0 && width > 0, "CenterCrop: sizes must be positive, got \(height)×\(width)")
        self.height = height
        self.width = width
    }

    /// A square crop.
    public init(_ size: Int) { self.init(height: size, width: size) }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        Kernels.centerCrop(image, height: height, width: width)
    }
}

/// Crops a random box and resizes it to `height` × `width`, as
/// `v2.RandomResizedCrop(size, scale, ratio, interpolation, antialias)`.
///
/// Up to 10 times it draws an area fraction from `scale` (`uniform_`) and a log aspect ratio
/// (`uniform_` between the float32 logs of `ratio`), and when the box fits, its top and left
/// (`randint`); otherwise it falls back to the largest center box within `ratio`. Takes a CHW
/// (or `[..., C, H, W]`) `uint8` or floating-point image and returns the same dtype.
public struct RandomResizedCrop: ImageTransform {
    public var height: Int
    public var width: Int
    public var scale: ClosedRange<Double>
    public var ratio: ClosedRange<Double>
    public var interpolation: Interpolation
    public var antialias: Bool

    /// A square output of `size`.
    public init(
        _ size: Int, scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = 3.0 / 4.0...4.0 / 3.0,
        interpolation: Interpolation = .bilinear, antialias: Bool = true
    ) {
        precondition(size > 0, "RandomResizedCrop: size must be positive, got \(size)")
        precondition(scale.lowerBound > 0 && ratio.lowerBound > 0, "RandomResizedCrop: scale and ratio must be positive")
        (height, width) = (size, size)
        self.scale = scale
        self.ratio = ratio
        self.interpolation = interpolation
        self.antialias = antialias
    }

    public var isRandom: Bool { true }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        let box = cropBox(height: image.size(-2), width: image.size(-1), generator: generator)
        let cropped = Kernels.crop(image, top: box.top, left: box.left, height: box.height, width: box.width)
        return Kernels.resize(cropped, height: height, width: width, interpolation: interpolation, antialias: antialias)
    }

    /// `make_params`: the box to crop from an image of `height` × `width`.
    func cropBox(height: Int, width: Int, generator: Generator) -> (top: Int, left: Int, height: Int, width: Int) {
        let area = Double(height * width)
        let logRatio = Tensor([Float(ratio.lowerBound), Float(ratio.upperBound)]).log().toArray(Float.self).map(Double.init)
        for _ in 0..<10 {
            let targetArea = area * Tensor.empty([1]).uniform_(scale.lowerBound, scale.upperBound, generator: generator).double
            let aspect = Tensor.empty([1]).uniform_(logRatio[0], logRatio[1], generator: generator).exp().double
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if 0 < w, w <= width, 0 < h, h <= height {
                let top = Tensor.randint(0, height - h + 1, [1], generator: generator).int
                let left = Tensor.randint(0, width - w + 1, [1], generator: generator).int
                return (top, left, h, w)
            }
        }
        let inRatio = Double(width) / Double(height)
        var (w, h) = (width, height)
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return ((height - h) / 2, (width - w) / 2, h, w)
    }
}

/// Flips left–right with probability `p`, as `v2.RandomHorizontalFlip(p)`: flips unless
/// `torch.rand(1) >= p`. Any dtype, CHW (or `[..., C, H, W]`).
public struct RandomHorizontalFlip: ImageTransform {
    public var p: Double

    public init(p: Double = 0.5) {
        precondition((0...1).contains(p), "RandomHorizontalFlip: p must be in 0...1, got \(p)")
        self.p = p
    }

    public var isRandom: Bool { true }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        Tensor.rand([1], generator: generator).ge(p).item(Bool.self) ? image : image.flip([-1])
    }
}

/// Flips top–bottom with probability `p`, as `v2.RandomVerticalFlip(p)`: flips unless
/// `torch.rand(1) >= p`. Any dtype, CHW (or `[..., C, H, W]`).
public struct RandomVerticalFlip: ImageTransform {
    public var p: Double

    public init(p: Double = 0.5) {
        precondition((0...1).contains(p), "RandomVerticalFlip: p must be in 0...1, got \(p)")
        self.p = p
    }

    public var isRandom: Bool { true }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        Tensor.rand([1], generator: generator).ge(p).item(Bool.self) ? image : image.flip([-2])
    }
}

/// Rotates about the center by an angle drawn from `degrees` (`uniform_`; positive is
/// counter-clockwise), keeping the size, as `v2.RandomRotation(degrees, interpolation,
/// expand=False, center=None, fill)`.
///
/// Pixels are sampled with `grid_sample` on an affine grid (nearest or bilinear); where the
/// source falls outside the image they become `fill` (nil: torchvision's `fill=None`, zeros
/// blended by bilinear sampling without a mask). Takes a CHW (or `[..., C, H, W]`) `uint8` or
/// floating-point image and returns the same dtype.
public struct RandomRotation: ImageTransform {
    public var degrees: ClosedRange<Double>
    public var interpolation: Interpolation
    public var fill: Double?

    /// Angles in `degrees`, such as `-30...30`.
    public init(degrees: ClosedRange<Double>, interpolation: Interpolation = .nearest, fill: Double? = 0) {
        precondition(interpolation != .bicubic, "RandomRotation: interpolation must be nearest or bilinear")
        self.degrees = degrees
        self.interpolation = interpolation
        self.fill = fill
    }

    /// Angles in `-degrees...degrees`.
    public init(_ degrees: Double, interpolation: Interpolation = .nearest, fill: Double? = 0) {
        precondition(degrees >= 0, "RandomRotation: degrees must be non-negative, got \(degrees)")
        self.init(degrees: -degrees...degrees, interpolation: interpolation, fill: fill)
    }

    public var isRandom: Bool { true }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        let angle = Tensor.empty([1]).uniform_(degrees.lowerBound, degrees.upperBound, generator: generator).double
        return Kernels.rotate(image, angle: angle, interpolation: interpolation, fill: fill)
    }
}

/// The four corner crops and the center crop, stacked before the channels — `[..., 5, C, h, w]`
/// in torchvision's order (top-left, top-right, bottom-left, bottom-right, center), as
/// `v2.FiveCrop(size)` with its tuple stacked. An image smaller than the crop is first
/// padded as ``CenterCrop`` pads it (torchvision refuses it).
public struct FiveCrop: ImageTransform {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        precondition(height > 0 && width > 0, "FiveCrop: sizes must be positive, got \(height)×\(width)")
        self.height = height
        self.width = width
    }

    public init(_ size: Int) { self.init(height: size, width: size) }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        var image = image
        if height > image.size(-2) || width > image.size(-1) {
            image = Kernels.centerCrop(image, height: max(height, image.size(-2)), width: max(width, image.size(-1)))
        }
        let (h, w) = (image.size(-2), image.size(-1))
        let crops = [(0, 0), (0, w - width), (h - height, 0), (h - height, w - width)].map {
            Kernels.crop(image, top: $0.0, left: $0.1, height: height, width: width)
        } + [Kernels.centerCrop(image, height: height, width: width)]
        return Tensor.stack(crops, dim: -4)
    }
}

/// Erases a random box with probability `p`, as `v2.RandomErasing(p, scale, ratio, value)`
/// (Zhong et al. 2017): unless `torch.rand(1) >= p`, up to 10 times it draws the box's area
/// fraction from `scale` and its log aspect ratio from `ratio` (`uniform_`, float32), keeps
/// the first box smaller than the image, draws its top and left (`randint`) and fills it with
/// `value` (one number or one per channel; nil: standard normal noise, drawn before the
/// position, as torchvision's `value="random"`). No box fits: the image is unchanged. Any
/// dtype (torchvision applies it after `Normalize`, on float images), CHW or `[..., C, H, W]`.
public struct RandomErasing: ImageTransform {
    public var p: Double
    public var scale: ClosedRange<Double>
    public var ratio: ClosedRange<Double>
    public var value: [Double]?

    public init(p: Double = 0.5, scale: ClosedRange<Double> = 0.02...0.33, ratio: ClosedRange<Double> = 0.3...3.3,
                value: [Double]? = [0]) {
        precondition((0...1).contains(p), "RandomErasing: p must be in 0...1, got \(p)")
        precondition(scale.lowerBound >= 0 && scale.upperBound <= 1, "RandomErasing: scale must lie in 0...1")
        precondition(ratio.lowerBound > 0, "RandomErasing: ratio must be positive")
        (self.p, self.scale, self.ratio, self.value) = (p, scale, ratio, value)
    }

    public var isRandom: Bool { true }

    public func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        if Tensor.rand([1], generator: generator).ge(p).item(Bool.self) { return image }
        let (channels, height, width) = (image.size(-3), image.size(-2), image.size(-1))
        let area = Double(height * width)
        let logRatio = Tensor([Float(ratio.lowerBound), Float(ratio.upperBound)]).log().toArray(Float.self).map(Double.init)
        for _ in 0..<10 {
            let eraseArea = area * Tensor.empty([1]).uniform_(scale.lowerBound, scale.upperBound, generator: generator).double
            let aspect = Tensor.empty([1]).uniform_(logRatio[0], logRatio[1], generator: generator).exp().double
            let h = Int((eraseArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let w = Int((eraseArea / aspect).squareRoot().rounded(.toNearestOrEven))
            guard h < height && w < width else { continue }
            let fill: Tensor
            if let value {
                fill = Tensor(value.map(Float.init)).view([-1, 1, 1])
            } else {
                fill = Tensor.empty([channels, h, w]).normal_(generator: generator)
            }
            let top = Tensor.randint(0, height - h + 1, [1], generator: generator).int
            let left = Tensor.randint(0, width - w + 1, [1], generator: generator).int
            let erased = image.clone()
            let box = Kernels.crop(erased, top: top, left: left, height: h, width: w)
            Torch.noGrad { _ = box.copy_(fill.to(image.dtype).expand(box.shape)) }
            return erased
        }
        return image
    }
}
