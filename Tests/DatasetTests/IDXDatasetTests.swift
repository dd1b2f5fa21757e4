import Foundation
import ImageData
import Testing

/// An IDX file of unsigned bytes.
private func idx(_ sizes: [Int], _ values: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
    [0, 0, type, UInt8(sizes.count)] + sizes.flatMap { bigEndian(UInt32($0)) } + values
}

@Suite struct IDXDatasetTests {
    private let pixels = (0..<5 * 3 * 4).map { UInt8($0 * 4) }
    private let labelValues: [UInt8] = [3, 0, 9, 3, 1]

    @Test(arguments: [false, true])
    func readsImagesAndLabels(compressed: Bool) throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let pack = { (bytes: [UInt8]) in compressed ? gzip(bytes) : bytes }
        let images = try write(pack(idx([5, 3, 4], pixels)), to: "images-idx3-ubyte.gz", in: root)
        let labels = try write(pack(idx([5], labelValues)), to: "labels-idx1-ubyte.gz", in: root)
        let dataset = try IDXDataset(images: URL(fileURLWithPath: images), labels: URL(fileURLWithPath: labels))
        #expect(dataset.count == 5)
        #expect(dataset.classes == (0...9).map(String.init))
        #expect(dataset.labels == [3, 0, 9, 3, 1])
        #expect((dataset.rows, dataset.columns) == (3, 4))
        let plane = Array(pixels[24..<36])
        let image = try dataset.image(at: 2)
        #expect(image.shape == [3, 3, 4] && image.dtype == .uint8)
        #expect(image.toArray(UInt8.self) == plane + plane + plane)
        #expect(dataset.source(at: 2) == images + "#2")

        let gray = try IDXDataset(images: URL(fileURLWithPath: images), labels: URL(fileURLWithPath: labels),
                                  classes: IDXDataset.fashionMNISTClasses, channels: 1)
        #expect(try gray.image(at: 2).toArray(UInt8.self) == plane)
        #expect(gray.classes[9] == "Ankle boot")
    }

    /// Gzip data of several members decompresses to all of them, as `gzip -d` does.
    @Test func multiMemberGzip() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let whole = idx([5], labelValues)
        let labels = try write(gzip(Array(whole[..<7])) + gzip(Array(whole[7...])), to: "l.gz", in: root)
        let images = try write(idx([5, 3, 4], pixels), to: "i", in: root)
        let dataset = try IDXDataset(images: URL(fileURLWithPath: images), labels: URL(fileURLWithPath: labels))
        #expect(dataset.labels == [3, 0, 9, 3, 1])
    }

    @Test(arguments: [
        ("bad magic", [1, 2, 3, 4, 5, 6, 7, 8] as [UInt8], "not an IDX file"),
        ("float type", idx([5], [UInt8](repeating: 0, count: 20), type: 0x0D), "element type 0xd is not 0x08"),
        ("images as labels", idx([5, 3, 4], [UInt8](repeating: 0, count: 60)), "has 3 dimensions, expected 1"),
        ("truncated", idx([5], [1, 2, 3]), "the header says 5 values but 3 bytes follow it: it is truncated"),
        ("extra bytes", idx([5], [1, 2, 3, 4, 5, 6]), "it has extra bytes"),
        ("short header", [0, 0, 8, 1, 0], "shorter than the IDX header"),
        ("truncated gzip", Array(gzip(idx([5], [1, 2, 3, 4, 5])).dropLast(12)), "corrupt gzip data (the data ends early)"),
        ("count mismatch", idx([4], [1, 2, 3, 4]), "holds 4 labels but"),
        ("label out of range", idx([5], [1, 2, 3, 4, 12]), "label 12 of sample 4 is outside the 10 classes"),
    ])
    func badLabelFilesNameTheFile(name: String, bytes: [UInt8], message: String) throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let images = try write(idx([5, 3, 4], pixels), to: "images", in: root)
        let labels = try write(bytes, to: "labels", in: root)
        do {
            _ = try IDXDataset(images: URL(fileURLWithPath: images), labels: URL(fileURLWithPath: labels),
                               classes: IDXDataset.fashionMNISTClasses)
            Issue.record("\(name): no error")
        } catch {
            #expect(error.path == labels, "\(name)")
            #expect(error.reason.contains(message), "\(name): \(error.reason)")
        }
    }

    @Test func badImagesFileNamesIt() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let images = try write(idx([5, 3, 4], [UInt8](repeating: 0, count: 59)), to: "images", in: root)
        let labels = try write(idx([5], labelValues), to: "labels", in: root)
        #expect { try IDXDataset(images: URL(fileURLWithPath: images), labels: URL(fileURLWithPath: labels)) } throws: {
            ($0 as? DatasetError)?.description.hasPrefix("\(images): the header says 5×3×4 values but 59 bytes") == true
        }
        let missing = root.appendingPathComponent("missing").path
        #expect { try IDXDataset(images: URL(fileURLWithPath: missing), labels: URL(fileURLWithPath: labels)) } throws: {
            ($0 as? DatasetError)?.description.hasPrefix("\(missing): cannot read the file") == true
        }
    }

    /// Debian's dataset-fashion-mnist package, when installed.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")))
    func fashionMNISTTestSet() throws {
        let folder = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
        let dataset = try IDXDataset(
            images: folder.appendingPathComponent("t10k-images-idx3-ubyte.gz"),
            labels: folder.appendingPathComponent("t10k-labels-idx1-ubyte.gz"), classes: IDXDataset.fashionMNISTClasses)
        #expect(dataset.count == 10_000)
        #expect(dataset.classCounts == [Int](repeating: 1_000, count: 10))
        #expect(Array(dataset.labels.prefix(10)) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        let first = try dataset.image(at: 0)
        #expect(first.shape == [3, 28, 28])
        let plane = Array(first.toArray(UInt8.self).prefix(784))
        #expect(plane.reduce(0) { $0 + Int($1) } == 33_456)  // as Python's gzip module reads it
        #expect(plane[14 * 28 + 14] == 110)
        #expect(try dataset.image(at: 9_999).toArray(UInt8.self).prefix(784).reduce(0) { $0 + Int($1) } == 24_390)
    }
}
