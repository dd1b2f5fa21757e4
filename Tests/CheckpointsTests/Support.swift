import Foundation
import Testing
@testable import Checkpoints

/// The committed fixtures, written by `Fixtures/make_fixtures.py`.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL {
        directory.appendingPathComponent(name)
    }

    /// One entry of `expected.json`: what `torch` reports for a tensor of the fixture state dict.
    struct Tensor: Decodable {
        let key: String
        let dtype: String
        let shape: [Int]
        let values: [Double]
    }

    /// `expected.json`, in state dict order.
    static func expected() throws -> [Tensor] {
        try JSONDecoder().decode([Tensor].self, from: Data(contentsOf: url("expected.json")))
    }

    /// Checks every tensor of `dict` against `expected.json`: same keys (in order when
    /// `ordered`), element types, shapes and values.
    static func expectMatchesTorch(_ dict: StateDict, ordered: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try expected()
        if ordered {
            #expect(dict.keys == expected.map(\.key), sourceLocation: sourceLocation)
        } else {
            #expect(Set(dict.keys) == Set(expected.map(\.key)), sourceLocation: sourceLocation)
        }
        for tensor in expected {
            let actual = try #require(dict[tensor.key], sourceLocation: sourceLocation)
            #expect(actual.elementType.rawValue == tensor.dtype, "\(tensor.key)", sourceLocation: sourceLocation)
            #expect(actual.shape == tensor.shape, "\(tensor.key)", sourceLocation: sourceLocation)
            #expect(actual.doubleValues() == tensor.values, "\(tensor.key)", sourceLocation: sourceLocation)
        }
    }
}

/// Runs `body` with a new temporary directory that is removed afterwards. With `exported`, when
/// `CHECKPOINTS_EXPORT_DIR` names a directory, that one instead, which is kept so that
/// `Fixtures/check_swift_written.py` can load the files written there.
func withScratchDirectory(exported: Bool = false, _ body: (URL) throws -> Void) throws {
    if exported, let kept = ProcessInfo.processInfo.environment["CHECKPOINTS_EXPORT_DIR"] {
        let url = URL(fileURLWithPath: kept)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return try body(url)
    }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoints-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    try body(url)
}

extension URL {
    /// Writes `bytes` to the file `name` in this directory and returns the file's URL.
    func file(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }
}

/// The tensor's elements in contiguous layout.
func contiguousBytes(_ tensor: TensorData) -> [UInt8] {
    tensor.withContiguousBytes { Array($0) }
}

/// Runs `body`, which must throw a ``CheckpointError``, and returns that error's description.
func checkpointErrorText(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> String {
    do {
        try body()
        Issue.record("expected a CheckpointError", sourceLocation: sourceLocation)
    } catch let error as CheckpointError {
        return error.description
    } catch {
        Issue.record("expected a CheckpointError, got \(error)", sourceLocation: sourceLocation)
    }
    return ""
}
