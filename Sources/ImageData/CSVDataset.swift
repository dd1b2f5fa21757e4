import Foundation
import ImageCodecs
import Torch

/// Images listed in a CSV file, one `path,label` row per sample.
///
/// The file is UTF-8 CSV as RFC 4180 and Python's `csv` module read it: a field in double
/// quotes may hold commas, line breaks and doubled quotes (`"a, ""b"".jpg"`); rows end with
/// LF or CRLF; blank lines are skipped; spaces are kept. Relative paths are relative to the
/// CSV file's folder. Labels are class names (any text). Files are not opened here: a bad
/// or missing file shows up when ``image(at:)`` decodes it.
public struct CSVDataset: Dataset {
    /// First-field names that mark the first row as a header when `header` is nil.
    public static let headerNames: Set<String> = ["path", "file", "filename", "filepath", "image", "image_path"]

    public let file: URL
    public let classes: [String]
    public let labels: [Int]
    /// Each row's classes when the list is multi-label (made with a `labelDelimiter`).
    public let labelSets: [[Int]]?
    /// The image file of every sample.
    public let paths: [String]
    /// How ``image(at:)`` decodes (3 channels by default).
    public let options: DecodeOptions
    /// With `skipUnknownLabels`: the labels not among `classes` and how many rows each had
    /// (those rows are left out), in order of first appearance.
    public let unknownLabels: [(label: String, rows: Int)]

    /// Reads the CSV file.
    ///
    /// - Parameters:
    ///   - classes: the class names in label order. Default: the distinct labels sorted,
    ///     by value when every label is an integer (`"2" < "10"`), else as Python's
    ///     `sorted()` (code points).
    ///   - header: whether the first row is a header; nil: it is when its first field,
    ///     lowercased, is one of ``headerNames``.
    ///   - skipUnknownLabels: leave out rows whose label is not in `classes` (a validation or
    ///     test list with classes the model doesn't know), counted in ``unknownLabels``,
    ///     instead of refusing the file. In a multi-label list, the unknown labels are left
    ///     out of their rows instead.
    ///   - labelDelimiter: a multi-label list: the label field holds any number of class
    ///     names separated by this (fastai's `label_delim`, e.g. " " or ";"), an empty field none.
    /// - Throws: ``DatasetError`` naming the file and line: unreadable file, malformed CSV,
    ///   a row without exactly two fields, an empty path or label, a label not in `classes`.
    public init(
        csv: URL, classes: [String]? = nil, header: Bool? = nil, options: DecodeOptions = DecodeOptions(),
        skipUnknownLabels: Bool = false, labelDelimiter: String? = nil
    ) throws(DatasetError) {
        let path = csv.path
        let data: Data
        do { data = try Data(contentsOf: csv) } catch {
            throw DatasetError(path: path, reason: "cannot read the file (\(error.localizedDescription)); "
                + "check the path and its permissions")
        }
        guard var text = String(validating: data, as: UTF8.self) else {
            throw DatasetError(path: path, reason: "not UTF-8 text; save the CSV file as UTF-8")
        }
        if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }
        var rows = try parseCSV(text, path: path)
        if let first = rows.first, header ?? Self.headerNames.contains(first.fields[0].lowercased()) {
            rows.removeFirst()
        }
        let folder = csv.deletingLastPathComponent().path
        var paths: [String] = [], names: [String] = []
        for (line, fields) in rows {
            guard fields.count == 2 else {
                throw DatasetError(path: "\(path):\(line)", reason: "expected 2 fields (path,label), found \(fields.count); "
                    + "quote a field that holds a comma")
            }
            guard !fields[0].isEmpty, !fields[1].isEmpty || labelDelimiter != nil else {
                throw DatasetError(path: "\(path):\(line)", reason: "empty \(fields[0].isEmpty ? "path" : "label"); "
                    + "fill it in or remove the line")
            }
            paths.append(fields[0].hasPrefix("/") ? fields[0] : folder + "/" + fields[0])
            names.append(fields[1])
        }
        // A multi-label field: its names, split and trimmed, empty pieces dropped, each once.
        let sets: [[String]]? = labelDelimiter.map { delimiter in
            names.map { field in
                var seen = Set<String>()
                return field.components(separatedBy: delimiter.isEmpty ? " " : delimiter)
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && seen.insert($0).inserted }
            }
        }
        let classes = classes ?? sortedLabels(sets.map { $0.flatMap { $0 } } ?? names)
        if let name = firstDuplicate(classes) {
            throw DatasetError(path: path, reason: "class \"\(name)\" is listed twice in classes; list each once")
        }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { (Array($1.utf8), $0) })
        var labels: [Int] = [], kept: [String] = []
        var unknown: [(label: String, rows: Int)] = []
        func noteUnknown(_ name: String) {
            if let i = unknown.firstIndex(where: { $0.label == name }) { unknown[i].rows += 1 } else { unknown.append((name, 1)) }
        }
        // A single-label row is a set of one: an unknown label leaves out the row, where a
        // multi-label row only loses that label.
        var labelSets: [[Int]]? = sets == nil ? nil : []
        for (i, (row, file)) in zip(rows, paths).enumerated() {
            var ids: [Int] = []
            for name in sets?[i] ?? [names[i]] {
                if let label = index[Array(name.utf8)] { ids.append(label); continue }
                guard skipUnknownLabels else {
                    throw DatasetError(path: "\(path):\(row.line)", reason: "label \"\(name)\" is not one of the classes "
                        + "\(classes.prefix(10).joined(separator: ", "))\(classes.count > 10 ? ", ..." : ""); fix the line")
                }
                noteUnknown(name)
            }
            if sets == nil && ids.isEmpty { continue }
            labels.append(ids.first ?? 0)
            labelSets?.append(ids)
            kept.append(file)
        }
        self.file = csv
        self.classes = classes
        self.labels = labels
        self.labelSets = labelSets
        self.paths = kept
        self.unknownLabels = unknown
        self.options = options
    }

    public func image(at index: Int) throws -> Tensor { try loadImage(URL(fileURLWithPath: paths[index]), options: options) }

    public func source(at index: Int) -> String { paths[index] }
}

