import Foundation
import Testing
@testable import Checkpoints

@Suite struct TorchCheckpointTests {
    @Test func zipCheckpointMatchesTorch() throws {
        try Fixtures.expectMatchesTorch(TorchCheckpoint.read(Fixtures.url("tiny.pth")))
    }

    @Test func legacyCheckpointMatchesTorch() throws {
        try Fixtures.expectMatchesTorch(TorchCheckpoint.read(Fixtures.url("tiny_legacy.pth")))
    }

    @Test(arguments: ["tiny.pth", "tiny_legacy.pth"])
    func viewsKeepTheirStridesAndOffsets(file: String) throws {
        let dict = try TorchCheckpoint.read(Fixtures.url(file))
        let transposed = try #require(dict["extra.transposed"])
        #expect(transposed.shape == [4, 5])
        #expect(transposed.strides == [1, 4])
        #expect(!transposed.isContiguous)
        // The transposed view gathers the Linear weight column by column.
        let weight = try #require(dict["5.weight"]).doubleValues()
        #expect(transposed.doubleValues() == (0..<4).flatMap { column in (0..<5).map { weight[$0 * 4 + column] } })

        let shared = try #require(dict["extra.shared_b"])
        #expect(shared.storageOffset == 4)
        #expect(shared.isContiguous)
        #expect(try #require(dict["extra.scalar"]).shape == [])
        #expect(try #require(dict["1.num_batches_tracked"]).doubleValues() == [12_345_678_901])
    }

    @Test func trainingCheckpointKeepsItsValues() throws {
        let url = Fixtures.url("checkpoint.pth")
        let object = try TorchCheckpoint.readObject(url)
        #expect(object.description == "{'epoch': 7, 'best_acc1': 0.625, 'arch': 'tiny', 'big': 1099511627776, 'neg': -5, "
            + "'model_state_dict': {'fc.weight': tensor(float32, [2, 3]), 'fc.bias': tensor(float32, [2])}, "
            + "'optimizer': {'lr': 0.1, 'betas': (0.9, 0.999), 'nesterov': True, 'milestones': [30, 60], 'scheduler': None}}")
        guard case .int(7)? = object["epoch"], case .float(0.1)? = object["optimizer"]?["lr"] else {
            Issue.record("epoch or lr missing")
            return
        }
        let dict = try TorchCheckpoint.read(url)
        #expect(dict.keys == ["fc.weight", "fc.bias"])
        #expect(try #require(dict["fc.weight"]).doubleValues() == [0, 1, 2, 3, 4, 5])
        #expect(try #require(dict["fc.bias"]).doubleValues() == [0.5, -0.5])
    }

    @Test func writtenCheckpointReadsBackWithIdenticalBytes() throws {
        try withScratchDirectory(exported: true) { directory in
            let source = try TorchCheckpoint.read(Fixtures.url("tiny.pth"))
            let url = directory.appendingPathComponent("swift_written.pth")
            try TorchCheckpoint.write(source, to: url)

            let written = try TorchCheckpoint.read(url)
            #expect(written.keys == source.keys)
            for (key, tensor) in source.entries {
                let copy = try #require(written[key])
                #expect(copy.elementType == tensor.elementType, "\(key)")
                #expect(copy.shape == tensor.shape, "\(key)")
                #expect(copy.isContiguous, "\(key)")
                #expect(contiguousBytes(copy) == contiguousBytes(tensor), "\(key)")
            }
            try Fixtures.expectMatchesTorch(written)

            // The layout torch writes: these entries, data aligned to 64 bytes.
            let zip = try ZipArchive(ByteBuffer.map(url))
            #expect(zip.entries.map(\.name)
                == ["archive/data.pkl", "archive/byteorder"] + source.keys.indices.map { "archive/data/\($0)" } + ["archive/version"])
            #expect(zip.entries.allSatisfy { $0.dataRange.lowerBound % 64 == 0 && $0.method == 0 })
            #expect(try String(decoding: zip.buffer.bytes(zip.data(#require(zip.entry(named: "archive/version")))), as: UTF8.self) == "3\n")
        }
    }

    @Test func zip64RecordsReadBack() throws {
        try withScratchDirectory(exported: true) { directory in
            let source = try TorchCheckpoint.read(Fixtures.url("tiny.pth"))
            let url = directory.appendingPathComponent("swift_written_zip64.pth")
            // Every size and offset takes the zip64 path.
            try TorchCheckpoint.write(source, to: url, zip64Threshold: 0)
            let bytes = try [UInt8](Data(contentsOf: url))
            #expect(bytes.indices.contains { bytes[$0...].starts(with: [0x50, 0x4B, 0x06, 0x06]) })
            let written = try TorchCheckpoint.read(url)
            #expect(written.keys == source.keys)
            for (key, tensor) in source.entries {
                #expect(try contiguousBytes(#require(written[key])) == contiguousBytes(tensor), "\(key)")
            }
        }
    }

    @Test func writesEveryElementTypeFromMemory() throws {
        try withScratchDirectory(exported: true) { directory in
            var dict = StateDict()
            for (i, type) in ElementType.allCases.enumerated() {
                let bytes = (0..<(6 * type.byteSize)).map { UInt8(truncatingIfNeeded: $0 * 37 + i) }
                dict["t.\(type)"] = try TensorData(elementType: type, shape: [2, 3], bytes: bytes)
            }
            dict["empty"] = try TensorData(elementType: .float32, shape: [0, 3], bytes: [])
            dict["large.count"] = try TensorData(elementType: .uint8, shape: [70_000], bytes: [UInt8](repeating: 7, count: 70_000))
            let url = directory.appendingPathComponent("swift_all_types.pth")
            try TorchCheckpoint.write(dict, to: url)
            let written = try TorchCheckpoint.read(url)
            #expect(written.keys == dict.keys)
            for (key, tensor) in dict.entries {
                let copy = try #require(written[key])
                #expect(copy.elementType == tensor.elementType && copy.shape == tensor.shape, "\(key)")
                #expect(contiguousBytes(copy) == contiguousBytes(tensor), "\(key)")
            }
        }
    }

    @Test func checkpointFileDetectsEachFormat() throws {
        for name in ["tiny.pth", "tiny_legacy.pth"] {
            try Fixtures.expectMatchesTorch(CheckpointFile.read(Fixtures.url(name)))
        }
        let safetensors = try CheckpointFile.read(Fixtures.url("tiny.safetensors"))
        try Fixtures.expectMatchesTorch(safetensors, ordered: false)
        #expect(safetensors.metadata == ["format": "pt"])
    }

    @Test func crcMatchesTheStandardCheckValue() {
        let data = Array("123456789".utf8) + Array("123456789".utf8)
        #expect(data.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[..<9])) } == 0xCBF4_3926)
        #expect(data.withUnsafeBytes { CRC32.checksum($0) } == 0x4B83_7AE4)
    }
}
