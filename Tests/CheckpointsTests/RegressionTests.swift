import Foundation
import Testing
@testable import Checkpoints

/// Hostile checkpoints found by fuzzing and by hand; `Fixtures/regressions/README.md` says what
/// each one does. Every one must be refused with a short one-line ``CheckpointError``, with no
/// stack overflow while describing or destroying a deep value.
///
/// The `leak-*` files put a dict or list into itself. The unpickler's lists and dicts are
/// indices into arrays it owns (``PickleHeap``), not objects, so such a pickle cannot form a
/// reference cycle; `scripts/fuzz.sh --ci` runs every file here under LeakSanitizer as well.
@Suite struct RegressionTests {
    static let directory = Fixtures.directory.appendingPathComponent("regressions")

    static let files: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0 != "README.md" }.sorted()
    }()

    @Test func everyRegressionFileIsPresent() {
        // 9 crash-*, 6 fork-crash-*, 3 leak-*, 4 nested ones named by what they hold.
        #expect(Self.files.count == 22, "\(Self.files)")
    }

    @Test(arguments: files)
    func isRefusedWithOneShortLine(file: String) throws {
        let url = Self.directory.appendingPathComponent(file)
        let text = checkpointErrorText { _ = try CheckpointFile.read(url) }
        #expect(text.contains(url.path), "\(text.prefix(600))")
        #expect(!text.contains("\n") && !text.contains("\r"), "\(text.prefix(600))")
        #expect(text.count < 500, "\(text.count) characters: \(text.prefix(600))")
    }

    /// A failed read keeps nothing alive: the bytes it read are freed once it has thrown.
    @Test(arguments: files)
    func failedReadReleasesTheBytes(file: String) throws {
        weak var released: ByteBuffer?
        try {
            let buffer = ByteBuffer(copying: try Data(contentsOf: Self.directory.appendingPathComponent(file)))
            released = buffer
            #expect(throws: CheckpointError.self) { try CheckpointFile.read(buffer) }
        }()
        #expect(released == nil)
    }

    @Test func deepValuesAreDescribedByTheirTypeOnly() throws {
        // A legacy file whose protocol version is ((((...)))) 10,000 deep.
        var bytes = TorchCheckpoint.legacyMagic + [0x80, 2]
        bytes += [UInt8](repeating: 0x28, count: 10_000) + [0x29] + [UInt8](repeating: 0x74, count: 10_000) + [0x2E]
        let text = checkpointErrorText { _ = try CheckpointFile.read(data: Data(bytes), name: "deep.pth") }
        #expect(text == "'deep.pth' is malformed: the legacy protocol version is a tuple, not an int. "
            + "The file is corrupt or not a checkpoint; re-create it with torch.save or safetensors.")
    }

    @Test func namesFromTheFileAreExcerpted() {
        #expect(excerpt("conv1.weight") == "conv1.weight")
        #expect(excerpt("a\nb\r\u{1B}\u{2028}c") == "a\\nb\\r\\u{1B}\\u{2028}c")
        #expect(excerpt(String(repeating: "x", count: 1000), limit: 5) == "xxxxx…")
        #expect(excerpt([2, 3]) == "[2, 3]")
        #expect(excerpt(Array(1...100), limit: 3) == "[1, 2, 3, … (100 in all)]")
        let keys = (0..<1000).map { "key\($0)" + String(repeating: "z", count: 1000) }
        let text = CheckpointError.noStateDict(file: "f.pth", topLevelKeys: keys).description
        #expect(text.count < 800 && text.contains("(1000 in all)"), "\(text)")
    }
}
