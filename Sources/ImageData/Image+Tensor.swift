import Foundation
import ImageCodecs
import Torch

extension Tensor {
    /// The image as a CHW `uint8` tensor with its 1 or 3 channels, the layout
    /// `torchvision.io.decode_image` gives. A 16-bit image keeps each sample's high byte,
    /// as the decoder itself does without ``DecodeOptions/keep16Bit``.
    public convenience init(_ image: DecodedImage) {
        let samples = image.samples16.map { $0.map { UInt8($0 >> 8) } } ?? image.pixels
        self.init(sharing: Tensor(samples, shape: [image.height, image.width, image.channels]).permute([2, 0, 1]).contiguous())
    }
}

extension DecodedImage {
    /// An 8-bit image (HWC) from a CHW `uint8` tensor with 1 or 3 channels, on any device.
    public init(_ tensor: Tensor) {
        let shape = tensor.shape
        precondition(shape.count == 3 && [1, 3].contains(shape[0]) && tensor.dtype == .uint8,
                     "DecodedImage(_:): need a CHW uint8 tensor with 1 or 3 channels, got \(tensor)")
        self.init(width: shape[2], height: shape[1], channels: shape[0], bitDepth: 8,
                  pixels: tensor.permute([1, 2, 0]).toArray(UInt8.self))
    }
}

/// Decodes the JPEG or PNG file at `url` into a CHW `uint8` tensor: 3 channels by default,
/// or as ``DecodeOptions/channels`` says.
public func loadImage(_ url: URL, options: DecodeOptions = DecodeOptions()) throws(ImageDecodeError) -> Tensor {
    Tensor(try ImageDecoder.decode(contentsOf: url, options: options))
}

extension PNG {
    /// Encodes a CHW `uint8` image tensor with 1 (gray) or 3 (RGB) channels, on any device;
    /// gray is written as RGB.
    public static func encode(_ image: Tensor) throws(PNGError) -> Data {
        let shape = image.shape
        guard shape.count == 3, [1, 3].contains(shape[0]), image.dtype == .uint8 else {
            throw .notAnImage(shape: shape, dtype: "\(image.dtype)")
        }
        let rgb = shape[0] == 3 ? image : image.expand([3, shape[1], shape[2]])
        let pixels = rgb.to(.cpu).permute([1, 2, 0]).contiguous().toArray(UInt8.self)
        return try encode(rgb: pixels, width: shape[2], height: shape[1])
    }
}
