import Foundation
import Testing

/// The files made by Fixtures/make_fixtures.py and what Pillow decodes from them.
enum Fixtures {
    struct Image: Decodable, Sendable, CustomTestStringConvertible {
        let file: String
        let kind: String
        let width: Int
        let height: Int
        /// Raw HWC RGB, 8-bit.
        let expected: String
        /// Raw luminance (Pillow's convert("L")), when present.
        let expectedGray: String?
        /// Raw little-endian 16-bit samples, `channels16` per pixel, when present.
        let expected16: String?
        let channels16: Int?
        var testDescription: String { file }
    }

    struct Photo: Decodable, Sendable, CustomTestStringConvertible {
        let file: String
        let width: Int
        let height: Int
        /// FNV-1a 64 of Pillow's RGB bytes, hex.
        let fnv1a64: String
        var testDescription: String { file }
    }

    struct Manifest: Decodable {
        let images: [Image]
        let photos: [Photo]
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static let manifest: Manifest = {
        let url = folder.appendingPathComponent("fixtures.json")
        do {
            return try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url))
        } catch {
            Issue.record("cannot read \(url.path): \(error)")
            return Manifest(images: [], photos: [])
        }
    }()

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static func bytes(_ name: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: url(name))) }

    static func photo(_ name: String) throws -> Photo {
        try #require(manifest.photos.first { $0.file == name }, "no photo fixture \(name)")
    }
}

/// Largest absolute difference between two equally long sample arrays (Int.max if lengths differ).
func maxAbsDifference<T: BinaryInteger>(_ a: [T], _ b: [T]) -> Int {
    guard a.count == b.count else { return .max }
    return zip(a, b).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
}

func fnv1a64(_ bytes: [UInt8]) -> String {
    let hash = bytes.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

/// A fresh temporary folder, removed by the caller.
func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ImageCodecsTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
