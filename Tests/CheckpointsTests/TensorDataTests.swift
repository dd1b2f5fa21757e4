import Foundation
import Testing
@testable import Checkpoints

@Suite struct TensorDataTests {
    @Test func halfPrecisionConversionIsExact() throws {
        let bits: [UInt16] = [0x0001, 0x03FF, 0x0400, 0x3C00, 0xC000, 0x7BFF, 0x7C00, 0xFC00, 0x8000]
        let tensor = try TensorData(
            elementType: .float16, shape: [bits.count], bytes: bits.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        let values = tensor.doubleValues()
        #expect(values == [0x1p-24, 1023 * 0x1p-24, 0x1p-14, 1, -2, 65504, .infinity, -.infinity, 0])
        #expect(values.last?.sign == .minus)
    }

    @Test func viewsAreCheckedAgainstTheirStorage() throws {
        let buffer = ByteBuffer(copying: [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]) // 1.0, 2.0
        func view(_ shape: [Int], _ strides: [Int], offset: Int = 0) throws -> TensorData {
            try TensorData(
                elementType: .float32, shape: shape, strides: strides, storageOffset: offset,
                buffer: buffer, storageRange: 0..<8, key: "w")
        }
        let repeated = try view([2, 3], [1, 0])
        #expect(!repeated.isContiguous && repeated.doubleValues() == [1, 1, 1, 2, 2, 2])
        #expect(try view([1], [1], offset: 1).doubleValues() == [2])
        #expect(checkpointErrorText { _ = try view([3], [1]) }.contains("reaches element 2"))
        #expect(checkpointErrorText { _ = try view([1], [1], offset: 2) }.contains("'w'"))
        #expect(checkpointErrorText { _ = try view([1 << 40], [0]) }.contains("too large"))
        #expect(checkpointErrorText { _ = try view([2], [-1], offset: 1) }.contains("negative"))
    }

    @Test func bytesMustFitTheShape() {
        let text = checkpointErrorText { _ = try TensorData(elementType: .float32, shape: [2, 2], bytes: [0, 0, 0]) }
        #expect(text.contains("3 bytes") && text.contains("[2, 2]"))
    }

    @Test func stateDictSubscriptKeepsOrder() throws {
        let one = try TensorData(elementType: .uint8, shape: [1], bytes: [1])
        let two = try TensorData(elementType: .uint8, shape: [1], bytes: [2])
        var dict = StateDict()
        dict["a"] = one
        dict["b"] = two
        dict["a"] = two
        #expect(dict.keys == ["a", "b"])
        #expect(dict["a"]?.doubleValues() == [2])
        dict["a"] = nil
        #expect(dict.keys == ["b"] && dict["a"] == nil && dict.count == 1)

        dict.entries.append(("b", one))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("never-written.pth")
        #expect(checkpointErrorText { try TorchCheckpoint.write(dict, to: url) }.contains("'b' appears more than once"))
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }
}
