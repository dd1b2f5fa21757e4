import Foundation
import ImageCodecs
import Testing

/// Broken, hostile and foreign files, written at run time: each throws the right error, with the
/// file's path, and nothing crashes.
@Suite struct BadFileTests {
    /// Writes `bytes` to a temporary file named `name`, decodes it and returns the error.
    private func decodeError(_ name: String, _ bytes: [UInt8], options: DecodeOptions = DecodeOptions()) throws -> ImageDecodeError {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        do {
            let image = try ImageDecoder.decode(contentsOf: url, options: options)
            Issue.record("\(name) decoded as \(image.width)×\(image.height)")
            return .empty
        } catch {
            #expect(error.path == url.path)
            #expect(error.description.hasPrefix(url.path + ": "))
            _ = try? ImageDecoder.probe(contentsOf: url)  // reads headers only; must not crash either
            return error
        }
    }

    @Test func emptyFile() throws {
        let error = try decodeError("empty.jpg", [])
        #expect(error.reason == .empty)
        #expect(error.description.contains("empty file (0 bytes)"))
    }

    @Test func missingFile() {
        let url = URL(fileURLWithPath: "/nonexistent/missing.png")
        #expect { try ImageDecoder.decode(contentsOf: url) } throws: { error in
            guard let error = error as? ImageDecodeError, case .unreadable = error.reason else { return false }
            return error.description.hasPrefix("/nonexistent/missing.png: cannot read the file")
        }
    }

    @Test func foreignFormatsNameWhatTheyAre() throws {
        let gif = try decodeError("image.jpg", Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0])
        #expect(gif.reason == .unsupportedFormat(magic: Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0]))
        #expect(gif.description.contains("not a JPEG or PNG file (starts with 47 49 46 38: GIF?); convert it"))
        let text = try decodeError("notes.jpg", Array("this is not an image\n".utf8))
        #expect(text.description.contains("(starts with 74 68 69 73: text?)"))
        let webp = try decodeError("x.png", Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8 ".utf8))
        #expect(webp.description.contains(": WebP?)"))
    }

    @Test func randomBytes() throws {
        var generator = SplitMix64(seed: 1)
        let bytes = [0] + (1..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        guard case .unsupportedFormat = try decodeError("noise.jpg", bytes).reason else {
            Issue.record("random bytes are not .unsupportedFormat")
            return
        }
    }

    /// Random bodies behind each magic: the libraries must reject them without crashing.
    @Test func randomBodiesBehindMagic() {
        var generator = SplitMix64(seed: 2)
        let magics: [[UInt8]] = [[0xFF, 0xD8, 0xFF], [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]]
        for magic in magics {
            for length in [0, 1, 7, 100, 3000] {
                for _ in 0..<20 {
                    let body = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    #expect(throws: ImageDecodeError.self) { try ImageDecoder.decode(Data(magic + body)) }
                }
            }
        }
    }

    /// Real files with random bytes overwritten: each either decodes or throws.
    @Test(arguments: ["jpeg_baseline.jpg", "jpeg_progressive.jpg", "jpeg_cmyk.jpg", "jpeg_exif6.jpg",
                      "png_rgba16_interlaced.png", "png_palette8_trns.png", "png_exif6.png"])
    func mutatedFilesNeverCrash(_ name: String) throws {
        let original = try Fixtures.bytes(name)
        var generator = SplitMix64(seed: 3)
        for _ in 0..<150 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: 4..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? ImageDecoder.probe(Data(bytes))
            _ = try? ImageDecoder.decode(Data(bytes), options: DecodeOptions(channels: nil, maxPixels: 1_000_000, minimumSize: (8, 8)))
        }
    }

    @Test(arguments: ["jpeg_baseline.jpg", "jpeg_progressive.jpg", "jpeg_cmyk.jpg", "photo500x375.jpg",
                      "png_rgb8.png", "png_rgba16_interlaced.png", "png_palette8_trns.png"])
    func truncatedAtEverySixteenth(_ name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let format: ImageFormat = name.hasSuffix(".jpg") ? .jpeg : .png
        // JPEG: even a missing EOI marker is truncation (as in Pillow); PNG: cut inside the IDAT CRC.
        let cuts = (1..<16).map { bytes.count * $0 / 16 } + (format == .jpeg ? [2, bytes.count - 2] : [4, bytes.count - 14])
        for cut in cuts {
            let error = try decodeError("cut\(cut)-\(name)", Array(bytes[..<cut]))
            #expect(error.reason == .truncated(format: format), "\(name) cut at \(cut) of \(bytes.count): \(error)")
        }
    }

    /// Like Pillow, a PNG whose image data is complete decodes without its IEND chunk.
    @Test func pngWithoutIENDDecodes() throws {
        let png = try Fixtures.bytes("png_rgb8.png")
        let full = try ImageDecoder.decode(Data(png))
        #expect(try ImageDecoder.decode(Data(png.dropLast(12))) == full)
    }

    @Test func corruptPNGChunks() throws {
        let png = try Fixtures.bytes("png_rgb8.png")
        let idat = try #require(chunkOffset(png, "IDAT"))
        var badCRC = png
        let length = png[idat..<idat + 4].reduce(0) { $0 << 8 | Int($1) }
        badCRC[idat + 8 + length] ^= 0x55  // the stored CRC
        let crcError = try decodeError("badcrc.png", badCRC)
        #expect(crcError.reason == .corrupt(format: .png, reason: "IDAT: CRC error"))
        #expect(crcError.description.contains("corrupt PNG data (IDAT: CRC error); re-export the image or remove it"))

        var badData = png  // zlib data broken, CRC recomputed so only zlib can tell
        for i in 2..<12 { badData[idat + 8 + i] = 0xFF }
        rewriteCRC(&badData, at: idat)
        guard case .corrupt(.png, _) = try decodeError("badzlib.png", badData).reason else {
            Issue.record("broken zlib data is not .corrupt")
            return
        }
    }

    @Test func corruptJPEGMarkers() throws {
        var jpeg = try Fixtures.bytes("jpeg_baseline.jpg")
        let dht = try #require((2..<jpeg.count - 21).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC4 })
        jpeg.replaceSubrange(dht + 5..<dht + 21, with: repeatElement(0xFF, count: 16))  // code counts
        let error = try decodeError("bad.jpg", jpeg)
        #expect(error.reason == .corrupt(format: .jpeg, reason: "Bogus Huffman table definition"))
        #expect(error.description.hasSuffix("bad.jpg: corrupt JPEG data (Bogus Huffman table definition); re-export the image or remove it"))
    }

    @Test func pngBombIsRejectedBeforeAllocating() throws {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        appendChunk(&png, "IHDR", bigEndian(100_000) + bigEndian(100_000) + [8, 2, 0, 0, 0])
        appendChunk(&png, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
        appendChunk(&png, "IEND", [])
        let error = try decodeError("bomb.png", png)
        #expect(error.reason == .tooManyPixels(width: 100_000, height: 100_000, limit: 178_956_970))
        #expect(error.description.contains("100000×100000 = 10000000000 pixels, over the limit of 178956970"))
        #expect(error.description.contains("raise DecodeOptions.maxPixels"))
        let info = try ImageDecoder.probe(Data(png))
        #expect(info.width == 100_000 && info.height == 100_000)
    }

    @Test func jpegBombAndCustomLimit() throws {
        var jpeg = try Fixtures.bytes("jpeg_baseline.jpg")
        let sof = try #require((2..<jpeg.count - 9).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange(sof + 5..<sof + 9, with: [0xFD, 0xE8, 0xFD, 0xE8])  // 65000 × 65000
        let error = try decodeError("bomb.jpg", jpeg)
        #expect(error.reason == .tooManyPixels(width: 65000, height: 65000, limit: 178_956_970))
        let small = try Fixtures.bytes("jpeg_baseline.jpg")
        #expect(throws: ImageDecodeError.tooManyPixels(width: 45, height: 33, limit: 1000)) {
            try ImageDecoder.decode(Data(small), options: DecodeOptions(maxPixels: 1000))
        }
        #expect(try ImageDecoder.decode(Data(small), options: DecodeOptions(maxPixels: 0)).width == 45)
    }

    // MARK: - PNG chunk helpers

    private func chunkOffset(_ png: [UInt8], _ type: String) -> Int? {
        var offset = 8
        while offset + 8 <= png.count {
            if png[offset + 4..<offset + 8].elementsEqual(type.utf8) { return offset }
            offset += 12 + png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        }
        return nil
    }

    private func rewriteCRC(_ png: inout [UInt8], at offset: Int) {
        let length = png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        let end = offset + 8 + length
        png.replaceSubrange(end..<end + 4, with: bigEndian(crc32(png[offset + 4..<end])))
    }

    private func appendChunk(_ png: inout [UInt8], _ type: String, _ body: [UInt8]) {
        let typed = Array(type.utf8) + body
        png += bigEndian(UInt32(body.count)) + typed + bigEndian(crc32(typed[...]))
    }

    private func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

    private func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc = ~UInt32(0)
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

/// A small seeded generator, so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
