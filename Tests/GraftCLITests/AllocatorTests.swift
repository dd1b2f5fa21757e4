import Foundation
import Optimizers
import Pretrained
import Testing

/// `Torch.keepFreedMemory()`, as the `graft` tool and `graft-bench` apply it at start:
/// a freed 100 MB buffer (a ResNet-18 activation at batch 32) is reused without page faults.
@Suite struct AllocatorTests {
    static let bench = CLITests.binary.deletingLastPathComponent().appendingPathComponent("graft-bench")

    /// `graft-bench faults` run with `environment` added: minor faults and the buffers' pages.
    static func faults(_ environment: [String: String]) throws -> (faults: Int, pages: Int, maxRSSMB: Int) {
        let process = Process()
        process.executableURL = bench
        process.arguments = ["faults"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let line = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (try #require(line["minor_faults"] as? Int), try #require(line["pages"] as? Int),
                try #require(line["max_rss_mb"] as? Int))
    }

    @Test func freedBuffersAreReusedWithoutPageFaults() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.bench.path), "build graft-bench first")
        let kept = try Self.faults([:])
        let glibc = try Self.faults(["GRAFT_KEEP_FREED_MEMORY": "0"])
        // glibc's default maps each 100 MB block afresh: every page faults, every time.
        #expect(glibc.faults >= glibc.pages * 9 / 10, "default: \(glibc.faults) faults for \(glibc.pages) pages")
        // Kept: reused from the heap (measured: none or one of the ten faults in, the others
        // don't), and the heap doesn't grow a copy per buffer (it did with libtorch's own
        // posix_memalign allocator: up to 16 copies, 1.6 GB, depending on where ASLR put it).
        #expect(kept.faults < kept.pages / 5, "kept: \(kept.faults) faults for \(kept.pages) pages")
        #expect(kept.maxRSSMB < 400, "kept: peak \(kept.maxRSSMB) MB for a 100 MB buffer")
    }
}
