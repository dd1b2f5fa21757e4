import CZlib
import Foundation
import Torch

/// Gray images and labels in IDX files, the format of MNIST and Fashion-MNIST, either
/// gzip-compressed (`.gz`, recognized by content) or not.
///
/// An IDX file is a big-endian header, `00 00 08 n` (unsigned bytes, `n` dimensions), then
/// `n` 32-bit sizes, then the values row-major. Images are `(count, rows, columns)`,
/// labels `(count)`. Both files are read whole into memory when the dataset is made.
public struct IDXDataset: Dataset {
    /// Fashion-MNIST's class names, in label order.
    public static let fashionMNISTClasses = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    public let imagesFile: URL
    public let labelsFile: URL
    public let classes: [String]
    public let labels: [Int]
    /// Image height and width.
    public let rows: Int
    public let columns: Int
    /// Channels of ``image(at:)``: 1, or 3 (the gray plane repeated).
    public let channels: Int
    private let pixels: [UInt8]

    /// Reads and checks both files.
    ///
    /// - Parameters:
    ///   - classes: class names in label order; default `"0"`…`"9"` (through the largest
    ///     label if one is larger). Use ``fashionMNISTClasses`` for Fashion-MNIST.
    ///   - channels: 1, or 3 to repeat the gray plane.
    /// - Throws: ``DatasetError`` naming the file: unreadable, not IDX (bad magic number or
    ///   element type), wrong number of dimensions, a size that disagrees with the file's
    ///   length, image and label counts that differ, a label outside `classes`.
    public init(images: URL, labels: URL, classes: [String]? = nil, channels: Int = 3) throws(DatasetError) {
        precondition(channels == 1 || channels == 3, "IDXDataset: channels must be 1 or 3")
        let (imageSizes, pixels) = try readIDX(images, dimensions: 3, what: "images (count, rows, columns)")
        let (labelSizes, labelBytes) = try readIDX(labels, dimensions: 1, what: "labels (count)")
        guard imageSizes[0] == labelSizes[0] else {
            throw DatasetError(path: labels.path, reason: "holds \(labelSizes[0]) labels but \(images.path) holds "
                + "\(imageSizes[0]) images; pair the images file with its own labels file")
        }
        let values = labelBytes.map(Int.init)
        let classes = classes ?? (0...max(9, values.max() ?? 0)).map(String.init)
        if let (index, label) = values.enumerated().first(where: { $0.element >= classes.count }) {
            throw DatasetError(path: labels.path, reason: "label \(label) of sample \(index) is outside the "
                + "\(classes.count) classes; pass the dataset's class names")
        }
        imagesFile = images
        labelsFile = labels
        self.classes = classes
        self.labels = values
        rows = imageSizes[1]
        columns = imageSizes[2]
        self.channels = channels
        self.pixels = pixels
    }

    /// Sample `index` as a `channels`×rows×columns `uint8` tensor.
    public func image(at index: Int) throws -> Tensor {
        let size = rows * columns
        let plane = Tensor(Array(pixels[index * size..<(index + 1) * size]), shape: [1, rows, columns])
        return channels == 1 ? plane : plane.expand([channels, rows, columns]).contiguous()
    }

    /// `"images-file#index"`.
    public func source(at index: Int) -> String { "\(imagesFile.path)#\(index)" }
}

/// The sizes and values of an IDX file of unsigned bytes with `dimensions` dimensions.
private func readIDX(_ url: URL, dimensions: Int, what: String) throws(DatasetError) -> ([Int], [UInt8]) {
    let path = url.path
    let raw: [UInt8]
    do { raw = try [UInt8](Data(contentsOf: url)) } catch {
        throw DatasetError(path: path, reason: "cannot read the file (\(error.localizedDescription)); "
            + "check the path and its permissions")
    }
    let bytes = raw.starts(with: [0x1F, 0x8B]) ? try gunzip(raw, path: path) : raw
    guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
        throw DatasetError(path: path, reason: "not an IDX file (it doesn't start with 00 00); "
            + "pass the MNIST-format file itself, gzip-compressed or not")
    }
    guard bytes[2] == 0x08 else {
        throw DatasetError(path: path, reason: "IDX element type 0x\(String(bytes[2], radix: 16)) is not "
            + "0x08 (unsigned byte); only byte images and labels are supported")
    }
    guard bytes[3] == dimensions else {
        throw DatasetError(path: path, reason: "IDX file has \(bytes[3]) dimensions, expected \(dimensions) for "
            + "\(what); check that images and labels aren't swapped")
    }
    let header = 4 + 4 * dimensions
    guard bytes.count >= header else {
        throw DatasetError(path: path, reason: "truncated: \(bytes.count) bytes, shorter than the IDX header; "
            + "download the file again")
    }
    let sizes = (0..<dimensions).map { d in bytes[4 + 4 * d..<8 + 4 * d].reduce(0) { $0 << 8 | Int($1) } }
    let (count, overflow) = sizes.reduce((1, false)) { partial, size in
        let product = partial.0.multipliedReportingOverflow(by: size)
        return (product.partialValue, partial.1 || product.overflow)
    }
    let found = bytes.count - header
    guard !overflow, found == count else {
        let shape = sizes.map(String.init).joined(separator: "×")
        let fix = found < count ? "it is truncated; download it again" : "it has extra bytes; download it again"
        throw DatasetError(path: path, reason: "the header says \(shape) values but \(found) bytes follow it: \(fix)")
    }
    return (sizes, Array(bytes[header...]))
}

/// The decompressed bytes of gzip data (every member, as `gzip -d`).
private func gunzip(_ input: [UInt8], path: String) throws(DatasetError) -> [UInt8] {
    guard input.count <= UInt32.max else {
        throw DatasetError(path: path, reason: "over 4 GiB compressed; decompress it first (gunzip)")
    }
    var output: [UInt8] = []
    var stream = z_stream()
    // 15 + 16: gzip wrapper, largest window.
    guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw DatasetError(path: path, reason: "zlib failed to start (out of memory?)")
    }
    defer { inflateEnd(&stream) }
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var status = Z_OK
    input.withUnsafeBufferPointer { source in
        stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
        stream.avail_in = UInt32(source.count)
        while status == Z_OK || (status == Z_STREAM_END && stream.avail_in > 0) {
            if status == Z_STREAM_END { status = inflateReset(&stream) }
            chunk.withUnsafeMutableBufferPointer { buffer in
                stream.next_out = buffer.baseAddress
                stream.avail_out = UInt32(buffer.count)
                status = inflate(&stream, Z_NO_FLUSH)
                output += buffer[..<(buffer.count - Int(stream.avail_out))]
            }
        }
    }
    guard status == Z_STREAM_END else {
        let reason = status == Z_BUF_ERROR ? "the data ends early" : stream.msg.map { String(cString: $0) } ?? "error \(status)"
        throw DatasetError(path: path, reason: "corrupt gzip data (\(reason)); download the file again")
    }
    return output
}
