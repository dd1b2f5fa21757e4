import Foundation

/// A NumPy `.npy` array (format 1.0, 2.0 and 3.0, as `numpy.save` writes them): its shape,
/// element type and samples in C order. Read by hand (the format is a magic, a Python dict
/// literal and the raw samples), with the same rules as the image decoders: the element
/// count is checked against a limit before any sample memory is allocated, every malformed
/// header is an error that says what is wrong, and nothing in a file reaches a trap.
public struct NPYArray: Sendable, Equatable {
    /// The element types Graft takes from arrays of images (`descr` without its byte order).
    public enum ElementType: String, Sendable, CaseIterable {
        case uint8 = "u1", uint16 = "u2", int16 = "i2", float32 = "f4", float64 = "f8"

        public var size: Int {
            switch self {
            case .uint8: 1
            case .uint16, .int16: 2
            case .float32: 4
            case .float64: 8
            }
        }
    }

    public var shape: [Int]
    public var elementType: ElementType
    /// The samples in C (row-major) order, little-endian: big-endian files are swapped and
    /// Fortran-order files transposed on reading.
    public var bytes: [UInt8]

    public var count: Int { shape.reduce(1, *) }

    /// The largest element count ``parse(_:maxElements:)`` accepts by default: Pillow's
    /// decompression-bomb pixel limit times 16 bands.
    public static let defaultMaxElements = 89_478_485 * 16

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Whether `bytes` begin as a `.npy` file does.
    public static func isNPY(_ bytes: some Collection<UInt8>) -> Bool { bytes.starts(with: magic) }

    public static func parse(_ data: Data, maxElements: Int = defaultMaxElements) throws(NPYError) -> NPYArray {
        do {
            return try data.withUnsafeBytes { raw in try parse(raw, maxElements: maxElements) }
        } catch let error as NPYError {
            throw error
        } catch {
            throw .badHeader("unreadable")  // withUnsafeBytes rethrows only NPYError
        }
    }

    public static func parse(_ raw: UnsafeRawBufferPointer, maxElements: Int = defaultMaxElements) throws(NPYError) -> NPYArray {
        guard !raw.isEmpty else { throw .empty }
        guard raw.count >= magic.count + 2 else {
            throw magic.starts(with: raw.prefix(magic.count)) ? .truncated(expected: magic.count + 4, got: raw.count) : .notNPY
        }
        guard raw.starts(with: magic) else { throw .notNPY }
        let major = Int(raw[6]), minor = Int(raw[7])
        let lengthBytes: Int
        switch major {
        case 1: lengthBytes = 2
        case 2, 3: lengthBytes = 4
        default: throw .unsupportedVersion(major: major, minor: minor)
        }
        let headerStart = 8 + lengthBytes
        guard raw.count >= headerStart else { throw .truncated(expected: headerStart, got: raw.count) }
        var headerLength = 0
        for i in (0..<lengthBytes).reversed() { headerLength = headerLength << 8 | Int(raw[8 + i]) }
        let dataStart = headerStart + headerLength
        guard raw.count >= dataStart else { throw .truncated(expected: dataStart, got: raw.count) }
        let headerBytes = Array(raw[headerStart..<dataStart])
        guard let header = String(bytes: headerBytes, encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw .badHeader("the header is not text")
        }
        var parser = HeaderParser(header)
        let fields = try parser.parseDict()
        guard case .string(let descr)? = fields["descr"] else {
            if fields["descr"] != nil { throw .unsupportedDType("a structured dtype") }
            throw .badHeader("no 'descr' key")
        }
        guard case .bool(let fortran)? = fields["fortran_order"] else { throw .badHeader("no 'fortran_order' key") }
        guard case .tuple(let shape)? = fields["shape"] else { throw .badHeader("no 'shape' key") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .badHeader("a negative dimension in shape \(shape)") }

        let order = descr.first.map(String.init) ?? ""
        let code = ["<", ">", "|", "="].contains(order) ? String(descr.dropFirst()) : descr
        guard let type = ElementType(rawValue: code) else { throw .unsupportedDType(descr) }
        let bigEndian = order == ">" && type.size > 1

        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .tooManyElements(shape: shape, limit: maxElements) }
            count = product
        }
        if maxElements > 0, count > maxElements { throw .tooManyElements(shape: shape, limit: maxElements) }
        let byteCount = count * type.size
        guard raw.count - dataStart >= byteCount else {
            throw .truncated(expected: dataStart + byteCount, got: raw.count)
        }
        var bytes = Array(raw[dataStart..<dataStart + byteCount])
        if bigEndian {
            let size = type.size
            for start in stride(from: 0, to: bytes.count, by: size) { bytes[start..<start + size].reverse() }
        }
        if fortran && shape.count > 1 { bytes = transposeFortran(bytes, shape: shape, size: type.size) }
        return NPYArray(shape: shape, elementType: type, bytes: bytes)
    }

    /// Column-major samples to row-major ones: the element at C index (i0, ..., in) sits at
    /// Fortran offset i0 + d0 (i1 + d1 (...)).
    static func transposeFortran(_ bytes: [UInt8], shape: [Int], size: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: bytes.count)
        var fortranStrides = [Int](repeating: 1, count: shape.count)
        for axis in 1..<shape.count { fortranStrides[axis] = fortranStrides[axis - 1] * shape[axis - 1] }
        var index = [Int](repeating: 0, count: shape.count)
        let count = shape.reduce(1, *)
        for c in 0..<count {
            var source = 0
            for axis in 0..<shape.count { source += index[axis] * fortranStrides[axis] }
            for b in 0..<size { out[c * size + b] = bytes[source * size + b] }
            var axis = shape.count - 1  // the next C index: the last axis moves fastest
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return out
    }

    /// The samples as `Float` (float64 rounded, integers exact up to 2²⁴), C order.
    public func floats() -> [Float] {
        bytes.withUnsafeBytes { raw -> [Float] in
            switch elementType {
            case .uint8: return raw.map(Float.init)
            case .uint16: return (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian) }
            case .int16: return (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self).littleEndian) }
            case .float32:
                return (0..<count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) }
            case .float64:
                return (0..<count).map {
                    Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self).littleEndian))
                }
            }
        }
    }
}

