import ArgumentParser
import Foundation
import Graft

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an image dataset before training.",
        discussion: """
            Reports images per class, unreadable files (with the reason), grayscale, CMYK and
            16-bit images, tiny images, exact duplicates (by content hash) within and across the
            training and validation folders, and class imbalance. Exits 1 when it finds
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

    struct FileReport {
        var path: String
        var split: String
        var label: Int
        var info: ImageInfo?
        var error: String?
        var hash: String?
    }

    func run() throws {
        var sets: [(String, ImageFolder)] = [("train", try ImageFolder(root: URL(fileURLWithPath: data)))]
        if let val { sets.append(("val", try ImageFolder(root: URL(fileURLWithPath: val), allowEmpty: true))) }
        var reports: [FileReport] = []
        for (split, folder) in sets {
            reports += folder.paths.enumerated().map { FileReport(path: $1, split: split, label: folder.labels[$0]) }
        }
        let box = UnsafeMutableBufferPointer<FileReport>.allocate(capacity: reports.count)
        _ = box.initialize(from: reports)
        defer { box.deallocate() }
        nonisolated(unsafe) let shared = box
        DispatchQueue.concurrentPerform(iterations: reports.count) { i in
            let url = URL(fileURLWithPath: shared[i].path)
            do {
                shared[i].info = try ImageDecoder.probe(contentsOf: url)
                var options = DecodeOptions()
                options.minimumSize = (1, 1)  // the smallest DCT scale still reads every byte
                _ = try ImageDecoder.decode(contentsOf: url, options: options)
                shared[i].hash = try sha256Hex(of: url)
            } catch {
                shared[i].error = "\(error)"
            }
        }
        reports = Array(shared)
        let summary = Summary(reports: reports, sets: sets, minSize: minSize)
        if json { print(try jsonLine(summary.json)) } else { summary.print() }
        if summary.unreadable > 0 || summary.crossDuplicates > 0 { throw ExitCode(1) }
    }

    struct Summary {
        var json: [String: Any] = [:]
        var lines: [String] = []
        var unreadable = 0
        var crossDuplicates = 0

        init(reports: [FileReport], sets: [(String, ImageFolder)], minSize: Int) {
            var perSplit: [String: Any] = [:]
            for (split, folder) in sets {
                let counts = folder.classCounts
                perSplit[split] = Dictionary(uniqueKeysWithValues: zip(folder.classes, counts))
                lines.append("\(split): \(folder.count) images in \(folder.classes.count) classes")
                for (name, n) in zip(folder.classes, counts) { lines.append("  \(name): \(n)") }
                if let lo = counts.min(), let hi = counts.max(), lo > 0, Double(hi) / Double(lo) > 3 {
                    lines.append("  imbalance: the largest class has \(hi / lo)× the smallest; consider --class-weights auto")
                    json["\(split)_imbalance_ratio"] = Double(hi) / Double(lo)
                }
            }
            json["images_per_class"] = perSplit
            let bad = reports.filter { $0.error != nil }
            unreadable = bad.count
            json["unreadable"] = bad.map { ["path": $0.path, "reason": $0.error ?? ""] }
            for b in bad { lines.append("unreadable: \(b.error ?? b.path)") }
            func list(_ name: String, _ filter: (ImageInfo) -> Bool) {
                let hits = reports.filter { $0.info.map(filter) ?? false }.map(\.path)
                json[name] = hits
                if !hits.isEmpty {
                    lines.append("\(name.replacingOccurrences(of: "_", with: " ")) (\(hits.count)): "
                                 + hits.prefix(5).joined(separator: ", ") + (hits.count > 5 ? ", ..." : ""))
                }
            }
            list("grayscale", { $0.colorSpace == .grayscale || $0.colorSpace == .grayscaleAlpha })
            list("cmyk", { $0.colorSpace == .cmyk || $0.colorSpace == .ycck })
            list("16_bit", { $0.bitDepth > 8 })
            list("tiny", { min($0.width, $0.height) < minSize })
            var byHash: [String: [FileReport]] = [:]
            for r in reports { if let h = r.hash { byHash[h, default: []].append(r) } }
            let groups = byHash.values.filter { $0.count > 1 }.sorted { $0[0].path < $1[0].path }
            var duplicates: [[String: Any]] = []
            for g in groups {
                let across = Set(g.map(\.split)).count > 1
                if across { crossDuplicates += 1 }
                duplicates.append(["paths": g.map(\.path), "across_splits": across])
                lines.append("duplicate\(across ? " across train/val" : ""): " + g.map(\.path).joined(separator: " = "))
            }
            json["duplicates"] = duplicates
            json["duplicates_across_splits"] = crossDuplicates
            json["files"] = reports.count
            if unreadable == 0 && groups.isEmpty { lines.append("no unreadable files, no duplicates") }
        }

        func print() { for l in lines { Swift.print(l) } }
    }
}
