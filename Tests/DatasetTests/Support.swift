import Foundation
import ImageData
import Testing
import Torch

/// A fresh temporary folder; remove it with `FileManager.default.removeItem`.
func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("DatasetTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `bytes` to `root/path`, making folders as needed; returns the file's path.
@discardableResult
func write(_ bytes: [UInt8], to path: String, in root: URL) throws -> String {
    let url = root.appendingPathComponent(path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
    return url.path
}

// MARK: - Encoders: PNG and gzip with stored (uncompressed) deflate blocks

func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
func littleEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

/// Raw deflate data made of stored blocks.
func storedDeflate(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var start = 0
    repeat {
        let end = min(start + 65_535, data.count)
        let length = UInt16(end - start)
        out += [end == data.count ? 1 : 0, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
        out += data[start..<end]
        start = end
    } while start < data.count
    return out
}

func gzip(_ data: [UInt8]) -> [UInt8] {
    [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF] + storedDeflate(data) + littleEndian(crc32(data)) + littleEndian(UInt32(data.count))
}

/// An 8-bit gray (1 channel) or RGB (3) PNG of HWC `pixels`.
func png(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> [UInt8] {
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }
    let row = width * channels
    let raw = (0..<height).flatMap { [0] + pixels[$0 * row..<($0 + 1) * row] }
    let adler = raw.reduce((UInt32(1), UInt32(0))) { s, b in
        let a = (s.0 + UInt32(b)) % 65_521
        return (a, (s.1 + a) % 65_521)
    }
    let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, channels == 3 ? 2 : 0, 0, 0, 0]
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header)
        + chunk("IDAT", [0x78, 0x01] + storedDeflate(raw) + bigEndian(adler.1 << 16 | adler.0)) + chunk("IEND", [])
}

/// An RGB PNG whose pixels encode `seed`, so every test image differs.
func testPNG(width: Int = 12, height: Int = 10, seed: Int) -> [UInt8] {
    png(width: width, height: height, channels: 3, pixels: (0..<width * height * 3).map { UInt8(truncatingIfNeeded: $0 * 7 + seed * 31) })
}

// MARK: - Datasets and transforms for loader tests

/// `count` synthetic 3×6×5 images (values from the index), labels `index % classes`;
/// the indices in `failing` throw.
struct SyntheticDataset: Dataset {
    let count: Int
    let classes: [String]
    var failing: Set<Int> = []
    var onLoad: (@Sendable (Int) -> Void)?

    init(count: Int, classes: Int = 3, failing: Set<Int> = [], onLoad: (@Sendable (Int) -> Void)? = nil) {
        self.count = count
        self.classes = (0..<classes).map { "class\($0)" }
        self.failing = failing
        self.onLoad = onLoad
    }

    var labels: [Int] { (0..<count).map { $0 % classes.count } }

    func image(at index: Int) throws -> Tensor {
        onLoad?(index)
        if failing.contains(index) { throw DatasetError(path: source(at: index), reason: "synthetic failure") }
        return Tensor((0..<90).map { UInt8(truncatingIfNeeded: $0 + index * 3) }, shape: [3, 6, 5])
    }

    func source(at index: Int) -> String { "synthetic#\(index)" }
}

/// Adds uniform noise drawn from the sample's generator (float32 out), and flips at random.
struct NoiseTransform: ImageTransform {
    var isRandom: Bool { true }
    func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
        let noisy = image.to(.float32) + Tensor.rand(image.shape, generator: generator)
        return Tensor.rand([1], generator: generator).double < 0.5 ? noisy.flip([-1]) : noisy
    }
}

/// A thread-safe value for transforms and datasets to report into.
final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}

/// Every batch of `epoch`, or the error that ended it.
func collect(_ loader: DataLoader, epoch: Int) -> (batches: [Batch], error: SampleError?) {
    let run = loader.epoch(epoch)
    let batches = Array(run)
    return (batches, run.error)
}