/// Why a `.npy` file could not be read; each message says what to do.
public enum NPYError: Error, Equatable, CustomStringConvertible {
    case empty
    case notNPY
    case unsupportedVersion(major: Int, minor: Int)
    case badHeader(String)
    case unsupportedDType(String)
    case truncated(expected: Int, got: Int)
    case tooManyElements(shape: [Int], limit: Int)

    public var description: String {
        switch self {
        case .empty:
            "empty file (0 bytes); re-create it with numpy.save or remove it"
        case .notNPY:
            "not a NumPy .npy file (no \\x93NUMPY magic); save the array with numpy.save"
        case .unsupportedVersion(let major, let minor):
            ".npy format version \(major).\(minor) is not one of 1.0, 2.0, 3.0; save it again with numpy.save"
        case .badHeader(let reason):
            "malformed .npy header (\(reason)); save the array again with numpy.save"
        case .unsupportedDType(let descr):
            "unsupported element type \(descr); save the array as uint8, uint16, int16, float32 or float64 "
                + "(array.astype(numpy.float32))"
        case .truncated(let expected, let got):
            "truncated .npy: \(got) bytes, the header promises \(expected); re-create the file"
        case .tooManyElements(let shape, let limit):
            "array of shape \(shape) has more than \(limit) elements, the limit that guards memory; "
                + "split it or raise the limit"
        }
    }
}

/// The Python literal of a `.npy` header: a dict of str keys to str, bool or tuple-of-int
/// values (`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`).
struct HeaderParser {
    enum Value: Equatable { case string(String), bool(Bool), tuple([Int]), other }

    let characters: [Character]
    var position = 0

    init(_ text: String) { characters = Array(text) }

    mutating func skipSpace() { while position < characters.count, characters[position].isWhitespace { position += 1 } }

    mutating func expect(_ c: Character) throws(NPYError) {
        skipSpace()
        guard position < characters.count, characters[position] == c else {
            throw .badHeader("expected '\(c)' at character \(position)")
        }
        position += 1
    }

    mutating func peek() -> Character? {
        skipSpace()
        return position < characters.count ? characters[position] : nil
    }

    mutating func parseString() throws(NPYError) -> String {
        skipSpace()
        guard position < characters.count, characters[position] == "'" || characters[position] == "\"" else {
            throw .badHeader("expected a string at character \(position)")
        }
        let quote = characters[position]
        position += 1
        var text = ""
        while position < characters.count, characters[position] != quote {
            text.append(characters[position])
            position += 1
        }
        guard position < characters.count else { throw .badHeader("an unterminated string") }
        position += 1
        return text
    }

    mutating func parseValue() throws(NPYError) -> Value {
        switch peek() {
        case "'", "\"":
            return .string(try parseString())
        case "(":
            position += 1
            var items: [Int] = []
            while true {
                if peek() == ")" { position += 1; return .tuple(items) }
                var digits = ""
                while position < characters.count, characters[position].isNumber || characters[position] == "L" {
                    if characters[position] != "L" { digits.append(characters[position]) }
                    position += 1
                }
                guard let value = Int(digits) else { throw .badHeader("a shape entry that is not an integer") }
                items.append(value)
                if peek() == "," { position += 1 }
            }
        case "T", "F":
            let rest = String(characters[position...].prefix(5))
            if rest.hasPrefix("True") { position += 4; return .bool(true) }
            if rest.hasPrefix("False") { position += 5; return .bool(false) }
            throw .badHeader("expected True or False at character \(position)")
        case "[", "{":
            // A structured dtype's list of fields (or a nested dict): skip it balanced.
            var depth = 0
            repeat {
                guard position < characters.count else { throw .badHeader("unbalanced brackets") }
                if "[{(".contains(characters[position]) { depth += 1 }
                if "]})".contains(characters[position]) { depth -= 1 }
                position += 1
            } while depth > 0
            return .other
        default:
            throw .badHeader("an unexpected value at character \(position)")
        }
    }

    mutating func parseDict() throws(NPYError) -> [String: Value] {
        try expect("{")
        var result: [String: Value] = [:]
        while true {
            if peek() == "}" { position += 1; return result }
            let key = try parseString()
            try expect(":")
            result[key] = try parseValue()
            if peek() == "," { position += 1 }
            if peek() == nil { throw .badHeader("the dict does not close") }
        }
    }
}
