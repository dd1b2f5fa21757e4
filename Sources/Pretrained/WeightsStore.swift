import Foundation

/// Where weight files are looked for, in order: `$GRAFT_WEIGHTS`, Graft's cache
/// (`$GRAFT_CACHE/weights`, default `~/.cache/graft/weights`), and torchvision's
/// own cache (`$TORCH_HOME/hub/checkpoints`, default `~/.cache/torch/hub/checkpoints`),
/// so weights a user already downloaded with PyTorch are found.
public struct WeightsStore: Sendable {
    public var searchPaths: [URL]
    /// Where downloads go.
    public var downloadDirectory: URL
    /// The Hugging Face hub's cache, for weights that live on the hub (timm's).
    public var hub: HubCache

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory())
        let graftCache = environment["GRAFT_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? home.appendingPathComponent(".cache/graft")
        let torchHome = environment["TORCH_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["XDG_CACHE_HOME"] ?? home.appendingPathComponent(".cache").path)
                .appendingPathComponent("torch")
        var paths: [URL] = []
        if let explicit = environment["GRAFT_WEIGHTS"] { paths.append(URL(fileURLWithPath: explicit)) }
        downloadDirectory = graftCache.appendingPathComponent("weights")
        paths.append(downloadDirectory)
        paths.append(torchHome.appendingPathComponent("hub/checkpoints"))
        searchPaths = paths
        hub = HubCache(environment: environment)
    }

    /// The local file for `weights`, if any search path has it.
    public func locate(_ weights: PretrainedWeights) -> URL? {
        if let repository = weights.hubRepository, let found = hub.locate(repository: repository, file: weights.hubFile) {
            return found
        }
        return searchPaths.map { $0.appendingPathComponent(weights.fileName) }
            .first { FileManager.default.isReadableFile(atPath: $0.path) }
    }

    /// The local file, downloading it (with checksum verification) when it's
    /// missing and a URL is known; otherwise an error saying where to put it.
    public func resolve(_ weights: PretrainedWeights, download: Bool = true) throws -> URL {
        if let found = locate(weights) { return found }
        if download, let repository = weights.hubRepository {
            return try hub.download(repository: repository, file: weights.hubFile)
        }
        guard download, let url = weights.url else { throw WeightsError.notFound(weights, searched: searchPaths) }
        return try fetch(weights, from: url)
    }

    /// Downloads `url` into the download directory, verifies the hash, then renames into place.
    public func fetch(_ weights: PretrainedWeights, from url: URL) throws -> URL {
        try FileManager.default.createDirectory(at: downloadDirectory, withIntermediateDirectories: true)
        let destination = downloadDirectory.appendingPathComponent(weights.fileName)
        let partial = downloadDirectory.appendingPathComponent(".\(weights.fileName).\(ProcessInfo.processInfo.processIdentifier).part")
        defer { try? FileManager.default.removeItem(at: partial) }
        try Downloader.download(url, to: partial)
        let digest = try sha256Hex(of: partial)
        guard digest.hasPrefix(weights.sha256.lowercased()) else {
            throw WeightsError.checksumMismatch(url: url, expected: weights.sha256, actual: digest)
        }
        _ = try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: partial, to: destination)
        return destination
    }
}

public enum WeightsError: Error, CustomStringConvertible {
    case notFound(PretrainedWeights, searched: [URL])
    case checksumMismatch(url: URL, expected: String, actual: String)
    case download(url: URL, reason: String)
    case noWeights(model: String)
    /// A file of the Hugging Face hub that could not be downloaded.
    case hubDownload(url: URL, reason: String, repository: String, cache: URL)
    /// A catalogue tag this architecture has no entry for.
    case noSuchTag(model: String, tag: String, known: [String])

    public var description: String {
        switch self {
        case .notFound(let w, let searched):
            "weights for \(w.model) (\(w.fileName)) not found in \(searched.map(\.path).joined(separator: ", ")); "
                + "\(w.howToGet) and put it in \(searched.first?.path ?? "~/.cache/graft/weights")"
        case .checksumMismatch(let url, let expected, let actual):
            "\(url): SHA-256 \(actual) does not match the expected \(expected)…; the download is corrupt or not the published file, try again"
        case .download(let url, let reason):
            "cannot download \(url): \(reason); download it by hand into ~/.cache/graft/weights"
        case .noWeights(let model):
            "no pretrained weights are known for \(model); give a weights file, or start from random weights"
        case .hubDownload(let url, let reason, let repository, let cache):
            "cannot download \(url): \(reason); fetch it with `huggingface-cli download \(repository) model.safetensors` "
                + "(it lands in \(cache.path); set HF_HUB_CACHE or HF_HOME if yours is elsewhere), or give --weights FILE"
        case .noSuchTag(let model, let tag, let known):
            "\(model) has no \(tag) weights" + (known.isEmpty ? "" : "; it has \(known.joined(separator: ", "))")
        }
    }
}

