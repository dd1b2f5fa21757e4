import Foundation
import Torch

/// The image kernels of `torchvision.transforms.v2.functional`, op for op, on `[..., C, H, W]`
/// tensors. Each says which torchvision function it mirrors.
enum Kernels {}

// MARK: - Geometry

extension Kernels {
    /// `_compute_resized_output_size` for an `int` size: the shorter side becomes `size`, the
    /// longer one keeps the aspect ratio (truncated), then both shrink so the longer is at most `maxSize`.
    static func resizedSize(height: Int, width: Int, shorterSide size: Int, maxSize: Int?) -> (height: Int, width: Int) {
        let (short, long) = width <= height ? (width, height) : (height, width)
        var newShort = size, newLong = Int(Double(size * long) / Double(short))
        if let maxSize, newLong > maxSize {
            (newShort, newLong) = (Int(Double(maxSize * newShort) / Double(newLong)), maxSize)
        }
        return width <= height ? (newLong, newShort) : (newShort, newLong)
    }

    /// `resize_image` to exactly `height` × `width`. On the CPU, `uint8` goes through
    /// libtorch's native `uint8` kernels for every mode, which is torchvision's path on AVX2,
    /// AVX-512 and ARM CPUs (on x86 CPUs without AVX2 torchvision takes bilinear through
    /// float32 instead); elsewhere bilinear and bicubic run in float32, then round (and clamp).
    static func resize(_ image: Tensor, height: Int, width: Int, interpolation: Interpolation, antialias: Bool) -> Tensor {
        let shape = image.shape
        let (channels, oldHeight, oldWidth) = (shape[shape.count - 3], shape[shape.count - 2], shape[shape.count - 1])
        let outputShape = Array(shape.dropLast(3)) + [channels, height, width]
        if (height, width) == (oldHeight, oldWidth) { return image }
        guard image.count > 0 else { return image.reshape(outputShape) }
        let dtype = image.dtype
        let native = dtype == .float32 || dtype == .float64
            || (dtype == .uint8 && (interpolation == .nearest || image.device == .cpu))
        var x = image.reshape([-1, channels, oldHeight, oldWidth])
        if !native { x = x.to(.float32) }
        x = Functional.interpolate(x, size: (height, width), mode: interpolation.mode, alignCorners: false,
                                   antialias: antialias && interpolation != .nearest)
        if !native {
            if interpolation == .bicubic && dtype == .uint8 { x.clamp_(min: 0, max: 255) }
            if !dtype.isFloatingPoint { x = x.round() }
            x = x.to(dtype)
        }
        return x.reshape(outputShape)
    }

    /// `crop_image` for a box inside the image: a view.
    static func crop(_ image: Tensor, top: Int, left: Int, height: Int, width: Int) -> Tensor {
        image.slice(dim: -2, start: top, end: top + height).slice(dim: -1, start: left, end: left + width)
    }

    /// `center_crop_image`: pads with zeros (left/top getting the smaller half) where the image
    /// is smaller than the crop, then crops at the rounded center.
    static func centerCrop(_ image: Tensor, height cropHeight: Int, width cropWidth: Int) -> Tensor {
        var image = image
        var (height, width) = (image.size(-2), image.size(-1))
        if cropHeight > height || cropWidth > width {
            let padWidth = max(cropWidth - width, 0), padHeight = max(cropHeight - height, 0)
            image = Functional.pad(image, [padWidth / 2, (padWidth + 1) / 2, padHeight / 2, (padHeight + 1) / 2])
            (height, width) = (image.size(-2), image.size(-1))
            if (cropHeight, cropWidth) == (height, width) { return image }
        }
        let top = Int((Double(height - cropHeight) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(width - cropWidth) / 2).rounded(.toNearestOrEven))
        return crop(image, top: top, left: left, height: cropHeight, width: cropWidth)
    }

    /// `rotate_image` about the center, without expanding: `clone`/`rot90` for multiples of
    /// 90° where the shape allows, else an affine grid. `angle` is in degrees, counter-clockwise.
    static func rotate(_ image: Tensor, angle: Double, interpolation: Interpolation, fill: Double?) -> Tensor {
        var angle = angle.truncatingRemainder(dividingBy: 360)  // Python's `angle % 360`
        if angle < 0 { angle += 360 }
        if angle == 0 { return image.clone() }
        if angle == 180 { return image.flip([-2, -1]) }
        if image.size(-1) == image.size(-2) {
            if angle == 90 { return image.flip([-1]).transposed(-2, -1) }
            if angle == 270 { return image.flip([-2]).transposed(-2, -1) }
        }
        let matrix = inverseAffineMatrix(center: (0, 0), angle: -angle, translate: (0, 0), shear: (0, 0))
        return applyGridTransform(image, grid: affineGrid(matrix, like: image), interpolation: interpolation, fill: fill)
    }

