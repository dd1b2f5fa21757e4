import Foundation
import Testing
@testable import Checkpoints

@Suite struct SafeTensorsTests {
    @Test func fileFromPythonMatchesTorch() throws {
        let dict = try SafeTensors.read(Fixtures.url("tiny.safetensors"))
        try Fixtures.expectMatchesTorch(dict, ordered: false)
        #expect(dict.metadata == ["format": "pt"])
        // File order: the official writer's layout (widest types first, then by name).
        #expect(dict.keys.first == "1.num_batches_tracked")
        #expect(dict.keys.last == "extra.mask")
    }

    @Test func rewritingGivesTheOfficialWritersBytes() throws {
        try withScratchDirectory(exported: true) { directory in
            let original = Fixtures.url("tiny.safetensors")
            let url = directory.appendingPathComponent("swift_written.safetensors")
            try SafeTensors.write(SafeTensors.read(original), to: url)
            #expect(try Data(contentsOf: url) == Data(contentsOf: original))
        }
    }

    @Test func writesViewsContiguouslyAndReadsThemBack() throws {
        try withScratchDirectory(exported: true) { directory in
            let source = try TorchCheckpoint.read(Fixtures.url("tiny.pth"))
            var dict = source
            dict.metadata = ["note": "quote \" backslash \\ newline \n tab \t bell \u{07} é"]
            let url = directory.appendingPathComponent("swift_from_pth.safetensors")
            try SafeTensors.write(dict, to: url)

            let bytes = try [UInt8](Data(contentsOf: url))
            let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
            #expect(headerLength % 8 == 0)

            let written = try SafeTensors.read(url)
            #expect(written.metadata == dict.metadata)
            try Fixtures.expectMatchesTorch(written, ordered: false)
            for (key, tensor) in source.entries {
                let copy = try #require(written[key])
                #expect(copy.isContiguous)
                #expect(contiguousBytes(copy) == contiguousBytes(tensor), "\(key)")
            }
        }
    }

    @Test func writingReplacesAnExistingFile() throws {
        try withScratchDirectory { directory in
            let url = directory.appendingPathComponent("replaced.safetensors")
            try Data("old".utf8).write(to: url)
            let dict = StateDict(entries: [("x", try TensorData(elementType: .int16, shape: [2], bytes: [1, 0, 255, 255]))])
            try SafeTensors.write(dict, to: url)
            #expect(try SafeTensors.read(url)["x"]?.doubleValues() == [1, -1])
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
                .filter { $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty)
        }
    }
}
