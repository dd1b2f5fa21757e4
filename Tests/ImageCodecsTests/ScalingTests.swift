import Foundation
import ImageCodecs
import Testing

/// libjpeg DCT-domain scaling through `DecodeOptions.minimumSize`.
@Suite struct ScalingTests {
    private func decode(_ name: String, minimumSize: (width: Int, height: Int)?) throws -> DecodedImage {
        try ImageDecoder.decode(contentsOf: Fixtures.url(name), options: DecodeOptions(minimumSize: minimumSize))
    }

    @Test func picksTheSmallestScaleThatStillCovers() throws {
        for (minimum, expected) in [((100, 100), (160, 120)), ((224, 224), (320, 240)), ((80, 60), (80, 60)),
                                    ((81, 60), (160, 120)), ((321, 10), (640, 480)), ((1000, 1000), (640, 480))] {
            let image = try decode("scene640x480.jpg", minimumSize: minimum)
            #expect(image.width == expected.0 && image.height == expected.1, "minimumSize \(minimum)")
        }
    }

    /// Sizes are compared after EXIF orientation: jpeg_exif6 is stored 40×24 and shown 24×40.
    @Test func minimumSizeIsMeasuredAfterOrientation() throws {
        let half = try decode("jpeg_exif6.jpg", minimumSize: (12, 20))
        #expect(half.width == 12 && half.height == 20)
        let full = try decode("jpeg_exif6.jpg", minimumSize: (20, 12))
        #expect(full.width == 24 && full.height == 40)
        let png = try decode("png_rgb8.png", minimumSize: (1, 1))
        #expect(png.width == 33 && png.height == 21)
    }

    /// 1/4 scale against a full decode averaged over 4×4 blocks. Measured: mean abs 0.45,
    /// 99th percentile 5, max 30; the large differences sit on the scene's sharp saturated
    /// color edges. The bounds leave a little room above those numbers.
    @Test func quarterScaleIsCloseToAreaDownscale() throws {
        let full = try decode("scene640x480.jpg", minimumSize: nil)
        let quarter = try decode("scene640x480.jpg", minimumSize: (100, 100))
        #expect(quarter.width == 160 && quarter.height == 120)
        var area = [UInt8](repeating: 0, count: 160 * 120 * 3)
        for y in 0..<120 {
            for x in 0..<160 {
                for c in 0..<3 {
                    var sum = 0
                    for dy in 0..<4 { for dx in 0..<4 { sum += Int(full.pixels[((4 * y + dy) * 640 + 4 * x + dx) * 3 + c]) } }
                    area[(y * 160 + x) * 3 + c] = UInt8((sum + 8) / 16)
                }
            }
        }
        let differences = zip(quarter.pixels, area).map { abs(Int($0) - Int($1)) }
        let mean = Double(differences.reduce(0, +)) / Double(differences.count)
        let p99 = differences.sorted()[differences.count * 99 / 100]
        print("1/4 DCT scale vs 4×4 area average: mean abs \(mean), 99th percentile \(p99), max abs \(differences.max() ?? 0)")
        #expect(mean < 0.6)
        #expect(p99 <= 6)
        #expect(differences.max() ?? 0 <= 36)
    }

    /// Not asserted: prints decode time, full size and scaled to cover 224×224. The 500×375
    /// photo cannot be scaled (375 / 2 < 224), so the 640×480 scene is timed too.
    @Test(arguments: ["photo500x375.jpg", "scene640x480.jpg"])
    func throughput(_ name: String) throws {
        let data = try Data(contentsOf: Fixtures.url(name))
        let runs = 50
        for minimum in [nil, (width: 224, height: 224)] as [(width: Int, height: Int)?] {
            let options = DecodeOptions(minimumSize: minimum)
            var last = try ImageDecoder.decode(data, options: options)
            let elapsed = try ContinuousClock().measure {
                for _ in 0..<runs { last = try ImageDecoder.decode(data, options: options) }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let milliseconds = seconds * 1000 / Double(runs)
            print("throughput: \(name) → \(last.width)×\(last.height): \(milliseconds) ms per decode")
        }
    }
}
