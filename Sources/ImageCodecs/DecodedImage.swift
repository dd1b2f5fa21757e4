/// A decoded image.
///
/// Layout: `height` rows of `width` pixels, each pixel `channels` samples (HWC, row-major,
/// rows packed with no padding). Sample `c` of pixel `(x, y)` starts at byte
/// `((y * width + x) * channels + c) * bitDepth / 8` of ``pixels``.
///
/// 8-bit samples are one byte each. 16-bit samples (only from 16-bit PNGs decoded with
/// ``DecodeOptions/keep16Bit``) are native-endian `UInt16` values stored as byte pairs, so
/// `pixels.count == width * height * channels * bitDepth / 8`; ``samples16`` copies them out
/// as `[UInt16]`.
public struct DecodedImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// 1 (grayscale) or 3 (RGB).
    public var channels: Int
    /// 8 or 16.
    public var bitDepth: Int
    /// The samples, HWC row-major; see the type's documentation.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, bitDepth: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = bitDepth
        self.pixels = pixels
    }

    /// The 16-bit samples in the same HWC order, or `nil` when `bitDepth` is 8.
    public var samples16: [UInt16]? {
        guard bitDepth == 16 else { return nil }
        return [UInt16](unsafeUninitializedCapacity: pixels.count / 2) { buffer, count in
            pixels.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            count = pixels.count / 2
        }
    }
}

/// How ``ImageDecoder`` turns a file into a ``DecodedImage``.
public struct DecodeOptions: Sendable {
    /// Channels of the result: 3 repeats gray into RGB; 1 gives luminance computed as Pillow's
    /// `convert("L")` does (`(19595 R + 38470 G + 7471 B + 32768) >> 16`); `nil` keeps gray as 1
    /// channel and color as 3. Alpha is always dropped (not composited) and CMYK is always
    /// converted to RGB first. Other values are a programming error.
    public var channels: Int?
    /// Largest `width * height` (as stored in the file, before any scaling) accepted; larger
    /// files throw ``ImageDecodeError/tooManyPixels(width:height:limit:)`` before any pixel
    /// memory is allocated. The default is Pillow's decompression-bomb error limit; 0 disables it.
    public var maxPixels: Int
    /// Rotates and flips the pixels as the EXIF orientation tag (JPEG APP1, PNG eXIf) says,
    /// like Pillow's `ImageOps.exif_transpose`.
    public var applyEXIFOrientation: Bool
    /// JPEG only: decode at the smallest libjpeg DCT scale (1/8, 1/4, 1/2) whose output is
    /// still at least this size in both dimensions, measured after EXIF orientation; `nil`
    /// decodes at full size. Ignored for PNG.
    public var minimumSize: (width: Int, height: Int)?
    /// PNG only: keep 16-bit samples (result `bitDepth` 16). When `false`, 16-bit samples keep
    /// their high byte, which is what Pillow's `convert("RGB")` gives for 16-bit RGB, RGBA and
    /// gray+alpha files (for 16-bit gray without alpha Pillow clips to 255 instead; this
    /// decoder keeps the high byte there too).
    public var keep16Bit: Bool

    public init(
        channels: Int? = 3,
        maxPixels: Int = 178_956_970,
        applyEXIFOrientation: Bool = true,
        minimumSize: (width: Int, height: Int)? = nil,
        keep16Bit: Bool = false
    ) {
        self.channels = channels
        self.maxPixels = maxPixels
        self.applyEXIFOrientation = applyEXIFOrientation
        self.minimumSize = minimumSize
        self.keep16Bit = keep16Bit
    }
}

/// A container format ``ImageDecoder`` reads, recognized by its magic bytes.
public enum ImageFormat: String, Sendable, Equatable {
    case jpeg = "JPEG"
    case png = "PNG"
}

/// The color model stored in a file, as `ImageDecoder.probe` reports it.
public enum ImageColorSpace: String, Sendable, Equatable {
    case grayscale
    case grayscaleAlpha = "grayscale+alpha"
    case rgb = "RGB"
    case rgba = "RGBA"
    case palette
    case yCbCr = "YCbCr"
    case cmyk = "CMYK"
    case ycck = "YCCK"
    case unknown
}

/// What a file holds, read from its headers without decoding pixels.
public struct ImageInfo: Sendable, Equatable {
    public var format: ImageFormat
    /// Size as stored, before EXIF orientation.
    public var width: Int
    public var height: Int
    /// Components stored per pixel, alpha included (a palette PNG has 1).
    public var channels: Int
    /// Bits per stored sample (JPEG 8 or 12; PNG 1, 2, 4, 8 or 16).
    public var bitDepth: Int
    public var colorSpace: ImageColorSpace
    /// Progressive JPEG or Adam7-interlaced PNG.
    public var interlaced: Bool
    /// EXIF orientation, 1...8; 1 when the file has none.
    public var orientation: Int

    public init(
        format: ImageFormat, width: Int, height: Int, channels: Int, bitDepth: Int,
        colorSpace: ImageColorSpace, interlaced: Bool, orientation: Int
    ) {
        self.format = format
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = bitDepth
        self.colorSpace = colorSpace
        self.interlaced = interlaced
        self.orientation = orientation
    }
}
