import ArgumentParser
import Foundation
import Graft

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an image dataset before training.",
        discussion: """
            Reports images per class, unreadable files (with the reason), grayscale, CMYK and \
            16-bit images, tiny images, exact duplicates (by content hash) within and across the \
            training and validation folders, and class imbalance. Exits 1 when it finds \
            unreadable files or duplicates across the two folders.

            Examples:
              graft doctor data/train --val data/val
              graft doctor data/train --json
            """
    )

    @Argument(help: "A folder with one sub-folder per class.") var data: String
    @Option(help: "A validation folder to check too, and against the training folder.") var val: String?
    @Option(help: "Images smaller than this on their short side are reported as tiny.") var minSize: Int = 32
    @Flag(help: "One JSON object.") var json = false

    func validate() throws {
        try requireExists(data, "DATA")
        if let val { try requireExists(val, "--val") }
        try check("--min-size", minSize, in: 1...100_000)
    }

    func run() throws {
        var sets: [(name: String, folder: ImageFolder)] = [("train", try ImageFolder(root: URL(fileURLWithPath: data)))]
        if let val { sets.append(("val", try ImageFolder(root: URL(fileURLWithPath: val), allowEmpty: true))) }
        let audit = DatasetAudit(sets, minimumSide: minSize)
        if json { print(try jsonLine(Self.json(audit))) } else { for line in Self.lines(audit) { print(line) } }
        if !audit.unreadable.isEmpty || audit.crossSplitDuplicates > 0 { throw ExitCode(1) }
    }

    static func lists(_ audit: DatasetAudit) -> [(String, [String])] {
        [("grayscale", audit.grayscale), ("cmyk", audit.cmyk), ("16_bit", audit.sixteenBit), ("tiny", audit.tiny)]
    }

    static func lines(_ audit: DatasetAudit) -> [String] {
        var lines: [String] = []
        for split in audit.splits {
            lines.append("\(split.name): \(split.counts.reduce(0, +)) images in \(split.classes.count) classes")
            for (name, n) in zip(split.classes, split.counts) { lines.append("  \(name): \(n)") }
            if let ratio = split.imbalanceRatio, ratio > 3 {
                lines.append(String(format: "  imbalance: the largest class has %.1f× the images of the smallest; "
                                    + "consider --class-weights auto", ratio))
            }
        }
        for file in audit.unreadable { lines.append("unreadable: \(file.error ?? file.path)") }
        for (name, hits) in lists(audit) where !hits.isEmpty {
            lines.append("\(name.replacingOccurrences(of: "_", with: " ")) (\(hits.count)): "
                         + hits.prefix(5).joined(separator: ", ") + (hits.count > 5 ? ", ..." : ""))
        }
        for group in audit.duplicates {
            lines.append("duplicate\(group.acrossSplits ? " across train/val" : ""): " + group.paths.joined(separator: " = "))
        }
        if audit.unreadable.isEmpty && audit.duplicates.isEmpty { lines.append("no unreadable files, no duplicates") }
        return lines
    }

    static func json(_ audit: DatasetAudit) -> [String: Any] {
        var json: [String: Any] = [:]
        var perSplit: [String: Any] = [:]
        for split in audit.splits {
            perSplit[split.name] = Dictionary(uniqueKeysWithValues: zip(split.classes, split.counts))
            if let ratio = split.imbalanceRatio, ratio > 3 { json["\(split.name)_imbalance_ratio"] = ratio }
        }
        json["images_per_class"] = perSplit
        json["unreadable"] = audit.unreadable.map { ["path": $0.path, "reason": $0.error ?? ""] }
        for (name, hits) in lists(audit) { json[name] = hits }
        json["duplicates"] = audit.duplicates.map { ["paths": $0.paths, "across_splits": $0.acrossSplits] as [String: Any] }
        json["duplicates_across_splits"] = audit.crossSplitDuplicates
        json["files"] = audit.files.count
        return json
    }
}