    /// `affine_image` with scale 1 and no rotation: a translation (pixels) and a shear (degrees)
    /// about `center` (pixels from the top-left corner; nil for the image center).
    static func affine(
        _ image: Tensor, translate: (Double, Double), shear: (Double, Double), center: (Double, Double)?,
        interpolation: Interpolation, fill: Double?
    ) -> Tensor {
        let (height, width) = (Double(image.size(-2)), Double(image.size(-1)))
        let centered = center.map { ($0.0 - width * 0.5, $0.1 - height * 0.5) } ?? (0, 0)
        let matrix = inverseAffineMatrix(center: centered, angle: 0, translate: translate, shear: shear)
        return applyGridTransform(image, grid: affineGrid(matrix, like: image), interpolation: interpolation, fill: fill)
    }

    /// `_get_inverse_affine_matrix` (inverted, scale 1): the 2×3 matrix taking output pixels
    /// to input pixels, both relative to the image center.
    static func inverseAffineMatrix(
        center: (Double, Double), angle: Double, translate: (Double, Double), shear: (Double, Double)
    ) -> [Double] {
        let radians = Double.pi / 180  // as math.radians
        let rot = angle * radians, sx = shear.0 * radians, sy = shear.1 * radians
        let (cx, cy) = center
        let cosSy = cos(sy), tanSx = tan(sx), rotMinusSy = rot - sy
        let cxPlusTx = cx + translate.0, cyPlusTy = cy + translate.1
        let a = cos(rotMinusSy) / cosSy
        let b = -(a * tanSx + sin(rot))
        let c = sin(rotMinusSy) / cosSy
        let d = cos(rot) - c * tanSx
        var matrix = [d, -b, 0.0, -c, a, 0.0]
        matrix[2] += cx - matrix[0] * cxPlusTx - matrix[1] * cyPlusTy
        matrix[5] += cy - matrix[3] * cxPlusTx - matrix[4] * cyPlusTy
        return matrix
    }

    /// `_affine_grid` for an output the size of `image`: (1, H, W, 2) sampling locations in
    /// `grid_sample`'s normalized coordinates, float32 (or the image's float dtype).
    static func affineGrid(_ matrix: [Double], like image: Tensor) -> Tensor {
        let (height, width) = (image.size(-2), image.size(-1))
        let dtype = image.dtype.isFloatingPoint ? image.dtype : .float32, device = image.device
        let theta = Tensor(matrix, shape: [1, 2, 3]).to(device, dtype: dtype)
        let base = Tensor.empty([1, height, width, 3], dtype: dtype, device: device)
        let (w, h) = (Double(width), Double(height))
        base.select(dim: -1, index: 0).copy_(Tensor.linspace((1 - w) * 0.5, (w - 1) * 0.5, steps: width, device: device))
        base.select(dim: -1, index: 1)
            .copy_(Tensor.linspace((1 - h) * 0.5, (h - 1) * 0.5, steps: height, device: device).unsqueeze(-1))
        base.select(dim: -1, index: 2).fill_(1)
        let rescaled = theta.transposed(1, 2).div_(Tensor([0.5 * w, 0.5 * h]).to(device, dtype: dtype))
        return base.view([1, height * width, 3]).matmul(rescaled).view([1, height, width, 2])
    }

    /// `_apply_grid_transform`: `grid_sample` with zero padding in float; with a `fill`, a
    /// ones channel marks what came from inside the image and the rest becomes `fill`.
    /// Integer images are rounded back.
    static func applyGridTransform(_ image: Tensor, grid: Tensor, interpolation: Interpolation, fill: Double?) -> Tensor {
        let shape = image.shape
        let (channels, height, width) = (shape[shape.count - 3], shape[shape.count - 2], shape[shape.count - 1])
        let outputShape = Array(shape.dropLast(3)) + [channels, grid.size(1), grid.size(2)]
        guard image.count > 0 else { return image.reshape(outputShape) }
        var x = image.reshape([-1, channels, height, width])
        let batch = x.size(0)
        let isFloat = image.dtype == grid.dtype
        if !isFloat { x = x.to(grid.dtype) }
        if fill != nil {
            x = Tensor.cat([x, Tensor.ones([batch, 1, height, width], dtype: x.dtype, device: x.device)], dim: 1)
        }
        x = Functional.gridSample(x, grid: batch > 1 ? grid.expand([batch, -1, -1, -1]) : grid,
                                  mode: interpolation.mode, paddingMode: .zeros, alignCorners: false)
        if let fill {
            let sampled = x.slice(dim: -3, end: channels)
            let mask = x.slice(dim: -3, start: channels).expand(sampled.shape)
            let fillImage = Tensor([fill]).to(x.device, dtype: x.dtype).view([1, -1, 1, 1])
            x = interpolation == .nearest
                ? Tensor.where(mask .< 0.5, fillImage.expand(sampled.shape), sampled)
                : sampled.sub_(fillImage).mul_(mask).add_(fillImage)
        }
        return (isFloat ? x : x.round().to(image.dtype)).reshape(outputShape)
    }
}
