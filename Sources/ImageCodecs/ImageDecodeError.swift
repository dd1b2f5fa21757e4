/// Why a file could not be decoded. Every message says what is wrong and what to do.
public enum ImageDecodeError: Error, Equatable, CustomStringConvertible {
    /// The data has no bytes.
    case empty
    /// Neither JPEG nor PNG; `magic` holds the first bytes (at most 12).
    case unsupportedFormat(magic: [UInt8])
    /// libjpeg or libpng rejected the data; `reason` is the library's message.
    case corrupt(format: ImageFormat, reason: String)
    /// The data ends before the image does. For JPEG this includes a file that is complete
    /// except for its end-of-image marker, and libjpeg's "premature end of data" warning, which
    /// would otherwise pad the image with gray: Pillow raises for both as well.
    case truncated(format: ImageFormat)
    /// `width * height` is over `limit` (``DecodeOptions/maxPixels``).
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// The file could not be read.
    case unreadable(reason: String)
    /// One of the other errors, for the file at `path`.
    indirect case file(path: String, ImageDecodeError)

    /// The error without the file it happened in.
    public var reason: ImageDecodeError {
        if case .file(_, let error) = self { return error.reason }
        return self
    }

    /// The file the error happened in, when decoding from a URL.
    public var path: String? {
        if case .file(let path, _) = self { return path }
        return nil
    }

    public var description: String {
        switch self {
        case .empty:
            return "empty file (0 bytes); re-download it or remove it"
        case .unsupportedFormat(let magic):
            let hex = magic.prefix(4).map { String($0, radix: 16, uppercase: true).leftPadded(2) }
            let guess = Self.guessFormat(magic).map { ": \($0)?" } ?? ""
            return "not a JPEG or PNG file (starts with \(hex.joined(separator: " "))\(guess)); "
                + "convert it to JPEG or PNG or remove it"
        case .corrupt(let format, let reason) where reason.hasPrefix("Unsupported"):
            return "unsupported \(format.rawValue) variant (\(reason)); convert it to an 8-bit JPEG or PNG"
        case .corrupt(let format, let reason):
            return "corrupt \(format.rawValue) data (\(reason)); re-export the image or remove it"
        case .truncated(let format):
            return "truncated \(format.rawValue): the data ends before the image does; "
                + "re-download or re-export it, or remove it"
        case .tooManyPixels(let width, let height, let limit):
            return "image is \(width)×\(height) = \(width * height) pixels, over the limit of \(limit) "
                + "that guards against decompression bombs; if the file is trusted, raise "
                + "DecodeOptions.maxPixels (0 disables the check)"
        case .unreadable(let reason):
            return "cannot read the file (\(reason)); check the path and its permissions"
        case .file(let path, let error):
            return "\(path): \(error)"
        }
    }

    /// Names the format that `magic` (a file's first bytes) most likely belongs to.
    static func guessFormat(_ magic: [UInt8]) -> String? {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            magic.count >= offset + prefix.count && Array(magic[offset..<offset + prefix.count]) == prefix
        }
        let ascii = { (text: String) in Array(text.utf8) }
        switch true {
        case starts(ascii("GIF8")): return "GIF"
        case starts(ascii("RIFF")) && starts(ascii("WEBP"), at: 8): return "WebP"
        case starts(ascii("BM")): return "BMP"
        case starts([0x49, 0x49, 0x2A, 0x00]), starts([0x4D, 0x4D, 0x00, 0x2A]): return "TIFF"
        case starts(ascii("ftypavif"), at: 4): return "AVIF"
        case starts(ascii("ftyp"), at: 4): return "HEIC"
        case starts([0xFF, 0x0A]), starts([0, 0, 0, 0x0C, 0x4A, 0x58, 0x4C, 0x20]): return "JPEG XL"
        case starts(ascii("8BPS")): return "Photoshop"
        case starts(ascii("%PDF")): return "PDF"
        case starts([0x50, 0x4B, 0x03, 0x04]): return "ZIP"
        case starts([0x1F, 0x8B]): return "gzip"
        case starts([0, 0, 1, 0]): return "ICO"
        case magic.allSatisfy({ (0x20...0x7E).contains($0) || [0x09, 0x0A, 0x0D].contains($0) }): return "text"
        default: return nil
        }
    }
}

extension String {
    fileprivate func leftPadded(_ length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
