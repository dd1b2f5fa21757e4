import Foundation
import Testing
@testable import Checkpoints

/// A safetensors file with `header` (padded to 8 bytes) and `data`.
private func safetensors(_ header: String, data: [UInt8] = []) -> [UInt8] {
    var json = Array(header.utf8)
    json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
    return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + data
}

@Suite struct SafeTensorsErrorTests {
    @Test func badHeadersNameTheFileAndKey() throws {
        try withScratchDirectory { directory in
            let cases: [(bytes: [UInt8], mentions: [String])] = [
                (safetensors("{not json"), ["not valid JSON"]),
                (safetensors("[1, 2]"), ["not a JSON object"]),
                (safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 8)),
                 ["'w'", "[0, 16]", "outside the 8-byte data buffer"]),
                (safetensors(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
                 ["'w'", "span 8 bytes", "needs 12"]),
                (safetensors(#"{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, data: [0]),
                 ["'w'", "F8_E4M3", "not supported"]),
                (safetensors(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#), ["'w'", "shape"]),
            (safetensors(#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}"#), ["'w'", "shape"]),
            (safetensors(#"{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,0]}}"#), ["'w'", "shape"]),
                (safetensors(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]), ["'w'", "[4, 0]"]),
                (safetensors(#"{"w":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]), ["'w'", "data_offsets"]),
                (safetensors(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#),
                 ["'w'", "more than Int.max"]),
                (safetensors(#"{"__metadata__":{"n":1}}"#), ["'__metadata__'", "strings"]),
                ([0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0x7B, 0x7D], ["truncated", "header length is 65535"]),
                ([8, 0, 0], ["truncated", "header length"]),
            ]
            for (i, (bytes, mentions)) in cases.enumerated() {
                let url = try directory.file("bad\(i).safetensors", bytes)
                let text = checkpointErrorText { _ = try SafeTensors.read(url) }
                #expect(text.contains(url.path), "case \(i): \(text)")
                for mention in mentions {
                    #expect(text.contains(mention), "case \(i): \(text)")
                }
            }
        }
    }

    @Test func everyTruncationThrows() throws {
        try withScratchDirectory { directory in
            let bytes = try [UInt8](Data(contentsOf: Fixtures.url("tiny.safetensors")))
            for length in stride(from: 0, to: bytes.count, by: 7) {
                let url = try directory.file("cut\(length).safetensors", Array(bytes[..<length]))
                let text = checkpointErrorText { _ = try SafeTensors.read(url) }
                #expect(text.contains(url.path))
            }
            let url = try directory.file("cut-last.safetensors", Array(bytes.dropLast()))
            #expect(checkpointErrorText { _ = try SafeTensors.read(url) }.contains("'extra.mask'"))
        }
    }
}

@Suite struct TorchCheckpointErrorTests {
    @Test func forbiddenGlobalIsNamedAndNeverResolved() throws {
        let url = Fixtures.url("forbidden.pth")
        let text = checkpointErrorText { _ = try TorchCheckpoint.read(url) }
        #expect(text.contains("'os.system'") && text.contains(url.path), "\(text)")

        // STACK_GLOBAL (protocol 4) is checked the same way.
        let stackGlobal: [UInt8] = [0x80, 4, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93, 0x2E]
        #expect(checkpointErrorText { _ = try unpickle(stackGlobal) }.contains("'builtins.eval'"))
        // So are torch names outside the allow-list.
        let torchLoad: [UInt8] = [0x80, 2, 0x63] + Array("torch\nload\n".utf8) + [0x2E]
        #expect(checkpointErrorText { _ = try unpickle(torchLoad) }.contains("'torch.load'"))
    }

    @Test func compressedEntryIsRefused() throws {
        let url = Fixtures.url("compressed.pth")
        let text = checkpointErrorText { _ = try TorchCheckpoint.read(url) }
        #expect(text.contains("compressed") && text.contains(url.path) && text.contains("tiny/"), "\(text)")
    }

    @Test func missingStorageEntryNamesTheTensor() throws {
        try withScratchDirectory { directory in
            let complete = directory.appendingPathComponent("complete.pth")
            let dict = StateDict(entries: [
                ("a", try TensorData(elementType: .float32, shape: [1], bytes: [0, 0, 0x80, 0x3F])),
                ("b", try TensorData(elementType: .float32, shape: [1], bytes: [0, 0, 0, 0x40])),
            ])
            try TorchCheckpoint.write(dict, to: complete)
            #expect(try TorchCheckpoint.read(complete)["b"]?.doubleValues() == [2])

            // The same archive without archive/data/1.
            let zip = try ZipArchive(ByteBuffer.map(complete))
            let incomplete = directory.appendingPathComponent("incomplete.pth")
            try writeAtomically(to: incomplete) { sink in
                var writer = ZipWriter()
                for entry in zip.entries where entry.name != "archive/data/1" {
                    try writer.add(entry.name, zip.buffer.bytes(zip.data(entry)), to: &sink)
                }
                try writer.finish(&sink)
            }
            let text = checkpointErrorText { _ = try TorchCheckpoint.read(incomplete) }
            #expect(text.contains(incomplete.path) && text.contains("'b'") && text.contains("'archive/data/1' is missing"), "\(text)")
        }
    }

    @Test(arguments: ["tiny.pth", "tiny_legacy.pth", "checkpoint.pth"])
    func everyTruncationThrows(file: String) throws {
        try withScratchDirectory { directory in
            let bytes = try [UInt8](Data(contentsOf: Fixtures.url(file)))
            for length in stride(from: 0, to: bytes.count, by: 13) {
                let url = try directory.file("cut\(length)-\(file)", Array(bytes[..<length]))
                let text = checkpointErrorText { _ = try CheckpointFile.read(url) }
                #expect(text.contains(url.path), "\(length): \(text)")
            }
        }
    }

    /// Random byte flips may give an error or, when they hit tensor data, different values;
    /// they must never crash or hang.
    @Test(arguments: ["tiny.pth", "tiny_legacy.pth", "tiny.safetensors"])
    func corruptedBytesNeverCrash(file: String) throws {
        try withScratchDirectory { directory in
            let original = try [UInt8](Data(contentsOf: Fixtures.url(file)))
            var generator = SplitMix(seed: 0x5EED)
            for round in 0..<150 {
                var bytes = original
                for _ in 0..<4 {
                    let position = Int(generator.next() % UInt64(min(bytes.count, 2048)))
                    bytes[position] = UInt8(truncatingIfNeeded: generator.next())
                }
                let url = try directory.file("flip\(round)-\(file)", bytes)
                if let dict = try? CheckpointFile.read(url) {
                    for (_, tensor) in dict.entries { _ = tensor.doubleValues() }
                }
                try FileManager.default.removeItem(at: url)
            }
        }
    }

    @Test func unreadableInputsNameTheFile() throws {
        try withScratchDirectory { directory in
            let missing = URL(fileURLWithPath: "/nonexistent/weights.pth")
            #expect(checkpointErrorText { _ = try CheckpointFile.read(missing) }.contains("open failed for '/nonexistent/weights.pth'"))
            let garbage = try directory.file("garbage.bin", Array("hello, this is not a checkpoint".utf8))
            #expect(checkpointErrorText { _ = try CheckpointFile.read(garbage) }.contains("not recognised"))
            let safetensors = Fixtures.url("tiny.safetensors")
            #expect(checkpointErrorText { _ = try TorchCheckpoint.read(safetensors) }.contains("CheckpointFile.read"))
            let empty = try directory.file("empty.pth", [])
            #expect(checkpointErrorText { _ = try TorchCheckpoint.read(empty) }.contains("empty"))
        }
    }

    @Test func checkpointWithoutTensorsListsItsKeys() throws {
        try withScratchDirectory { directory in
            // torch.save({'epoch': 1}) in the legacy format, but with no storages.
            var bytes = TorchCheckpoint.legacyMagic
            bytes += [0x80, 2, 0x4D, 0xE9, 0x03, 0x2E] // 1001
            bytes += [0x80, 2, 0x7D, 0x2E] // {}
            bytes += [0x80, 2, 0x7D, 0x58, 5, 0, 0, 0] + Array("epoch".utf8) + [0x4B, 1, 0x73, 0x2E] // {'epoch': 1}
            bytes += [0x80, 2, 0x5D, 0x2E] // []
            let url = try directory.file("no-tensors.pth", bytes)
            #expect(try TorchCheckpoint.readObject(url).description == "{'epoch': 1}")
            let text = checkpointErrorText { _ = try TorchCheckpoint.read(url) }
            #expect(text.contains("keys 'epoch'") && text.contains(url.path), "\(text)")
        }
    }
}

/// A small deterministic random number generator (SplitMix64).
struct SplitMix: RandomNumberGenerator {
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
