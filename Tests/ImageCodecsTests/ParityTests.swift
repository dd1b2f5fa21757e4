import Foundation
import ImageCodecs
import Testing

/// Every fixture against Pillow's decode of the same file, all pixels.
@Suite struct ParityTests {
    @Test func manifestListsEveryKind() {
        let images = Fixtures.manifest.images
        #expect(images.filter { $0.kind == "jpeg" }.count == 9)
        #expect(images.filter { $0.kind == "png" }.count == 18)
        #expect(Fixtures.manifest.photos.count == 2)
    }

    @Test(arguments: Fixtures.manifest.images)
    func rgbMatchesPillow(_ fixture: Fixtures.Image) throws {
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url(fixture.file))
        #expect(image.width == fixture.width && image.height == fixture.height)
        #expect(image.channels == 3 && image.bitDepth == 8)
        let expected = try Fixtures.bytes(fixture.expected)
        #expect(maxAbsDifference(image.pixels, expected) == 0, "\(fixture.file): max abs difference to Pillow")
    }

    @Test(arguments: Fixtures.manifest.images.filter { $0.expectedGray != nil })
    func luminanceMatchesPillow(_ fixture: Fixtures.Image) throws {
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url(fixture.file), options: DecodeOptions(channels: 1))
        #expect(image.channels == 1)
        #expect(maxAbsDifference(image.pixels, try Fixtures.bytes(#require(fixture.expectedGray))) == 0)
    }

    @Test(arguments: Fixtures.manifest.images.filter { $0.expected16 != nil })
    func sixteenBitSamplesAreKept(_ fixture: Fixtures.Image) throws {
        let image = try ImageDecoder.decode(
            contentsOf: Fixtures.url(fixture.file), options: DecodeOptions(channels: nil, keep16Bit: true))
        #expect(image.bitDepth == 16 && image.channels == fixture.channels16)
        #expect(image.pixels.count == image.width * image.height * image.channels * 2)
        let raw = try Fixtures.bytes(#require(fixture.expected16))
        let expected = stride(from: 0, to: raw.count, by: 2).map { UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8 }
        #expect(try #require(image.samples16) == expected)
    }

    @Test(arguments: Fixtures.manifest.photos)
    func photoMatchesPillow(_ photo: Fixtures.Photo) throws {
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url(photo.file))
        #expect(image.width == photo.width && image.height == photo.height)
        #expect(fnv1a64(image.pixels) == photo.fnv1a64, "\(photo.file): pixels differ from Pillow's")
    }

    @Test func grayKeepsOneChannel() throws {
        let gray = try ImageDecoder.decode(contentsOf: Fixtures.url("jpeg_gray.jpg"), options: DecodeOptions(channels: nil))
        let rgb = try ImageDecoder.decode(contentsOf: Fixtures.url("jpeg_gray.jpg"))
        #expect(gray.channels == 1 && gray.pixels.count == 45 * 33)
        #expect(rgb.pixels == gray.pixels.flatMap { [$0, $0, $0] })
        let color = try ImageDecoder.decode(contentsOf: Fixtures.url("png_rgba8.png"), options: DecodeOptions(channels: nil))
        #expect(color.channels == 3)
    }

    @Test func orientationCanBeIgnored() throws {
        let options = DecodeOptions(applyEXIFOrientation: false)
        for name in ["jpeg_exif6.jpg", "jpeg_exif8.jpg", "png_exif6.png"] {
            let stored = try ImageDecoder.decode(contentsOf: Fixtures.url(name), options: options)
            let oriented = try ImageDecoder.decode(contentsOf: Fixtures.url(name))
            #expect(stored.width == oriented.height && stored.height == oriented.width)
        }
    }

    @Test func probeReportsHeaders() throws {
        func probe(_ name: String) throws -> ImageInfo { try ImageDecoder.probe(contentsOf: Fixtures.url(name)) }
        #expect(try probe("jpeg_baseline.jpg") == ImageInfo(
            format: .jpeg, width: 45, height: 33, channels: 3, bitDepth: 8, colorSpace: .yCbCr, interlaced: false, orientation: 1))
        #expect(try probe("jpeg_progressive.jpg").interlaced)
        #expect(try probe("jpeg_gray.jpg").colorSpace == .grayscale)
        let cmyk = try probe("jpeg_cmyk.jpg")
        #expect(cmyk.colorSpace == .cmyk && cmyk.channels == 4)
        let rotated = try probe("jpeg_exif6.jpg")
        #expect(rotated.orientation == 6 && rotated.width == 40 && rotated.height == 24)
        #expect(try probe("png_rgba16_interlaced.png") == ImageInfo(
            format: .png, width: 33, height: 21, channels: 4, bitDepth: 16, colorSpace: .rgba, interlaced: true, orientation: 1))
        #expect(try probe("png_palette4.png").colorSpace == .palette)
        #expect(try probe("png_graya8.png").colorSpace == .grayscaleAlpha)
        #expect(try probe("png_exif6.png").orientation == 6)
    }
}
