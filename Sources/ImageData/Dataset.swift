import Foundation
import Torch

/// A labelled image collection, indexed `0..<count`.
///
/// Labels are known without decoding anything, so subsets, splits and class counts are
/// cheap; ``image(at:)`` does the decoding. Implementations must be safe to call from
/// several threads at once (``DataLoader`` does).
public protocol Dataset: Sendable {
    /// Number of samples.
    var count: Int { get }
    /// Class names; a label is an index into this array.
    var classes: [String] { get }
    /// The class index of every sample, `count` entries. For a multi-label dataset, each
    /// sample's first label (0 when it has none): what stratified splits go by.
    var labels: [Int] { get }
    /// For a multi-label dataset, each sample's classes (any number, none included), `count`
    /// entries; nil for a single-label one.
    var labelSets: [[Int]]? { get }
    /// The image of sample `index`: a CHW `uint8` tensor, 3 channels unless the dataset
    /// was made with other decode options (gray is repeated into RGB by default).
    /// Throws when the sample's file can't be read or decoded.
    func image(at index: Int) throws -> Tensor
    /// Where sample `index` comes from, for messages and reports: a file path, or
    /// `"file#index"` for a sample inside a file.
    func source(at index: Int) -> String
}

extension Dataset {
    public var count: Int { labels.count }

    public var labelSets: [[Int]]? { nil }

    /// Samples per class, `classes.count` entries (for a multi-label dataset, the samples
    /// that have the class).
    public var classCounts: [Int] {
        if let labelSets {
            return labelSets.reduce(into: [Int](repeating: 0, count: classes.count)) { counts, set in
                for label in set where counts.indices.contains(label) { counts[label] += 1 }
            }
        }
        return labels.reduce(into: [Int](repeating: 0, count: classes.count)) { $0[$1] += 1 }
    }
}

/// A dataset that can't be built: the file or folder at fault, what is wrong with it and
/// what to do.
public struct DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file or folder (with `:line` for a line of a text file).
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// Python's `sorted()` for strings: Unicode code-point order (UTF-8 byte order is the
/// same), not Swift's `<`, which compares canonically equivalent strings as equal.
func codePointSorted(_ names: some Sequence<String>) -> [String] {
    names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
}

/// The first name listed twice (comparing code points), if any.
func firstDuplicate(_ names: [String]) -> String? {
    var seen = Set<[UInt8]>()
    return names.first { !seen.insert(Array($0.utf8)).inserted }
}

/// Image files without labels (every label 0, one class "?"): what `predict` classifies.
public struct ImageFiles: Dataset {
    public let paths: [String]
    public init(paths: [String]) { self.paths = paths }
    public var classes: [String] { ["?"] }
    public var labels: [Int] { Array(repeating: 0, count: paths.count) }
    public func image(at index: Int) throws -> Tensor { try loadImage(URL(fileURLWithPath: paths[index])) }
    public func source(at index: Int) -> String { paths[index] }
}
