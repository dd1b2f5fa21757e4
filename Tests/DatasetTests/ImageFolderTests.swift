import Foundation
import ImageData
import Testing

/// Fixtures/imagefolder_order.json: a folder tree and what torchvision's ImageFolder found in it.
private struct FolderFixture: Decodable {
    struct Sample: Decodable {
        let path: String
        let label: Int
        init(from decoder: any Decoder) throws {
            var fields = try decoder.unkeyedContainer()
            path = try fields.decode(String.self)
            label = try fields.decode(Int.self)
        }
    }

    let files: [String]
    let symlinks: [[String]]
    let classes: [String]
    let samples: [Sample]

    static func load() throws -> FolderFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/imagefolder_order.json")
        return try JSONDecoder().decode(FolderFixture.self, from: Data(contentsOf: url))
    }

    /// Builds the tree in a new temporary folder.
    func build() throws -> URL {
        let root = try temporaryFolder()
        for file in files { try write([], to: file, in: root) }
        for link in symlinks {
            try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent(link[0]).path,
                                                       withDestinationPath: link[1])
        }
        return root
    }
}

/// Code points, to compare strings as Python does (Swift's `==` equates "é" and "e\u{301}").
private func codePoints(_ strings: [String]) -> [[UInt32]] { strings.map { $0.unicodeScalars.map(\.value) } }

@Suite struct ImageFolderTests {
    @Test func matchesTorchvision() throws {
        let fixture = try FolderFixture.load()
        let root = try fixture.build()
        defer { try? FileManager.default.removeItem(at: root) }
        let dataset = try ImageFolder(root: root)
        #expect(codePoints(dataset.classes) == codePoints(fixture.classes))
        let relative = dataset.paths.map { String($0.dropFirst(root.path.count + 1)) }
        #expect(codePoints(relative) == codePoints(fixture.samples.map(\.path)))
        #expect(dataset.labels == fixture.samples.map(\.label))
        #expect(dataset.count == fixture.samples.count)
        #expect(dataset.source(at: 0) == dataset.paths[0])
    }

    @Test func classOrderOverride() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        for file in ["b/1.png", "a/1.png", "a/2.png", "c/1.png"] { try write([], to: file, in: root) }
        let dataset = try ImageFolder(root: root, classes: ["b", "a"])
        #expect(dataset.classes == ["b", "a"])
        #expect(dataset.paths.map { String($0.dropFirst(root.path.count + 1)) } == ["a/1.png", "a/2.png", "b/1.png"])
        #expect(dataset.labels == [1, 1, 0])
        #expect(dataset.classCounts == [1, 2])

        #expect { try ImageFolder(root: root, classes: ["a", "missing", "b"]) } throws: { error in
            (error as? DatasetError)?.reason.hasPrefix("Found no valid file for the classes missing. ") == true
        }
        let lenient = try ImageFolder(root: root, classes: ["a", "missing"], allowEmpty: true)
        #expect(lenient.classCounts == [2, 0])
        #expect { try ImageFolder(root: root, classes: ["a", "a"]) } throws: { error in
            (error as? DatasetError)?.reason.contains("listed twice") == true
        }
    }

    @Test func emptyClassFailsAsTorchvision() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try write([], to: "cat/1.jpg", in: root)
        try write([], to: "dog/notes.txt", in: root)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
        #expect { try ImageFolder(root: root) } throws: { error in
            let error = try #require(error as? DatasetError)
            return error.path == root.path && error.reason.hasPrefix(
                "Found no valid file for the classes dog, empty. Graft decodes JPEG and PNG files (.jpg, .jpeg, .png). ")
                // Only formats Graft decodes are offered, not torchvision's whole list.
                && !error.reason.contains(".webp")
        }
        let textFiles = try ImageFolder(root: root, classes: ["dog"], extensions: [".TXT"])
        #expect(textFiles.count == 1)
    }

    @Test func missingAndClasslessRoots() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try write([], to: "loose.jpg", in: root)
        #expect { try ImageFolder(root: root) } throws: { error in
            (error as? DatasetError)?.reason.hasPrefix("Couldn't find any class folder in \(root.path).") == true
        }
        let missing = root.appendingPathComponent("nope")
        #expect { try ImageFolder(root: missing) } throws: { error in
            (error as? DatasetError)?.description.hasPrefix("\(missing.path): cannot read the folder") == true
        }
    }

    /// A link back to an enclosing folder is not followed (os.walk would recurse until the
    /// path is too long); a link elsewhere is.
    @Test func symbolicLinkCycleTerminates() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try write([], to: "a/x.png", in: root)
        try write([], to: "b/y.png", in: root)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("a/loop").path, withDestinationPath: ".")
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("a/other").path, withDestinationPath: "../b")
        let dataset = try ImageFolder(root: root)
        #expect(dataset.paths.map { String($0.dropFirst(root.path.count + 1)) } == ["a/x.png", "a/other/y.png", "b/y.png"])
    }

    /// A link to the dataset root inside a class folder (`a/up -> ..`) would give every
    /// class's images this class's label: it is not followed.
    @Test func linkToTheRootIsNotFollowed() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try write([], to: "a/x.png", in: root)
        try write([], to: "b/y.png", in: root)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("a/up").path, withDestinationPath: "..")
        let dataset = try ImageFolder(root: root)
        #expect(dataset.paths.map { String($0.dropFirst(root.path.count + 1)) } == ["a/x.png", "b/y.png"])
        #expect(dataset.labels == [0, 1])
    }

    /// With the classes given, a missing class folder can be allowed, and folders of
    /// classes not listed are reported, not silently dropped.
    @Test func unlistedFoldersAreReported() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try write([], to: "a/x.png", in: root)
        try write([], to: "zebra/y.png", in: root)
        let dataset = try ImageFolder(root: root, classes: ["a", "b"], allowEmpty: true)
        #expect(dataset.classCounts == [1, 0])
        #expect(dataset.unlistedFolders == ["zebra"])
        #expect(try ImageFolder(root: root).unlistedFolders.isEmpty)
    }

    @Test func decodesImages() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try write(png(width: 4, height: 2, channels: 1, pixels: Array(0..<8)), to: "g/gray.png", in: root)
        let dataset = try ImageFolder(root: root)
        let image = try dataset.image(at: 0)
        #expect(image.shape == [3, 2, 4])
        #expect(image.dtype == .uint8)
        #expect(image.toArray(UInt8.self) == Array(0..<8) + Array(0..<8) + Array(0..<8))
        let gray = try ImageFolder(root: root, options: .init(channels: 1))
        #expect(try gray.image(at: 0).shape == [1, 2, 4])
    }
}
