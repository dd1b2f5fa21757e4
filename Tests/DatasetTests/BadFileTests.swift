@testable import ImageData
import Foundation
import Testing
import Torch

/// Broken files in an ImageFolder, under both policies: never a crash, always the file and the reason.
@Suite struct BadFileTests {
    /// Class `a`: two good PNGs then the bad files (names sort in this order); class `b`: one good PNG.
    private static let bad: [(name: String, bytes: [UInt8], reason: String)] = {
        let good = testPNG(seed: 0)
        return [
            ("2-empty.png", [], "empty file (0 bytes)"),
            ("3-truncated.png", Array(good.prefix(good.count / 2)), "truncated PNG"),
            ("4-text.jpg", Array("just some notes\n".utf8), "not a JPEG or PNG file (starts with 6A 75 73 74: text?)"),
            ("5-gif.png", Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0], "not a JPEG or PNG file (starts with 47 49 46 38: GIF?)"),
            ("6-corrupt.png", Array(good.prefix(33)) + [UInt8](repeating: 0xAB, count: 64), "corrupt PNG data"),
            ("7-bitmap.bmp", Array("BM".utf8) + [UInt8](repeating: 0, count: 60), "not a JPEG or PNG file"),
            ("8-corrupt.jpg", [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0x11, count: 100), "JPEG"),
        ]
    }()

    private func makeFolder() throws -> (ImageFolder, URL) {
        let root = try temporaryFolder()
        try write(testPNG(seed: 1), to: "a/0-good.png", in: root)
        try write(testPNG(seed: 2), to: "a/1-good.png", in: root)
        for file in Self.bad { try write(file.bytes, to: "a/" + file.name, in: root) }
        try write(testPNG(seed: 3), to: "b/9-good.png", in: root)
        return (try ImageFolder(root: root), root)
    }

    @Test func skipLeavesBadSamplesOutAndReportsThem() throws {
        let (dataset, root) = try makeFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(dataset.count == 10)
        let loader = DataLoader(dataset, transform: ToFloat(), batchSize: 3, workers: 2, badFiles: .skip)
        let epoch = loader.epoch(0)
        let batches = Array(epoch)
        #expect(epoch.error == nil)
        #expect(batches.map(\.indices) == [[0, 1], [9]])  // [0 1 2] [3 4 5] (all bad) [6 7 8] (all bad) [9]
        #expect(batches[0].images.shape == [2, 3, 10, 12])
        #expect(epoch.skipped.map(\.index) == Array(2...8))
        for (skipped, file) in zip(epoch.skipped, Self.bad) {
            #expect(skipped.source == root.path + "/a/" + file.name)
            #expect(skipped.reason.contains(file.reason), "\(file.name): \(skipped.reason)")
            #expect(skipped.epoch == 0)
            #expect(!skipped.reason.contains(root.path))
        }
        #expect(throws: Never.self) { try epoch.finish() }
        _ = Array(loader.epoch(1))
        #expect(loader.skipped.count == 14)
        #expect(loader.skipped.map(\.epoch) == [Int](repeating: 0, count: 7) + [Int](repeating: 1, count: 7))
    }

    @Test(arguments: [1, 3])
    func failStopsTheEpochAtTheFirstBadFile(workers: Int) throws {
        let (dataset, root) = try makeFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let loader = DataLoader(dataset, batchSize: 2, workers: workers, badFiles: .fail)
        let epoch = loader.epoch(0)
        let batches = Array(epoch)
        #expect(batches.map(\.indices) == [[0, 1]])
        let error = try #require(epoch.error)
        #expect(error.source == root.path + "/a/2-empty.png")
        #expect(error.index == 2)
        #expect(error.description.hasPrefix(root.path + "/a/2-empty.png: empty file (0 bytes)"))
        #expect(epoch.run.runningWorkers == 0)
        #expect(throws: SampleError.self) { try epoch.finish() }
        #expect(loader.skipped.isEmpty)

        var seen = 0
        #expect { try loader.forEachBatch(epoch: 1) { _ in seen += 1 } } throws: { error in
            (error as? SampleError)?.index == 2
        }
        #expect(seen == 1)
    }

    @Test func missingFileIsABadFile() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let csv = root.appendingPathComponent("list.csv")
        try Data("gone.png,x\n".utf8).write(to: csv)
        let loader = DataLoader(try CSVDataset(csv: csv), batchSize: 1, badFiles: .skip)
        #expect(Array(loader.epoch(0)).isEmpty)
        #expect(loader.skipped.first?.source == root.path + "/gone.png")
        #expect(loader.skipped.first?.reason.hasPrefix("cannot read the file") == true)
    }

    /// A transform that leaves samples of different sizes fails the epoch whatever the policy.
    @Test func mismatchedShapesFailWithAHint() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try write(testPNG(width: 8, height: 8, seed: 0), to: "a/0.png", in: root)
        try write(testPNG(width: 9, height: 8, seed: 0), to: "a/1.png", in: root)
        let epoch = DataLoader(try ImageFolder(root: root), batchSize: 2, badFiles: .skip).epoch(0)
        #expect(Array(epoch).isEmpty)
        let error = try #require(epoch.error)
        #expect(error.index == 1 && error.source.hasSuffix("/a/1.png"))
        #expect(error.reason.contains("uint8 [3, 8, 9], but sample 0 of the same batch is uint8 [3, 8, 8]; "
            + "end the transform with a fixed-size crop or resize"))
    }

    /// A libtorch error inside the transform ends the epoch with the sample named, instead of trapping.
    @Test func failingTransformIsReported() {
        struct Broken: ImageTransform {
            func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor { image.reshape([7, -1]) }
        }
        let epoch = DataLoader(SyntheticDataset(count: 4), transform: Broken(), batchSize: 2, badFiles: .skip).epoch(0)
        #expect(epoch.next() == nil)
        #expect(epoch.error?.reason.hasPrefix("the transform failed: reshape: ") == true)
        #expect(epoch.error?.index == 0)
    }

    @Test func datasetErrorsUnderSkip() {
        let loader = DataLoader(SyntheticDataset(count: 6, failing: [1, 4]), batchSize: 3, badFiles: .skip)
        let batches = collect(loader, epoch: 0).batches
        #expect(batches.map(\.indices) == [[0, 2], [3, 5]])
        #expect(batches.map { $0.labels.toArray(Int64.self) } == [[0, 2], [0, 2]])
        #expect(loader.skipped.map(\.description) == ["synthetic#1: synthetic failure (sample 1, epoch 0)",
                                                      "synthetic#4: synthetic failure (sample 4, epoch 0)"])
    }
}
