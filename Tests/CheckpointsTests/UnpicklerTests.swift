import Foundation
import Testing
@testable import Checkpoints

/// Unpickles `bytes` as a checkpoint's object; tensors are not resolvable here.
func unpickle(_ bytes: [UInt8]) throws -> PickleValue {
    let buffer = ByteBuffer(copying: bytes)
    var unpickler = Unpickler(buffer, range: 0..<buffer.count)
    let object = try unpickler.load()
    var converter = PickleConverter(file: buffer.name, heap: unpickler.heap, budget: 1_000_000) { _, key in
        throw CheckpointError.malformed(file: buffer.name, key: key, detail: "no storages here")
    }
    return try converter.convert(object)
}

@Suite struct UnpicklerTests {
    @Test func readsTheScalarOpcodes() throws {
        var bytes: [UInt8] = [0x80, 2, 0x28] // PROTO 2, MARK
        bytes += [0x4A, 0xFE, 0xFF, 0xFF, 0xFF] // BININT -2
        bytes += [0x8A, 3, 0x00, 0x80, 0x00, 0x8A, 2, 0x00, 0x80] // LONG1 32768, LONG1 -32768
        bytes += [0x8A, 1, 0xFF] // LONG1 -1
        bytes += [0x8A, 0] // LONG1 0
        bytes += [0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0] // BINFLOAT 1.5
        bytes += [0x55, 2] + Array("py".utf8) // SHORT_BINSTRING
        bytes += [0x54, 1, 0, 0, 0, 0xE9] // BINSTRING, Latin-1 é
        bytes += [0x43, 2, 1, 2] // SHORT_BINBYTES
        bytes += [0x42, 1, 0, 0, 0, 3] // BINBYTES
        bytes += [0x8C, 3] + Array("abc".utf8) + [0x94] // SHORT_BINUNICODE, MEMOIZE
        bytes += [0x68, 0] // BINGET 0
        bytes += [0x88, 0x4E, 0x74, 0x2E] // NEWTRUE, NONE, TUPLE, STOP
        let text = try unpickle(bytes).description
        #expect(text == "(-2, 32768, -32768, -1, 0, 1.5, 'py', 'é', <2 bytes>, <1 bytes>, 'abc', 'abc', True, None)")
    }

    @Test func sharedDictIsSeenFilledThroughTheMemo() throws {
        // d = {}; [d, d] with d filled after it was memoized: EMPTY_DICT BINPUT 0 ... SETITEM, then BINGET 0.
        let bytes: [UInt8] = [0x80, 2, 0x5D, 0x71, 1, 0x7D, 0x71, 0, 0x58, 1, 0, 0, 0, 0x6B, 0x4B, 5, 0x73, 0x61, 0x68, 0, 0x61, 0x2E]
        #expect(try unpickle(bytes).description == "[{'k': 5}, {'k': 5}]")
    }

    @Test func cyclesAndExpansionBombsThrow() throws {
        // l = []; l.append(l)
        let cycle: [UInt8] = [0x80, 2, 0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E]
        #expect(checkpointErrorText { _ = try unpickle(cycle) }.contains("cycle"))
        // l0 = []; l(i) = [l(i-1), l(i-1)] for 40 levels: 2^40 values once expanded.
        var bomb: [UInt8] = [0x80, 2, 0x5D, 0x71, 0]
        for level in 1..<40 {
            bomb += [0x5D, 0x28, 0x68, UInt8(level - 1), 0x68, UInt8(level - 1), 0x65, 0x71, UInt8(level)]
        }
        bomb.append(0x2E)
        #expect(checkpointErrorText { _ = try unpickle(bomb) }.contains("too many values"))
    }

    @Test func malformedPicklesThrow() {
        let cases: [([UInt8], String)] = [
            ([0x80, 2, 0x2E], "stack underflow"),
            ([0x80, 2, 0x74, 0x2E], "no MARK"),
            ([0x80, 2, 0x68, 9, 0x2E], "memo entry 9"),
            ([0x80, 2, 0x4B, 1, 0x4B, 2, 0x73, 0x2E], "stack underflow"),
            ([0x80, 2, 0x7D, 0x4B, 1, 0x61, 0x2E], "APPEND on something other than a list"),
            ([0x80, 2, 0x4B, 1, 0x29, 0x52, 0x2E], "not a global"),
            ([0x80, 2, 0x8A, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x2E], "64 bits"),
            ([0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0x7F], "truncated"),
            ([0x80, 2, 0x58, 2, 0, 0, 0, 0xC3, 0x28, 0x2E], "invalid UTF-8"),
            ([0x80, 2, 0x4B, 1, 0x51, 0x2E], "persistent id"),
            ([0x80, 2, 0x69, 0x2E], "opcode 0x69 is not supported"),
            ([0x80, 2, 0x4E], "truncated"),
            // Dict keys Python cannot hash: {[]: 1}, {([],): 1}, {((([]),),): 1}, and d[d] = 1 through the memo.
            ([0x80, 2, 0x7D, 0x5D, 0x4B, 1, 0x73, 0x2E], "a dict key is a list, which Python cannot hash"),
            ([0x80, 2, 0x7D, 0x5D, 0x85, 0x4B, 1, 0x73, 0x2E], "a dict key is a tuple that holds a list or a dict"),
            ([0x80, 2, 0x7D, 0x28, 0x5D, 0x85, 0x85, 0x4B, 1, 0x75, 0x2E], "a tuple that holds a list or a dict"),
            ([0x80, 2, 0x7D, 0x71, 0, 0x68, 0, 0x4B, 1, 0x73, 0x2E], "a dict key is a dict"),
        ]
        for (bytes, mention) in cases {
            let text = checkpointErrorText { _ = try unpickle(bytes) }
            #expect(text.contains(mention) && text.contains("<memory>"), "\(bytes): \(text)")
        }
    }
}
