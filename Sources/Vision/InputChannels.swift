import NN
import Torch

/// Pretrained RGB networks on inputs with another number of channels (gray X-rays, 4- or
/// 13-band satellite tiles), as timm's `adapt_input_conv` (timm 1.0.31,
/// `timm/models/_manipulate.py`): the first convolution's weights are derived from the
/// pretrained RGB ones instead of drawn afresh.
public enum InputChannels {
    public struct AdaptError: Error, CustomStringConvertible {
        public let description: String
    }

    /// timm's `adapt_input_conv(inChannels, weight, baseChannels)` for an OIHW weight:
    /// unchanged for `baseChannels`; for 1 channel the sum over the input channels (over each
    /// group of `baseChannels` for a space-to-depth stem whose weight has a multiple of them);
    /// otherwise the channels repeated ⌈N / base⌉ times, cut to N and scaled by base / N, so
    /// an input that repeats the same image in every channel gives the pretrained response.
    /// Computed in float32 and returned in the weight's dtype.
    public static func adaptConvWeight(_ weight: Tensor, to inChannels: Int, baseChannels: Int = 3) throws -> Tensor {
        guard inChannels >= 1, baseChannels >= 1 else {
            throw AdaptError(description: "input channels must be positive (got \(inChannels), base \(baseChannels))")
        }
        guard weight.rank == 4 else {
            throw AdaptError(description: "the first layer's weight has shape \(weight.shape): only convolution weights (4-d) can be adapted")
        }
        let (o, i, j, k) = (weight.size(0), weight.size(1), weight.size(2), weight.size(3))
        if inChannels == baseChannels { return weight }
        let type = weight.dtype
        var w = weight.to(.float32)
        if inChannels == 1 {
            if i > baseChannels {
                guard i % baseChannels == 0 else {
                    throw AdaptError(description: "the first convolution takes \(i) channels, not a multiple of \(baseChannels)")
                }
                w = w.reshape([o, i / baseChannels, baseChannels, j, k]).sum(dims: [2])
            } else {
                w = w.sum(dims: [1], keepDim: true)
            }
        } else {
            guard i == baseChannels else {
                throw AdaptError(description: "the first convolution takes \(i) channels, not \(baseChannels): its weights can't be adapted to \(inChannels)")
            }
            let repeats = (inChannels + baseChannels - 1) / baseChannels
            w = w.repeated([1, repeats, 1, 1])[TensorIndex.all, 0..<inChannels].contiguous()
            w = w * (Double(baseChannels) / Double(inChannels))
        }
        return w.to(type)
    }
}

extension ImageClassifier {
    /// The weight of the first convolution (at ``firstConvKey``).
    var firstConvWeight: Parameter? { namedParameters().first { $0.key == firstConvKey + ".weight" }?.parameter }

    /// The first convolution's input channels (3 for the zoo's RGB networks).
    public var inputChannels: Int { firstConvWeight?.value.size(1) ?? 3 }

    /// Makes the network take `channels` input channels: the first convolution's weight (at
    /// ``firstConvKey``) replaced by ``InputChannels/adaptConvWeight(_:to:baseChannels:)`` of
    /// the current one, so call it after loading pretrained weights. Its bias is unchanged.
    public func adaptInputChannels(to channels: Int) throws {
        guard let parameter = firstConvWeight else {
            throw InputChannels.AdaptError(description: "\(type(of: self)) has no weight at \(firstConvKey).weight to adapt")
        }
        if let inception = self as? InceptionV3, inception.transformInput, channels != 3 {
            throw InputChannels.AdaptError(description: "Inception v3's transform_input rescales the three RGB channels: turn it off to take \(channels)")
        }
        let adapted = try InputChannels.adaptConvWeight(parameter.value.detach(), to: channels)
        parameter.value = adapted.requiresGrad(parameter.value.requiresGrad)
    }
}
