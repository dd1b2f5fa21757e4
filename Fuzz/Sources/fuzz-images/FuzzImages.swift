import Foundation
import ImageCodecs

/// One libFuzzer input: probes it and decodes it as an image file. Errors are expected;
/// crashes, leaks and hangs are findings. Images that decode are decoded again the other
/// ways the data pipeline asks for (gray, 16-bit, JPEG DCT scaling).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    _ = try? ImageDecoder.probe(bytes)
    // A smaller pixel limit than the default (Pillow's) keeps each run fast; the limit's own
    // check is the same code.
    let limit = 1 << 22
    guard let image = try? ImageDecoder.decode(bytes, options: DecodeOptions(maxPixels: limit)) else { return 0 }
    _ = try? ImageDecoder.decode(bytes, options: DecodeOptions(channels: 1, maxPixels: limit, applyEXIFOrientation: false))
    _ = try? ImageDecoder.decode(bytes, options: DecodeOptions(channels: nil, maxPixels: limit, keep16Bit: true))
    _ = try? ImageDecoder.decode(
        bytes, options: DecodeOptions(maxPixels: limit, minimumSize: (max(image.width / 5, 1), max(image.height / 5, 1))))
    return 0
}
