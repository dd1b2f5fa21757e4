import Torch

// MARK: - Color
//
// Images are `uint8` (0…255) or floating point (0…1), 1 or 3 channels. Where torchvision uses
// bitwise ops on `uint8` (posterize, invert) these use the arithmetic that gives the same bytes.

extension Kernels {
    /// `_max_value`: the value of white.
    static func bound(_ dtype: DType) -> Double {
        precondition(dtype == .uint8 || dtype.isFloatingPoint, "image kernels take uint8 or floating-point images, got \(dtype)")
        return dtype == .uint8 ? 255 : 1
    }

    /// `to_dtype_image(image, dtype, scale=True)` between `uint8` and floating point.
    static func toDtype(_ image: Tensor, _ dtype: DType) -> Tensor {
        if image.dtype == dtype { return image }
        if image.dtype.isFloatingPoint == dtype.isFloatingPoint { return image.to(dtype) }
        if dtype.isFloatingPoint { return image.to(dtype).mul_(1.0 / bound(image.dtype)) }
        return (image * (bound(dtype) + 1.0 - 1e-3)).to(dtype)
    }

    /// `_rgb_to_grayscale_image(image, 1, preserve_dtype=False)` of a 3-channel image: luma,
    /// float, with a channel dimension of 1.
    static func luma(_ image: Tensor) -> Tensor {
        let (r, g, b) = (image.select(dim: -3, index: 0), image.select(dim: -3, index: 1), image.select(dim: -3, index: 2))
        return (r * 0.2989).add_(g, alpha: 0.587).add_(b, alpha: 0.114).unsqueeze(-3)
    }

    /// `_blend`: `ratio * a + (1 - ratio) * b`, clamped and cast back to `a`'s dtype.
    static func blend(_ a: Tensor, _ b: Tensor, ratio: Double) -> Tensor {
        let output = (a * ratio).add_(b, alpha: 1.0 - ratio).clamp_(min: 0, max: bound(a.dtype))
        return a.dtype.isFloatingPoint ? output : output.to(a.dtype)
    }

    /// `adjust_brightness_image`.
    static func adjustBrightness(_ image: Tensor, factor: Double) -> Tensor {
        let output = (image * factor).clamp_(min: 0, max: bound(image.dtype))
        return image.dtype.isFloatingPoint ? output : output.to(image.dtype)
    }

    /// `adjust_saturation_image`: blends with the (floored, for integers) luma; 1 channel unchanged.
    static func adjustSaturation(_ image: Tensor, factor: Double) -> Tensor {
        guard image.size(-3) == 3 else { return image }
        let gray = luma(image)
        return blend(image, image.dtype.isFloatingPoint ? gray : gray.floor(), ratio: factor)
    }

    /// `adjust_contrast_image`: blends with the mean luma.
    static func adjustContrast(_ image: Tensor, factor: Double) -> Tensor {
        let isFloat = image.dtype.isFloatingPoint
        let gray = image.size(-3) == 3 ? (isFloat ? luma(image) : luma(image).floor()) : (isFloat ? image : image.to(.float32))
        return blend(image, gray.mean(dims: [-3, -2, -1], keepDim: true), ratio: factor)
    }

    /// `adjust_sharpness_image`: blends the inner pixels with a 3×3 smoothing (1s around a 5, /13).
    static func adjustSharpness(_ image: Tensor, factor: Double) -> Tensor {
        let (channels, height, width) = (image.size(-3), image.size(-2), image.size(-1))
        if image.count == 0 || height <= 2 || width <= 2 { return image }
        let isFloat = image.dtype.isFloatingPoint, dtype = isFloat ? image.dtype : .float32
        let (a, b) = (1.0 / 13.0, 5.0 / 13.0)
        let kernel = Tensor([a, a, a, a, b, a, a, a, a], shape: [3, 3]).to(image.device, dtype: dtype)
            .expand([channels, 1, 3, 3])
        let output = isFloat ? image.clone() : image.to(dtype)
        var blurred = Functional.conv2d(output, weight: kernel, groups: channels)
        if !isFloat { blurred = blurred.round() }
        let inner = output.slice(dim: -2, start: 1, end: -1).slice(dim: -1, start: 1, end: -1)
        inner.add_(blurred.sub_(inner), alpha: 1.0 - factor)
        output.clamp_(min: 0, max: bound(image.dtype))
        return isFloat ? output : output.to(image.dtype)
    }

    /// `adjust_hue_image`: shifts the hue (in turns, -0.5…0.5) in HSV; 1 channel unchanged.
    static func adjustHue(_ image: Tensor, factor: Double) -> Tensor {
        guard image.size(-3) == 3, image.count > 0 else { return image }
        let hsv = rgbToHSV(toDtype(image, .float32))
        let hue = (hsv.select(dim: -3, index: 0) + factor).remainder(Tensor(scalar: Float(1)))
        let shifted = Tensor.stack([hue, hsv.select(dim: -3, index: 1), hsv.select(dim: -3, index: 2)], dim: -3)
        return toDtype(hsvToRGB(shifted), image.dtype)
    }

