import Foundation

/// The Hugging Face hub's local cache, laid out as `huggingface_hub` writes it, so files a
/// user downloaded with timm or `huggingface-cli` are found and Graft's downloads are found
/// by them: `ROOT/models--ORG--NAME/refs/main` holds the revision,
/// `snapshots/REVISION/FILE` links to `blobs/ETAG` (the file's SHA-256 for LFS files).
/// ROOT is `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
public struct HubCache: Sendable {
    public var root: URL
    /// The hub's address: `$HF_ENDPOINT`, else https://huggingface.co.
    public var endpoint: URL

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory())
        if let cache = environment["HF_HUB_CACHE"], !cache.isEmpty {
            root = URL(fileURLWithPath: cache)
        } else if let hfHome = environment["HF_HOME"], !hfHome.isEmpty {
            root = URL(fileURLWithPath: hfHome).appendingPathComponent("hub")
        } else {
            root = home.appendingPathComponent(".cache/huggingface/hub")
        }
        endpoint = environment["HF_ENDPOINT"].flatMap { URL(string: $0) } ?? URL(string: "https://huggingface.co")!
    }

    /// `models--ORG--NAME`.
    public func folder(_ repository: String) -> URL {
        root.appendingPathComponent("models--" + repository.replacingOccurrences(of: "/", with: "--"))
    }

    /// The cached file: the revision `refs/main` names, else any snapshot holding it.
    public func locate(repository: String, file: String) -> URL? {
        let base = folder(repository)
        let snapshots = base.appendingPathComponent("snapshots")
        if let revision = try? String(contentsOf: base.appendingPathComponent("refs/main"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !revision.isEmpty, !revision.contains("/") {
            let candidate = snapshots.appendingPathComponent(revision).appendingPathComponent(file)
            if FileManager.default.isReadableFile(atPath: candidate.path) { return candidate }
        }
        let revisions = ((try? FileManager.default.contentsOfDirectory(atPath: snapshots.path)) ?? []).sorted()
        return revisions.map { snapshots.appendingPathComponent($0).appendingPathComponent(file) }
            .first { FileManager.default.isReadableFile(atPath: $0.path) }
    }

    /// Downloads `file` of `repository` from the hub's `resolve/main` into the cache layout,
    /// checking its SHA-256 against the hub's `X-Linked-Etag` when it sends one (LFS files).
    public func download(repository: String, file: String) throws -> URL {
        let url = endpoint.appendingPathComponent(repository).appendingPathComponent("resolve/main")
            .appendingPathComponent(file)
        let base = folder(repository)
        let blobs = base.appendingPathComponent("blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        let partial = blobs.appendingPathComponent(".\(ProcessInfo.processInfo.processIdentifier).incomplete")
        defer { try? FileManager.default.removeItem(at: partial) }
        let headers: [String: String]
        do {
            headers = try Downloader.download(url, to: partial)
        } catch WeightsError.download(_, let reason) {
            throw WeightsError.hubDownload(url: url, reason: reason, repository: repository, cache: root)
        }
        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
                .trimmingCharacters(in: CharacterSet(charactersIn: "\" ")).replacingOccurrences(of: "W/", with: "")
        }
        let digest = try sha256Hex(of: partial)
        let etag = header("X-Linked-Etag") ?? header("ETag")
        if let etag, etag.count == 64, etag.allSatisfy(\.isHexDigit), etag.lowercased() != digest {
            throw WeightsError.checksumMismatch(url: url, expected: etag, actual: digest)
        }
        let revision = header("X-Repo-Commit").flatMap { $0.allSatisfy { $0.isLetter || $0.isNumber } ? $0 : nil }
            ?? "main"
        let blob = blobs.appendingPathComponent(digest)
        _ = try? FileManager.default.removeItem(at: blob)
        try FileManager.default.moveItem(at: partial, to: blob)
        let snapshot = base.appendingPathComponent("snapshots").appendingPathComponent(revision)
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        let link = snapshot.appendingPathComponent(file)
        _ = try? FileManager.default.removeItem(at: link)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "../../blobs/" + digest)
        let refs = base.appendingPathComponent("refs")
        try FileManager.default.createDirectory(at: refs, withIntermediateDirectories: true)
        try Data(revision.utf8).write(to: refs.appendingPathComponent("main"), options: .atomic)
        return link
    }
}
