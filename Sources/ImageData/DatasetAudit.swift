import CZlib
import Dispatch
import Foundation
import ImageCodecs

/// A check of image folders before training: every file probed and decoded (in
/// parallel), images per class, unreadable files with the reason, grayscale, CMYK,
/// 16-bit and tiny images, exact duplicates by content within and across the sets,
/// and class imbalance. What `graft doctor` prints.
public struct DatasetAudit: Sendable {
    /// One file's findings.
    public struct File: Sendable {
        public var path: String
        /// The set it came from (`train`, `val`, …).
        public var split: String
        public var label: Int
        public var info: ImageInfo?
        /// Why it could not be read, or nil.
        public var error: String?
    }

    /// Files with identical bytes.
    public struct DuplicateGroup: Sendable {
        public var paths: [String]
        /// Whether the copies lie in more than one set (a train/validation leak).
        public var acrossSplits: Bool
    }

    /// One set's class counts.
    public struct Split: Sendable {
        public var name: String
        public var classes: [String]
        public var counts: [Int]
        /// Largest class over smallest, when the smallest is not empty.
        public var imbalanceRatio: Double? {
            guard let lo = counts.min(), let hi = counts.max(), lo > 0 else { return nil }
            return Double(hi) / Double(lo)
        }
    }

    public var splits: [Split]
    public var files: [File]
    public var duplicates: [DuplicateGroup]
    /// The short side under which an image counts as tiny.
    public var minimumSide: Int

    public var unreadable: [File] { files.filter { $0.error != nil } }
    public var crossSplitDuplicates: Int { duplicates.filter(\.acrossSplits).count }

    /// Readable files whose image info passes `filter`.
    public func files(where filter: (ImageInfo) -> Bool) -> [String] {
        files.filter { $0.info.map(filter) ?? false }.map(\.path)
    }
    public var grayscale: [String] { files { $0.colorSpace == .grayscale || $0.colorSpace == .grayscaleAlpha } }
    public var cmyk: [String] { files { $0.colorSpace == .cmyk || $0.colorSpace == .ycck } }
    public var sixteenBit: [String] { files { $0.bitDepth > 8 } }
    public var tiny: [String] { files { min($0.width, $0.height) < minimumSide } }

    /// Audits `sets` (name and folder), on all cores.
    public init(_ sets: [(name: String, folder: ImageFolder)], minimumSide: Int = 32) {
        self.minimumSide = minimumSide
        splits = sets.map { Split(name: $0.name, classes: $0.folder.classes, counts: $0.folder.classCounts) }
        var files: [File] = []
        for (name, folder) in sets {
            files += folder.paths.enumerated().map { File(path: $1, split: name, label: folder.labels[$0]) }
        }
        var digests = [(size: Int, crc: UInt)?](repeating: nil, count: files.count)
        files.withUnsafeMutableBufferPointer { filesBuffer in
            digests.withUnsafeMutableBufferPointer { digestBuffer in
                nonisolated(unsafe) let shared = filesBuffer
                nonisolated(unsafe) let sharedDigests = digestBuffer
                DispatchQueue.concurrentPerform(iterations: shared.count) { i in
                    let url = URL(fileURLWithPath: shared[i].path)
                    do {
                        let data = try Data(contentsOf: url)
                        shared[i].info = try ImageDecoder.probe(data)
                        var options = DecodeOptions()
                        options.minimumSize = (1, 1)  // the smallest DCT scale still reads every byte
                        _ = try ImageDecoder.decode(data, options: options)
                        sharedDigests[i] = (data.count, Self.crc32(data))
                    } catch {
                        shared[i].error = "\(shared[i].path): \(error)"
                    }
                }
            }
        }
        self.files = files
        duplicates = Self.duplicateGroups(files, digests)
    }

    static func crc32(_ data: Data) -> UInt {
        data.withUnsafeBytes { raw in
            var crc = CZlib.crc32(0, nil, 0)
            var offset = 0
            while offset < raw.count {  // zlib takes a UInt32 length
                let n = min(raw.count - offset, 1 << 30)
                crc = CZlib.crc32(crc, raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n))
                offset += n
            }
            return crc
        }
    }

    /// Files with equal size and CRC-32, confirmed byte for byte, so a CRC collision
    /// never reports two different images as copies.
    static func duplicateGroups(_ files: [File], _ digests: [(size: Int, crc: UInt)?]) -> [DuplicateGroup] {
        var candidates: [String: [Int]] = [:]
        for (i, digest) in digests.enumerated() {
            if let digest { candidates["\(digest.size)-\(digest.crc)", default: []].append(i) }
        }
        var groups: [DuplicateGroup] = []
        for indices in candidates.values where indices.count > 1 {
            var remaining = indices
            while let first = remaining.first {
                let reference = try? Data(contentsOf: URL(fileURLWithPath: files[first].path))
                let same = remaining.filter { i in
                    i == first || (reference != nil && (try? Data(contentsOf: URL(fileURLWithPath: files[i].path))) == reference)
                }
                remaining.removeAll { same.contains($0) }
                if same.count > 1 {
                    groups.append(DuplicateGroup(paths: same.map { files[$0].path },
                                                 acrossSplits: Set(same.map { files[$0].split }).count > 1))
                }
            }
        }
        return groups.sorted { $0.paths[0] < $1.paths[0] }
    }
}
