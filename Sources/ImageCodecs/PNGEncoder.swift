import CZlib
import Foundation

/// Why an image could not be encoded as PNG.
public enum PNGError: Error, Equatable, CustomStringConvertible {
    /// The pixel buffer does not hold `width × height` RGB pixels, or a side is 0.
    case badSize(width: Int, height: Int, bytes: Int)
    /// The tensor is not a CHW `uint8` image with 1 or 3 channels.
    case notAnImage(shape: [Int], dtype: String)
    /// zlib's `compress2` failed with this status.
    case compression(status: Int32)

    public var description: String {
        switch self {
        case .badSize(let width, let height, let bytes):
            "PNG: \(bytes) bytes are not a \(width)×\(height) RGB image (need \(width * height * 3), both sides ≥ 1)"
        case .notAnImage(let shape, let dtype):
            "PNG: need a CHW uint8 tensor with 1 or 3 channels, got shape \(shape) of \(dtype)"
        case .compression(let status): "PNG: zlib compress2 failed with status \(status)"
        }
    }
}

/// A minimal PNG encoder: 8-bit RGB, no interlacing, each row filtered with None or Sub
/// (whichever leaves smaller residuals), compressed with zlib.
public enum PNG {
    private static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The largest IDAT chunk written; the image data is split across several when larger.
    private static let maxChunk = 1 << 20

    /// Encodes `pixels` (`height` rows of `width` RGB triples, row-major) as a PNG file.
    public static func encode(rgb pixels: [UInt8], width: Int, height: Int) throws(PNGError) -> Data {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max),
              pixels.count == width * height * 3 else {
            throw .badSize(width: width, height: height, bytes: pixels.count)
        }
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]  // bit depth 8, color type RGB, deflate, adaptive filtering, no interlace
        let compressed = try deflate(filteredRows(pixels, width: width, height: height))
        var file = signature
        appendChunk("IHDR", header, to: &file)
        for start in stride(from: 0, to: max(compressed.count, 1), by: maxChunk) {
            appendChunk("IDAT", compressed[start..<min(start + maxChunk, compressed.count)], to: &file)
        }
        appendChunk("IEND", [], to: &file)
        return Data(file)
    }

    /// Each row prefixed with its filter type: Sub (1) when its residuals are smaller in
    /// absolute value than the raw bytes, else None (0) — the usual minimum-sum heuristic.
    static func filteredRows(_ pixels: [UInt8], width: Int, height: Int) -> [UInt8] {
        let rowBytes = width * 3
        var out: [UInt8] = []
        out.reserveCapacity(height * (rowBytes + 1))
        var sub = [UInt8](repeating: 0, count: rowBytes)
        for y in 0..<height {
            let row = pixels[y * rowBytes..<(y + 1) * rowBytes]
            let base = row.startIndex
            var rawCost = 0, subCost = 0
            for i in 0..<rowBytes {
                let value = row[base + i]
                sub[i] = i < 3 ? value : value &- row[base + i - 3]
                rawCost += Int(Int8(bitPattern: value).magnitude)
                subCost += Int(Int8(bitPattern: sub[i]).magnitude)
            }
            if subCost < rawCost {
                out.append(1)
                out += sub
            } else {
                out.append(0)
                out += row
            }
        }
        return out
    }

    /// zlib-compressed `bytes` (a zlib stream, as IDAT wants).
    static func deflate(_ bytes: [UInt8]) throws(PNGError) -> [UInt8] {
        var capacity = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))
        let status = out.withUnsafeMutableBufferPointer { destination in
            bytes.withUnsafeBufferPointer { source in
                compress2(destination.baseAddress, &capacity, source.baseAddress, uLong(source.count), 6)
            }
        }
        guard status == Z_OK else { throw .compression(status: status) }
        out.removeSubrange(Int(capacity)...)
        return out
    }

    /// Appends a chunk: length, type, data, and the CRC-32 of type and data.
    static func appendChunk(_ type: String, _ data: some Collection<UInt8>, to file: inout [UInt8]) {
        let body = Array(type.utf8) + data
        file.appendBigEndian(UInt32(data.count))
        file += body
        let crc = body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        file.appendBigEndian(UInt32(crc))
    }
}

fileprivate extension [UInt8] {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }
}
