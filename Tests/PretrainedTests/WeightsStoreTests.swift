import Foundation
import Testing
import ImageData
@testable import Pretrained
import Vision

#if canImport(Glibc)
import Glibc
#endif

/// A one-file HTTP server on 127.0.0.1 (a random free port), for download tests.
final class LoopbackServer: @unchecked Sendable {
    let port: UInt16
    private let socketFD: Int32
    private let files: [String: Data]
    private let headers: [String: [String: String]]
    private var running = true

    init(files: [String: Data], headers: [String: [String: String]] = [:]) throws {
        self.files = files
        self.headers = headers
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        socketFD = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in serve() }.start()
    }

    private func serve() {
        while running {
            let client = accept(socketFD, nil, nil)
            guard client >= 0 else { return }
            var request = [UInt8](repeating: 0, count: 4096)
            let n = recv(client, &request, request.count, 0)
            let line = String(decoding: request.prefix(max(n, 0)), as: UTF8.self).split(separator: " ")
            let path = line.count > 1 ? String(line[1]) : "/"
            var response: Data
            if let body = files[path] {
                let extra = (headers[path] ?? [:]).map { "\($0.key): \($0.value)\r\n" }.joined()
                response = Data("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\(extra)Connection: close\r\n\r\n".utf8)
                response.append(body)
            } else {
                response = Data("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            }
            response.withUnsafeBytes { raw in
                var sent = 0
                while sent < raw.count {
                    let k = send(client, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                    if k <= 0 { break }
                    sent += k
                }
            }
            close(client)
        }
    }

    func stop() {
        running = false
        shutdown(socketFD, Int32(SHUT_RDWR))
        close(socketFD)
    }
}

@Suite struct WeightsStoreTests {
    func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("graft-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func weights(_ file: String, url: URL?, sha256: String) -> PretrainedWeights {
        PretrainedWeights(model: "resnet18", tag: "TEST", fileName: file, url: url, sha256: sha256,
                          howToGet: "download it", preprocessing: .imageNet, categories: ["a"])
    }

    @Test func downloadsVerifiesAndThenFindsTheFileLocally() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        var generator = SystemRandomNumberGenerator()
        let body = Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let reference = root.appendingPathComponent("reference.bin")
        try body.write(to: reference)
        let digest = try sha256Hex(of: reference)
        let server = try LoopbackServer(files: ["/w-\(digest.prefix(8)).pth": body])
        defer { server.stop() }
        let store = WeightsStore(environment: ["HOME": root.path, "GRAFT_CACHE": root.appendingPathComponent("cache").path,
                                               "TORCH_HOME": root.appendingPathComponent("torch").path])
        let file = "w-\(digest.prefix(8)).pth"
        let good = weights(file, url: URL(string: "http://127.0.0.1:\(server.port)/\(file)"), sha256: String(digest.prefix(8)))
        #expect(store.locate(good) == nil)
        let downloaded = try store.resolve(good)
        #expect(try Data(contentsOf: downloaded) == body)
        #expect(downloaded.path.hasPrefix(root.appendingPathComponent("cache/weights").path))
        #expect(store.locate(good) == downloaded)

        // A corrupt download is refused and leaves nothing behind.
        let wrong = weights("other.pth", url: URL(string: "http://127.0.0.1:\(server.port)/\(file)"), sha256: "00000000")
        #expect(throws: WeightsError.self) { try store.resolve(wrong) }
        let left = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("cache/weights").path)
        #expect(left == [file])

        // A missing file names the URL; without a URL the error says where to put the file.
        let missing = weights("missing.pth", url: URL(string: "http://127.0.0.1:\(server.port)/missing.pth"), sha256: "")
        #expect { try store.resolve(missing) } throws: { "\($0)".contains("404") }
        let offline = weights("offline.pth", url: nil, sha256: "")
        #expect { try store.resolve(offline) } throws: { "\($0)".contains("cache/weights") && "\($0)".contains("download it") }
    }

    @Test func findsWeightsInTorchvisionsOwnCache() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let hub = root.appendingPathComponent("torch/hub/checkpoints")
        try FileManager.default.createDirectory(at: hub, withIntermediateDirectories: true)
        let w = try #require(PretrainedWeights.forModel("resnet18"))
        #expect(w.fileName == "resnet18-f37072fd.pth" && w.categories.count == 1000)
        try Data([1, 2, 3]).write(to: hub.appendingPathComponent(w.fileName))
        let store = WeightsStore(environment: ["HOME": root.path, "TORCH_HOME": root.appendingPathComponent("torch").path])
        #expect(store.locate(w)?.path == hub.appendingPathComponent(w.fileName).path)
        let viaHome = WeightsStore(environment: ["HOME": root.path, "XDG_CACHE_HOME": root.path])
        #expect(viaHome.locate(w) != nil)
    }

    @Test func registryCoversTheZoo() {
        for name in Zoo.names {
            let w = PretrainedWeights.forModel(name)
            #expect(w != nil, "\(name) has default weights")
            // timm's: their own heads (in22k 21841, CLIP's 512-d projection, none for DINOv2).
            let classes = TimmWeights.all.first { $0.model == name }?.numClasses ?? 1000
            #expect(w?.categories.count == classes, "\(name)")
        }
        #expect(PretrainedWeights.forModel("resnet50")?.tag == "IMAGENET1K_V2")  // torchvision's DEFAULT
    }

    /// Every torchvision entry by its tag, with its input and license as torchvision 0.29.2's
    /// metadata says (a few spot values; the table is generated from it).
    @Test func catalogueEntriesByTagWithTheirLicenses() throws {
        #expect(TorchvisionWeights.all.count == 102)
        let swag = try #require(PretrainedWeights.forModel("vit_b_16", tag: "IMAGENET1K_SWAG_E2E_V1"))
        #expect(swag.isNonCommercial && swag.license == "CC-BY-NC-4.0")
        #expect(swag.preprocessing.cropSize == 384 && swag.preprocessing.resizeSize == 384)
        #expect(swag.preprocessing.interpolation == .bicubic && swag.fileName == "vit_b_16_swag-9ac1b537.pth")
        #expect(PretrainedWeights.forModel("vit_b_16")?.tag == "IMAGENET1K_V1")
        #expect(PretrainedWeights.forModel("vit_h_14")?.tag == "IMAGENET1K_SWAG_E2E_V1")
        #expect(PretrainedWeights.forModel("regnet_y_128gf")?.preprocessing.cropSize == 384)
        let tiny = try #require(PretrainedWeights.forModel("convnext_tiny"))
        #expect(tiny.license == "BSD-3-Clause" && tiny.preprocessing.resizeSize == 236 && tiny.accuracy == 82.52)
        #expect(PretrainedWeights.forModel("swin_v2_t")?.preprocessing.cropSize == 256)
        #expect(PretrainedWeights.entries(for: "regnet_y_16gf").map(\.tag)
                == ["IMAGENET1K_V2", "IMAGENET1K_V1", "IMAGENET1K_SWAG_E2E_V1", "IMAGENET1K_SWAG_LINEAR_V1"])
        #expect(PretrainedWeights.tags.contains("IMAGENET1K_SWAG_LINEAR_V1"))
        #expect(TorchvisionWeights.all.filter(\.isNonCommercial).count == 12)  // SWAG: 3 ViTs and 3 RegNetYs, E2E and linear
    }

    /// The Hugging Face cache as huggingface_hub lays it out: found under $HF_HUB_CACHE,
    /// $HF_HOME/hub or ~/.cache/huggingface/hub, at the revision refs/main names.
    @Test func findsTimmFilesInTheHuggingFaceCache() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let repo = "timm/vit_small_patch14_dinov2.lvd142m"
        func place(_ hub: URL, revision: String) throws -> URL {
            let base = hub.appendingPathComponent("models--timm--vit_small_patch14_dinov2.lvd142m")
            let blob = base.appendingPathComponent("blobs/abc")
            try FileManager.default.createDirectory(at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data([1, 2, 3]).write(to: blob)
            let snapshot = base.appendingPathComponent("snapshots/\(revision)")
            try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
            let link = snapshot.appendingPathComponent("model.safetensors")
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "../../blobs/abc")
            try FileManager.default.createDirectory(at: base.appendingPathComponent("refs"), withIntermediateDirectories: true)
            try Data(revision.utf8).write(to: base.appendingPathComponent("refs/main"))
            return link
        }
        let explicit = try place(root.appendingPathComponent("explicit"), revision: "1111")
        let viaHome = try place(root.appendingPathComponent("hf/hub"), revision: "2222")
        let viaDefault = try place(root.appendingPathComponent(".cache/huggingface/hub"), revision: "3333")
        #expect(HubCache(environment: ["HOME": root.path, "HF_HUB_CACHE": root.appendingPathComponent("explicit").path])
            .locate(repository: repo, file: "model.safetensors") == explicit)
        #expect(HubCache(environment: ["HOME": root.path, "HF_HOME": root.appendingPathComponent("hf").path])
            .locate(repository: repo, file: "model.safetensors") == viaHome)
        let store = WeightsStore(environment: ["HOME": root.path])
        #expect(store.hub.locate(repository: repo, file: "model.safetensors") == viaDefault)
        let weights = try #require(PretrainedWeights.forModel("vit_small_patch14_dinov2.lvd142m"))
        #expect(weights.hubRepository == repo && weights.license == "Apache-2.0")
        #expect(weights.preprocessing.cropSize == 518 && weights.preprocessing.resizeSize == 518)
        #expect(store.locate(weights) == viaDefault)
    }

    /// A timm file missing from the cache is downloaded from the hub's resolve URL
    /// ($HF_ENDPOINT, here a loopback server) into the cache layout, checked against the
    /// hub's SHA-256; a file whose bytes don't match is refused and leaves no blob.
    @Test func downloadsFromTheHubIntoItsCacheLayout() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let body = Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let reference = root.appendingPathComponent("reference.bin")
        try body.write(to: reference)
        let digest = try sha256Hex(of: reference)
        let good = "/timm/vit_small_patch14_dinov2.lvd142m/resolve/main/model.safetensors"
        let bad = "/timm/vit_base_patch14_dinov2.lvd142m/resolve/main/model.safetensors"
        let server = try LoopbackServer(files: [good: body, bad: body], headers: [
            good: ["X-Repo-Commit": "0123abcd", "X-Linked-Etag": "\"\(digest)\""],
            bad: ["X-Repo-Commit": "0123abcd", "X-Linked-Etag": "\"\(String(repeating: "0", count: 64))\""],
        ])
        defer { server.stop() }
        let environment = ["HOME": root.path, "HF_HUB_CACHE": root.appendingPathComponent("hub").path,
                           "HF_ENDPOINT": "http://127.0.0.1:\(server.port)", "GRAFT_CACHE": root.appendingPathComponent("g").path]
        let store = WeightsStore(environment: environment)
        let weights = try #require(PretrainedWeights.forModel("vit_small_patch14_dinov2.lvd142m"))
        #expect(store.locate(weights) == nil)
        let file = try store.resolve(weights)
        #expect(try Data(contentsOf: file) == body)
        let base = root.appendingPathComponent("hub/models--timm--vit_small_patch14_dinov2.lvd142m")
        #expect(file.path == base.appendingPathComponent("snapshots/0123abcd/model.safetensors").path)
        #expect(try String(contentsOf: base.appendingPathComponent("refs/main"), encoding: .utf8) == "0123abcd")
        #expect(FileManager.default.fileExists(atPath: base.appendingPathComponent("blobs/\(digest)").path))
        #expect(store.locate(weights) == file)
        let other = try #require(PretrainedWeights.forModel("vit_base_patch14_dinov2.lvd142m"))
        #expect(throws: WeightsError.self) { try store.resolve(other) }
        let blobs = root.appendingPathComponent("hub/models--timm--vit_base_patch14_dinov2.lvd142m/blobs")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: blobs.path)) ?? []).isEmpty)
    }
}
