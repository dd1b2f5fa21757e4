import CImageShim
import CJPEG
import Foundation

/// Decodes JPEG and PNG files with the system's libjpeg-turbo and libpng.
///
/// The format comes from the magic bytes, never the file name. Full-size JPEG decoding uses
/// the ISLOW IDCT and fancy upsampling, the defaults of Pillow and `torchvision.io.decode_jpeg`;
/// against Pillow 13 (libjpeg-turbo 3.2) every test fixture decodes bit for bit the same,
/// including CMYK. PNG decoding is exact.
/// Every function is safe on arbitrary bytes and may be called from any thread.
public enum ImageDecoder {
    /// Decodes an image into a ``DecodedImage`` (HWC, row-major).
    public static func decode(_ data: Data, options: DecodeOptions = DecodeOptions()) throws(ImageDecodeError) -> DecodedImage {
        try data.withUnsafeBytes { bytes in
            Result { () throws(ImageDecodeError) in try decode(bytes, options: options) }
        }.get()
    }

    /// Decodes an image into a ``DecodedImage`` (HWC, row-major).
    public static func decode(_ bytes: UnsafeRawBufferPointer, options: DecodeOptions = DecodeOptions()) throws(ImageDecodeError) -> DecodedImage {
        precondition([nil, 1, 3].contains(options.channels), "DecodeOptions.channels must be 1, 3 or nil")
        let format = try detectFormat(bytes)
        let header = try call(format, bytes, parameter: parameter(format, keep16Bit: options.keep16Bit))
        let width = Int(header.width), height = Int(header.height)
        if options.maxPixels > 0, width * height > options.maxPixels {
            throw .tooManyPixels(width: width, height: height, limit: options.maxPixels)
        }
        if format == .jpeg, ![1, 3, 4].contains(header.channels) {
            throw .corrupt(format: .jpeg, reason: "Unsupported \(header.components)-component color space")
        }
        let orientation = options.applyEXIFOrientation ? EXIF.orientation(format, bytes) : 1
        let denominator = format == .jpeg
            ? jpegScaleDenominator((width, height), orientation: orientation, minimumSize: options.minimumSize) : 1
        let size = (width: ceilDivide(width, denominator), height: ceilDivide(height, denominator))
        let decodeParameter = parameter(format, denominator: denominator, keep16Bit: options.keep16Bit)
        let channels = Int(header.channels), bitDepth = Int(header.bytes_per_sample) * 8
        let byteCount = size.width * size.height * channels * bitDepth / 8
        var info = GraftImageInfo(), status = GRAFT_IMAGE_CORRUPT
        let pixels = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, count in
            let out = UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[..<byteCount]))
            status = call(format, bytes, parameter: decodeParameter, out: out, &info)
            count = status == GRAFT_IMAGE_OK ? byteCount : 0
        }
        try check(status, info, format)
        guard Int(info.width) == size.width, Int(info.height) == size.height else {
            throw .corrupt(format: format, reason: "decoded \(info.width)×\(info.height), expected \(size.width)×\(size.height)")
        }
        var image = DecodedImage(width: size.width, height: size.height, channels: channels, bitDepth: bitDepth, pixels: pixels)
        if channels == 4 { image = image.cmykToRGB() }
        return image.converted(toChannels: options.channels ?? image.channels).oriented(orientation)
    }

    /// Reads and decodes the file at `url`; errors carry its path (``ImageDecodeError/file(path:_:)``).
    public static func decode(contentsOf url: URL, options: DecodeOptions = DecodeOptions()) throws(ImageDecodeError) -> DecodedImage {
        let data = try read(url)
        do { return try decode(data, options: options) } catch { throw .file(path: url.path, error) }
    }

    /// Reads an image's headers (no pixels) for `graft doctor`: format, stored size, stored
    /// channels and bit depth, color space, interlacing and EXIF orientation.
    public static func probe(_ data: Data) throws(ImageDecodeError) -> ImageInfo {
        try data.withUnsafeBytes { bytes in
            Result { () throws(ImageDecodeError) in try probe(bytes) }
        }.get()
    }

    /// Reads an image's headers (no pixels); see the `Data` overload.
    public static func probe(_ bytes: UnsafeRawBufferPointer) throws(ImageDecodeError) -> ImageInfo {
        let format = try detectFormat(bytes)
        let header = try call(format, bytes, parameter: parameter(format))
        return ImageInfo(
            format: format, width: Int(header.width), height: Int(header.height),
            channels: Int(header.components), bitDepth: Int(header.bit_depth),
            colorSpace: colorSpace(format, header.color_space), interlaced: header.interlaced != 0,
            orientation: EXIF.orientation(format, bytes))
    }

    /// Reads the headers of the file at `url`; errors carry its path.
    public static func probe(contentsOf url: URL) throws(ImageDecodeError) -> ImageInfo {
        let data = try read(url)
        do { return try probe(data) } catch { throw .file(path: url.path, error) }
    }

    // MARK: - Internals

    private static let jpegMagic: [UInt8] = [0xFF, 0xD8, 0xFF]
    private static let pngMagic: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The format from the magic bytes; a file shorter than a magic that it begins is truncated.
    static func detectFormat(_ bytes: UnsafeRawBufferPointer) throws(ImageDecodeError) -> ImageFormat {
        guard !bytes.isEmpty else { throw .empty }
        for (format, magic) in [(ImageFormat.jpeg, jpegMagic), (.png, pngMagic)] {
            if bytes.starts(with: magic) { return format }
            if bytes.count < magic.count, magic.starts(with: bytes) { throw .truncated(format: format) }
        }
        throw .unsupportedFormat(magic: Array(bytes.prefix(12)))
    }

    /// The shim's `parameter`: the JPEG scale denominator or the PNG keep-16-bit flag.
    private static func parameter(_ format: ImageFormat, denominator: Int = 1, keep16Bit: Bool = false) -> Int32 {
        format == .jpeg ? Int32(denominator) : keep16Bit ? 1 : 0
    }

    /// Calls the shim; with `out` nil it reads the headers only.
    private static func call(
        _ format: ImageFormat, _ bytes: UnsafeRawBufferPointer, parameter: Int32,
        out: UnsafeMutableRawBufferPointer?, _ info: inout GraftImageInfo
    ) -> GraftImageStatus {
        let read = format == .jpeg ? graft_jpeg_read : graft_png_read
        return read(bytes.baseAddress, bytes.count, parameter, out?.baseAddress, out?.count ?? 0, &info)
    }

    /// Reads the headers only.
    private static func call(_ format: ImageFormat, _ bytes: UnsafeRawBufferPointer, parameter: Int32) throws(ImageDecodeError) -> GraftImageInfo {
        var info = GraftImageInfo()
        let status = call(format, bytes, parameter: parameter, out: nil, &info)
        try check(status, info, format)
        return info
    }

    private static func check(_ status: GraftImageStatus, _ info: GraftImageInfo, _ format: ImageFormat) throws(ImageDecodeError) {
        switch status {
        case GRAFT_IMAGE_OK: return
        case GRAFT_IMAGE_TRUNCATED: throw .truncated(format: format)
        default:
            let message = withUnsafeBytes(of: info.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw .corrupt(format: format, reason: message)
        }
    }

    /// The smallest of 8, 4, 2 whose output still covers `minimumSize` (given after orientation), else 1.
    static func jpegScaleDenominator(
        _ size: (width: Int, height: Int), orientation: Int, minimumSize: (width: Int, height: Int)?
    ) -> Int {
        guard let minimumSize else { return 1 }
        let needed = orientation >= 5 ? (minimumSize.height, minimumSize.width) : (minimumSize.width, minimumSize.height)
        return [8, 4, 2].first { ceilDivide(size.width, $0) >= needed.0 && ceilDivide(size.height, $0) >= needed.1 } ?? 1
    }

    private static func ceilDivide(_ value: Int, _ divisor: Int) -> Int { (value + divisor - 1) / divisor }

    private static func colorSpace(_ format: ImageFormat, _ code: Int32) -> ImageColorSpace {
        switch format {
        case .jpeg:
            switch J_COLOR_SPACE(UInt32(bitPattern: code)) {
            case JCS_GRAYSCALE: .grayscale
            case JCS_RGB: .rgb
            case JCS_YCbCr: .yCbCr
            case JCS_CMYK: .cmyk
            case JCS_YCCK: .ycck
            default: .unknown
            }
        case .png:  // IHDR color type
            switch code {
            case 0: .grayscale
            case 2: .rgb
            case 3: .palette
            case 4: .grayscaleAlpha
            case 6: .rgba
            default: .unknown
            }
        }
    }

    /// Reads through FileHandle: Data(contentsOf:) leaks a 4 KiB buffer on empty files
    /// (swift-foundation, Swift 6.3).
    private static func read(_ url: URL) throws(ImageDecodeError) -> Data {
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            return try handle.readToEnd() ?? Data()
        } catch {
            throw .file(path: url.path, .unreadable(reason: error.localizedDescription))
        }
    }
}
