import ImageData
import Vision

extension EvalPreprocessing {
    /// The evaluation transform a model's weights expect.
    public init(_ p: Preprocessing) {
        self.init(cropSize: p.cropSize, resizeSize: p.resizeSize,
                  interpolation: Interpolation(rawValue: p.interpolation) ?? .bilinear, mean: p.mean, std: p.std)
    }
}
