/// Finds the EXIF orientation tag (0x0112) without any library: in the first APP1 "Exif"
/// segment before a JPEG's first scan, or in a PNG's eXIf chunk. Malformed or missing data
/// reads as 1 (no change), as in Pillow.
enum EXIF {
    static func orientation(_ format: ImageFormat, _ bytes: UnsafeRawBufferPointer) -> Int {
        switch format {
        case .jpeg: jpegOrientation(bytes)
        case .png: pngOrientation(bytes)
        }
    }

    private static let exifHeader: [UInt8] = Array("Exif\0\0".utf8)

    static func jpegOrientation(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 2  // after SOI
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            if marker == 0xFF { offset += 1; continue }  // fill byte
            if marker == 0xDA || marker == 0xD9 { break }  // start of scan, end of image
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { break }
            let segment = UnsafeRawBufferPointer(rebasing: bytes[offset + 4..<offset + 2 + length])
            if marker == 0xE1, segment.starts(with: exifHeader) {
                return tiffOrientation(UnsafeRawBufferPointer(rebasing: segment.dropFirst(6)))
            }
            offset += 2 + length
        }
        return 1
    }

    static func pngOrientation(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 8  // after the signature
        while offset + 12 <= bytes.count {
            let length = Int(bigEndian32(bytes, offset))
            guard length <= bytes.count - offset - 12 else { break }
            let type = bytes[offset + 4..<offset + 8]
            if type.elementsEqual("IEND".utf8) { break }
            if type.elementsEqual("eXIf".utf8) {
                var tiff = UnsafeRawBufferPointer(rebasing: bytes[offset + 8..<offset + 8 + length])
                if tiff.starts(with: exifHeader) { tiff = UnsafeRawBufferPointer(rebasing: tiff.dropFirst(6)) }
                return tiffOrientation(tiff)
            }
            offset += 12 + length
        }
        return 1
    }

    /// Reads the orientation from a TIFF structure ("II*\0" or "MM\0*", then IFD0).
    static func tiffOrientation(_ tiff: UnsafeRawBufferPointer) -> Int {
        guard tiff.count >= 8 else { return 1 }
        let little: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return 1
        }
        func read(_ offset: Int, _ size: Int) -> Int {
            let bytes = (0..<size).map { Int(tiff[offset + $0]) }
            return (little ? bytes.reversed() : bytes).reduce(0) { $0 << 8 | $1 }
        }
        guard read(2, 2) == 42 else { return 1 }
        let directory = read(4, 4)
        guard directory >= 8, directory <= tiff.count - 2 else { return 1 }
        for entry in 0..<read(directory, 2) {
            let start = directory + 2 + 12 * entry
            guard start + 12 <= tiff.count else { break }
            guard read(start, 2) == 0x0112 else { continue }
            let value: Int
            switch read(start + 2, 2) {
            case 3: value = read(start + 8, 2)  // SHORT
            case 4: value = read(start + 8, 4)  // LONG
            default: value = 1
            }
            return (1...8).contains(value) ? value : 1
        }
        return 1
    }

    private static func bigEndian32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 << 8 | UInt32(bytes[offset + $1]) }
    }
}
