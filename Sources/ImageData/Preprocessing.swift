/// How a model expects its input, from the weights' metadata: the steps of torchvision's
/// `ImageClassification` preset as v2 transforms,
/// `Resize(resizeSize, interpolation, antialias=True)` → `CenterCrop(cropSize)` →
/// `ToDtype(float32, scale=True)` → `Normalize(mean, std)`.
///
/// The one preprocessing type: weights catalogues, model files, the trainer and the CLI
/// all carry this. Its ``transform`` takes a CHW `uint8` image and gives a `float32` CHW
/// image of `cropSize` × `cropSize`. Stored in model files as JSON (`resizeSize`,
/// `cropSize`, `interpolation` as torchvision's name, `mean`, `std`).
///
/// The preset itself calls torchvision's v1 functions, which on a `uint8` tensor resize in
/// float32 and round, and divide by 255 instead of multiplying by 1/255: its output can differ
/// from this pipeline's by one grey level before normalization.
public struct Preprocessing: Codable, Sendable, Hashable {
    public var resizeSize: Int
    public var cropSize: Int
    public var interpolation: Interpolation
    public var mean: [Double]
    public var std: [Double]

    /// ImageNet's channel statistics, the preset's defaults.
    public static let imageNetMean = [0.485, 0.456, 0.406]
    public static let imageNetStd = [0.229, 0.224, 0.225]

    /// torchvision's ImageNet preset: resize 256, crop 224, bilinear, ImageNet statistics.
    public static let imageNet = Preprocessing(cropSize: 224)

    public init(
        cropSize: Int, resizeSize: Int = 256, interpolation: Interpolation = .bilinear,
        mean: [Double] = imageNetMean, std: [Double] = imageNetStd
    ) {
        self.cropSize = cropSize
        self.resizeSize = resizeSize
        self.interpolation = interpolation
        self.mean = mean
        self.std = std
    }

    private enum CodingKeys: String, CodingKey { case resizeSize, cropSize, interpolation, mean, std }

    /// Reads a stored preprocessing and refuses one its transforms can't run (sizes not
    /// positive, mean and std of different or zero length, a zero std): a damaged or
    /// hand-edited model card is a decoding error, never a trap in a transform.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(cropSize: try c.decode(Int.self, forKey: .cropSize), resizeSize: try c.decode(Int.self, forKey: .resizeSize),
                  interpolation: try c.decode(Interpolation.self, forKey: .interpolation),
                  mean: try c.decode([Double].self, forKey: .mean), std: try c.decode([Double].self, forKey: .std))
        func refuse(_ key: CodingKeys, _ why: String) -> DecodingError {
            .dataCorruptedError(forKey: key, in: c, debugDescription: why)
        }
        guard (1...65_536).contains(cropSize) else { throw refuse(.cropSize, "cropSize \(cropSize) is not a positive size") }
        guard (1...65_536).contains(resizeSize) else { throw refuse(.resizeSize, "resizeSize \(resizeSize) is not a positive size") }
        guard !mean.isEmpty, mean.count == std.count else {
            throw refuse(.std, "mean has \(mean.count) values and std \(std.count); they need one per channel each")
        }
        guard std.allSatisfy({ $0 != 0 && $0.isFinite }), mean.allSatisfy(\.isFinite) else {
            throw refuse(.std, "std must be finite and non-zero, mean finite")
        }
    }

    /// The same preprocessing at another crop size, keeping the resize-to-crop ratio,
    /// the interpolation and the normalisation (`size` nil or equal: unchanged).
    public func resized(to size: Int?) -> Preprocessing {
        guard let size, size != cropSize else { return self }
        var p = self
        p.cropSize = size
        p.resizeSize = Int((Double(size) * Double(resizeSize) / Double(cropSize)).rounded())
        return p
    }

    /// The pipeline, deterministic.
    public var transform: Compose {
        Compose([
            Resize(size: resizeSize, interpolation: interpolation),
            CenterCrop(cropSize),
            ToFloat(),
            Normalize(mean: mean, std: std),
        ])
    }
}