    /// `_rgb_to_hsv` of a float image in 0…1.
    static func rgbToHSV(_ image: Tensor) -> Tensor {
        let (r, g) = (image.select(dim: -3, index: 0), image.select(dim: -3, index: 1))
        let minC = image.amin(dims: [-3]), maxC = image.amax(dims: [-3])
        let equal = maxC .== minC
        let range = maxC - minC
        let ones = Tensor.ones(like: maxC)
        let saturation = range / Tensor.where(equal, ones, maxC)
        let divisor = Tensor.where(equal, ones, range).unsqueeze(-3)
        let scaled = (maxC.unsqueeze(-3) - image) / divisor
        let (rc, gc, bc) = (scaled.select(dim: -3, index: 0), scaled.select(dim: -3, index: 1), scaled.select(dim: -3, index: 2))
        let maxIsNotR = maxC .!= r, maxIsG = maxC .== g
        let hg = (rc + 2.0).sub_(bc).mul_(maxIsG.logicalAnd(maxIsNotR))
        let hr = (bc - gc).mul_(maxIsNotR.logicalNot())
        let hb = (gc + 4.0).sub_(rc).mul_(maxIsNotR.logicalAnd(maxIsG.logicalNot()))
        let hue = hr.add_(hg).add_(hb).mul_(1.0 / 6.0).add_(1.0).remainder(Tensor(scalar: Float(1)))
        return Tensor.stack([hue, saturation, maxC], dim: -3)
    }

    /// `_hsv_to_rgb`.
    static func hsvToRGB(_ image: Tensor) -> Tensor {
        let (h, s, v) = (image.select(dim: -3, index: 0), image.select(dim: -3, index: 1), image.select(dim: -3, index: 2))
        let h6 = h * 6
        let sector = h6.floor()
        let f = h6 - sector
        let sxf = s * f, oneMinusS = 1.0 - s
        let q = (1.0 - sxf).mul_(v).clamp_(min: 0, max: 1)
        let t = (sxf + oneMinusS).mul_(v).clamp_(min: 0, max: 1)
        let p = (oneMinusS * v).clamp_(min: 0, max: 1)
        let i = sector.to(.int32).remainder(Tensor(scalar: Int32(6)))
        let vpqt = Tensor.stack([v, p, q, t], dim: -3)
        let select = Tensor([0, 2, 1, 1, 3, 0, 3, 0, 0, 2, 1, 1, 1, 1, 3, 0, 0, 2] as [Int64], shape: [3, 6])
            .to(image.device)
        var index = select[TensorIndex.all, i]  // (3, ..., H, W): move the 3 to dimension -3
        if index.rank > 3 { index = index.permute(Array(1..<index.rank - 2) + [0, index.rank - 2, index.rank - 1]) }
        return vpqt.gather(dim: -3, index: index)
    }

    /// `invert_image` of a `uint8` image: `255 - x` is its `bitwise_not`.
    static func invert(_ image: Tensor) -> Tensor { 255 - image }

    /// `posterize_image`: keeps the top `bits` bits (1…8) of each `uint8` sample.
    static func posterize(_ image: Tensor, bits: Int) -> Tensor {
        precondition(image.dtype == .uint8 && (1...8).contains(bits), "posterize: uint8 image and 1...8 bits")
        if bits == 8 { return image }
        let step = 1 << (8 - bits)
        return image.floorDivide(Tensor(scalar: UInt8(step))) * step
    }

    /// `solarize_image`: inverts the samples at or above `threshold`.
    static func solarize(_ image: Tensor, threshold: Double) -> Tensor {
        Tensor.where(image .>= threshold, invert(image), image)
    }

    /// `autocontrast_image` of a `uint8` image: stretches each channel to 0…255.
    static func autocontrast(_ image: Tensor) -> Tensor {
        guard image.count > 0 else { return image }
        let x = image.to(.float32)
        let minimum = x.amin(dims: [-2, -1], keepDim: true), maximum = x.amax(dims: [-2, -1], keepDim: true)
        let equal = maximum .== minimum
        let inverseScale = (maximum - minimum).mul_(1.0 / 255).maskedFill(equal, 1)
        return (x - minimum.maskedFill(equal, 0)).div_(inverseScale).clamp_(min: 0, max: 255).to(image.dtype)
    }

    /// `equalize_image` of a `uint8` image: Pillow's per-channel histogram equalization.
    static func equalize(_ image: Tensor) -> Tensor {
        guard image.count > 0 else { return image }
        let batchShape = Array(image.shape.dropLast(2)), device = image.device
        let flat = image.flatten(startDim: -2).to(.int64)
        let hist = Tensor.zeros(batchShape + [256], dtype: .int32, device: device)
            .scatterAdd(dim: -1, index: flat, source: Tensor.ones([1], dtype: .int32, device: device).expand(flat.shape))
        let cumulative = hist.cumsum(dim: -1)
        let last = cumulative.argmax(dim: -1).unsqueeze(-1)
        let step = (flat.size(-1) - hist.gather(dim: -1, index: last)).floorDivide(Tensor(scalar: Int32(255)))
        let valid = step.ne(0).unsqueeze(-1)
        // clamp(min: 1) and clamp(0, 255) with integer bounds (a Double bound would promote to float).
        let lut = (cumulative.slice(dim: -1, end: -1) + step.floorDivide(Tensor(scalar: Int32(2))))
            .floorDivide(step.maximum(Tensor(scalar: Int32(1))))
            .maximum(Tensor(scalar: Int64(0))).minimum(Tensor(scalar: Int64(255))).to(.uint8)
        let table = Tensor.cat([Tensor.zeros(batchShape + [1], dtype: .uint8, device: device), lut], dim: -1)
        let equalized = table.gather(dim: -1, index: flat).view(image.shape)
        return Tensor.where(valid, equalized, image)
    }
}
