import Foundation
import ImageData
import Testing

@Suite struct CSVDatasetTests {
    /// Writes `text` as `list.csv` in a new temporary folder and reads it.
    private func dataset(_ text: String, classes: [String]? = nil, header: Bool? = nil) throws -> (CSVDataset, URL) {
        let root = try temporaryFolder()
        let url = root.appendingPathComponent("list.csv")
        try Data(text.utf8).write(to: url)
        return (try CSVDataset(csv: url, classes: classes, header: header), root)
    }

    @Test func parsesQuotedFieldsAndResolvesPaths() throws {
        let text = "\u{FEFF}path,label\r\n"
            + "images/a.jpg,dog\r\n"
            + "\"images/b, with comma.jpg\",cat\r\n"
            + "\r\n"
            + "\"say \"\"hi\"\".png\",\"dog\"\n"
            + "/abs/c.png,\"bird, small\"\n"
            + "\"two\nlines.png\",cat"
        let (data, root) = try dataset(text)
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.path
        #expect(data.paths == [folder + "/images/a.jpg", folder + "/images/b, with comma.jpg",
                               folder + "/say \"hi\".png", "/abs/c.png", folder + "/two\nlines.png"])
        #expect(data.classes == ["bird, small", "cat", "dog"])
        #expect(data.labels == [2, 1, 2, 0, 1])
        #expect(data.source(at: 3) == "/abs/c.png")
    }

    /// A multi-label list (fastai's `label_delim`): any number of classes per row, none included.
    @Test func multiLabelFieldsSplitOnTheDelimiter() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let url = root.appendingPathComponent("tags.csv")
        try Data("image,tags\na.png,haze primary\nb.png,\"primary  water\"\nc.png,\nd.png,water haze water\n".utf8).write(to: url)
        let data = try CSVDataset(csv: url, labelDelimiter: " ")
        #expect(data.classes == ["haze", "primary", "water"])
        #expect(data.labelSets! == [[0, 1], [1, 2], [], [2, 0]])
        #expect(data.labels == [0, 1, 0, 2])  // each row's first class (0 for none)
        #expect(data.classCounts == [2, 2, 2])
        // Validation lists: an unknown class is dropped from its row and counted.
        let val = try CSVDataset(csv: url, classes: ["haze", "water"], skipUnknownLabels: true, labelDelimiter: " ")
        #expect(val.labelSets! == [[0], [1], [], [1, 0]] && val.unknownLabels.map(\.label) == ["primary"])
        #expect(throws: DatasetError.self) { try CSVDataset(csv: url, classes: ["haze"], labelDelimiter: " ") }
        let split = Subset(data, [3, 1])
        #expect(split.labelSets! == [[2, 0], [1, 2]])
        // Read as a single-label list, the empty label is refused.
        #expect(throws: DatasetError.self) { try CSVDataset(csv: url) }
    }

    @Test func headerDetectionAndSorting() throws {
        let (plain, root) = try dataset("x.png,10\ny.png,2\nz.png,9\nw.png,2\n")
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(plain.count == 4)
        #expect(plain.classes == ["2", "9", "10"])  // by value when all labels are integers
        #expect(plain.labels == [2, 0, 1, 0])
        let (named, root2) = try dataset("File,Class\nx.png,b\ny.png,B\nz.png,\u{C4}\nw.png,a\n")
        defer { try? FileManager.default.removeItem(at: root2) }
        #expect(named.classes == ["B", "a", "b", "\u{C4}"])  // Python's sorted(): code points
        let (forced, root3) = try dataset("path,label\nx.png,a\n", header: false)
        defer { try? FileManager.default.removeItem(at: root3) }
        #expect(forced.classes == ["a", "label"])
    }

    @Test func givenClasses() throws {
        let (data, root) = try dataset("x.png,cat\ny.png,dog\n", classes: ["dog", "cat", "bird"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(data.labels == [1, 0])
        #expect(data.classCounts == [1, 1, 0])
        #expect { try dataset("x.png,cat\ny.png,emu\n", classes: ["cat"]) } throws: { error in
            let error = try #require(error as? DatasetError)
            return error.path.hasSuffix("list.csv:2") && error.reason.hasPrefix("label \"emu\" is not one of the classes")
        }
    }

    /// A validation list with classes the model doesn't know: those rows are left out and
    /// counted (the CLI warns with the counts), the rest kept in order.
    @Test func unknownLabelsCanBeLeftOutAndCounted() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let url = root.appendingPathComponent("val.csv")
        try Data("a.png,cat\nb.png,emu\nc.png,dog\nd.png,emu\ne.png,yak\n".utf8).write(to: url)
        let data = try CSVDataset(csv: url, classes: ["cat", "dog"], skipUnknownLabels: true)
        #expect(data.labels == [0, 1])
        #expect(data.paths == [root.path + "/a.png", root.path + "/c.png"])
        #expect(data.unknownLabels.map(\.label) == ["emu", "yak"] && data.unknownLabels.map(\.rows) == [2, 1])
    }

    @Test(arguments: [
        ("a.png,cat\nb.png,cat,extra\n", "list.csv:2", "expected 2 fields (path,label), found 3"),
        ("a.png,cat\n\"b.png,cat\n", "list.csv:2", "a quoted field is never closed"),
        ("a.png,cat\nb\"c.png,cat\n", "list.csv:2", "a quote inside an unquoted field"),
        ("a.png,cat\n\"b.png\"x,cat\n", "list.csv:2", "text after a closing quote"),
        ("a.png,cat\n,cat\n", "list.csv:2", "empty path"),
        ("a.png,\n", "list.csv:1", "empty label"),
    ])
    func malformedLinesNameTheLine(text: String, location: String, message: String) throws {
        #expect { try dataset(text) } throws: { error in
            let error = try #require(error as? DatasetError)
            return error.path.hasSuffix(location) && error.reason.contains(message)
        }
    }

    @Test func unreadableAndNonUTF8Files() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let missing = root.appendingPathComponent("missing.csv")
        #expect { try CSVDataset(csv: missing) } throws: { error in
            (error as? DatasetError)?.description.hasPrefix("\(missing.path): cannot read the file") == true
        }
        let latin1 = try write([0x61, 0x2C, 0xE9, 0x0A], to: "latin1.csv", in: root)
        #expect { try CSVDataset(csv: URL(fileURLWithPath: latin1)) } throws: { error in
            (error as? DatasetError)?.reason.hasPrefix("not UTF-8 text") == true
        }
    }
}