/// The distinct labels: by value when all are integers, else in code-point order.
private func sortedLabels(_ names: [String]) -> [String] {
    let distinct = codePointSorted(Set(names.map { Array($0.utf8) }).map { String(decoding: $0, as: UTF8.self) })
    let values = distinct.compactMap { Int($0) }
    guard values.count == distinct.count else { return distinct }
    return zip(values, distinct).sorted { $0.0 < $1.0 }.map(\.1)
}

/// RFC 4180 records with the line each starts on; blank lines are left out.
private func parseCSV(_ text: String, path: String) throws(DatasetError) -> [(line: Int, fields: [String])] {
    let scalars = Array(text.unicodeScalars)
    var rows: [(line: Int, fields: [String])] = []
    var fields: [String] = [], field = String.UnicodeScalarView()
    var line = 1, rowLine = 1, quoted = false, inQuotes = false
    func endField() {
        fields.append(String(field))
        field = String.UnicodeScalarView()
    }
    func endRow() {
        let blank = fields.isEmpty && field.isEmpty && !quoted
        endField()
        if !blank { rows.append((rowLine, fields)) }
        fields = []
        quoted = false
    }
    var i = 0
    while i < scalars.count {
        let c = scalars[i]
        i += 1
        if inQuotes {
            if c == "\"" {
                if i < scalars.count, scalars[i] == "\"" { field.append("\""); i += 1 } else { inQuotes = false }
            } else {
                if c == "\n" { line += 1 }
                field.append(c)
            }
            continue
        }
        switch c {
        case ",":
            endField()
            quoted = false
        case "\r" where i < scalars.count && scalars[i] == "\n":
            continue
        case "\n", "\r":
            endRow()
            line += 1
            rowLine = line
        case "\"" where field.isEmpty && !quoted:
            inQuotes = true
            quoted = true
        default:
            guard c != "\"", !quoted else {
                throw DatasetError(path: "\(path):\(line)", reason: "a quote inside an unquoted field or text after a "
                    + "closing quote; quote the whole field and double the quotes inside it (\"a \"\"b\"\".jpg\")")
            }
            field.append(c)
        }
    }
    if inQuotes {
        throw DatasetError(path: "\(path):\(rowLine)", reason: "a quoted field is never closed; add the closing quote")
    }
    if !fields.isEmpty || !field.isEmpty || quoted { endRow() }
    return rows
}
