import Foundation
import Testing
@testable import ImageCodecs

/// `.npy` arrays against numpy's own files and values (Fixtures/npy/make_npy_fixtures.py):
/// every element type Graft takes, both byte orders, Fortran order, format versions 1–3,
/// scalars and empty arrays; the dtypes it refuses; and malformed headers, short data and
/// oversized shapes as errors that say what to do, never a trap.
@Suite struct NPYTests {
    struct Expected: Decodable {
        let shape: [Int]
        let dtype: String
        let values: [Double]
    }
    struct Fixture: Decodable {
        let valid: [String: Expected]
        let refused: [String]
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/npy")
    static func fixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: folder.appendingPathComponent("npy.json")))
    }
    static func file(_ name: String) throws -> Data { try Data(contentsOf: folder.appendingPathComponent("\(name).npy")) }

    /// A version 1.0 file with `header` as its dict and `payload` after it.
    static func npy(_ header: String, payload: [UInt8] = [], major: UInt8 = 1) -> Data {
        var text = Array(header.utf8)
        while (10 + text.count + 1) % 64 != 0 { text.append(0x20) }
        text.append(0x0A)
        return Data(NPYArray.magic + [major, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + payload)
    }

    @Test func readsWhatNumpyWrites() throws {
        let fixture = try Self.fixture()
        #expect(fixture.valid.count == 14)
        for (name, expected) in fixture.valid.sorted(by: { $0.key < $1.key }) {
            let array = try NPYArray.parse(try Self.file(name))
            #expect(array.shape == expected.shape, "\(name): shape")
            #expect(array.elementType.rawValue == expected.dtype, "\(name): dtype")
            #expect(array.floats() == expected.values.map { Float($0) }, "\(name): values")
        }
    }

    @Test func refusesOtherDTypesByName() throws {
        for name in try Self.fixture().refused {
            #expect(throws: NPYError.self, "\(name)") { try NPYArray.parse(try Self.file(name)) }
            do {
                _ = try NPYArray.parse(try Self.file(name))
            } catch let error as NPYError {
                guard case .unsupportedDType = error else { Issue.record("\(name): \(error)"); continue }
                #expect(error.description.contains("float32"))
            }
        }
    }

    @Test func malformedFilesAreErrorsThatSayWhatToDo() throws {
        let good = try Self.file("u1_hwc")
        let cases: [(Data, (NPYError) -> Bool)] = [
            (Data(), { $0 == .empty }),
            (Data("hello world, not numpy".utf8), { $0 == .notNPY }),
            (good.prefix(7), { if case .truncated = $0 { true } else { false } }),
            (good.prefix(good.count - 1), { if case .truncated = $0 { true } else { false } }),
            (good.prefix(40), { if case .truncated = $0 { true } else { false } }),
            (Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", major: 9),
             { $0 == .unsupportedVersion(major: 9, minor: 0) }),
            (Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100), }"),
             { if case .tooManyElements = $0 { true } else { false } }),
            (Self.npy("{'descr': '<u1', 'fortran_order': False, 'shape': (4611686018427387904, 8), }"),
             { if case .tooManyElements = $0 { true } else { false } }),
            (Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, x), }"),
             { if case .badHeader = $0 { true } else { false } }),
            (Self.npy("{'descr': '<f4', 'shape': (3,), }"), { if case .badHeader = $0 { true } else { false } }),
            (Self.npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,), }"),
             { if case .badHeader = $0 { true } else { false } }),
            (Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,"), { if case .badHeader = $0 { true } else { false } }),
            (Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", payload: [0, 0, 128, 63]),
             { if case .truncated = $0 { true } else { false } }),
        ]
        for (index, (data, matches)) in cases.enumerated() {
            do {
                let array = try NPYArray.parse(data)
                Issue.record("case \(index) parsed as \(array.shape)")
            } catch {
                #expect(matches(error), "case \(index): \(error)")
                #expect(!error.description.isEmpty && !error.description.contains("\n"))
            }
        }
        // A header that is well formed parses: two float32 ones.
        let ones = try NPYArray.parse(Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                               payload: [0, 0, 128, 63, 0, 0, 128, 63]))
        #expect(ones.floats() == [1, 1])
        // The limit is checked before the samples are read, and 0 lifts it.
        #expect(throws: NPYError.self) { try NPYArray.parse(good, maxElements: 59) }
        #expect(try NPYArray.parse(good, maxElements: 0).count == 60)
    }

    /// Random corruptions of real files: each parses or throws NPYError, never traps.
    @Test func corruptedBytesNeverTrap() throws {
        var generator = SystemRandomNumberGenerator()
        for name in ["u1_hwc", "fortran_f4", "v3_f4", "be_u2"] {
            let original = [UInt8](try Self.file(name))
            for _ in 0..<400 {
                var bytes = original
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<min(bytes.count, 128), using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                if Bool.random(using: &generator) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator))) }
                do { _ = try NPYArray.parse(Data(bytes)) } catch { #expect(!error.description.isEmpty) }
            }
        }
    }
}
