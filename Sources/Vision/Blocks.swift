import NN
import Torch

/// torchvision's `_make_divisible`: round channels to a multiple of `divisor`,
/// never dropping more than 10 %.
func makeDivisible(_ v: Double, _ divisor: Int, minValue: Int? = nil) -> Int {
    let minValue = minValue ?? divisor
    var newV = max(minValue, Int(v + Double(divisor) / 2) / divisor * divisor)
    if Double(newV) < 0.9 * v { newV += divisor }
    return newV
}

/// Convolution, BatchNorm, activation: torchvision's `Conv2dNormActivation`
/// (an `nn.Sequential`, keys `0`, `1`). Padding defaults to `(k - 1) / 2 × dilation`.
final class ConvNormActivation: Sequential {
    init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int = 3, stride: Int = 1, groups: Int = 1,
         dilation: Int = 1, eps: Double = 1e-5, momentum: Double? = 0.1, activation: Activation.Kind? = .relu) {
        var layers: [Module] = [
            Conv2d(inChannels, outChannels, kernelSize: kernelSize, stride: stride,
                   padding: (kernelSize - 1) / 2 * dilation, dilation: dilation, groups: groups, bias: false),
            BatchNorm2d(outChannels, eps: eps, momentum: momentum),
        ]
        if let activation { layers.append(Activation(activation)) }
        super.init(layers)
    }
}

/// Squeeze-and-excitation (Hu et al., 2017), as torchvision's `SqueezeExcitation`:
/// `fc1`, `fc2` are 1×1 convolutions with bias.
final class SqueezeExcitation: Module {
    let fc1: Conv2d
    let fc2: Conv2d
    let activation: Activation.Kind
    let scaleActivation: Activation.Kind

    init(_ inputChannels: Int, _ squeezeChannels: Int, activation: Activation.Kind = .relu,
         scaleActivation: Activation.Kind = .sigmoid) {
        fc1 = Conv2d(inputChannels, squeezeChannels, kernelSize: 1)
        fc2 = Conv2d(squeezeChannels, inputChannels, kernelSize: 1)
        self.activation = activation
        self.scaleActivation = scaleActivation
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        var s = Functional.adaptiveAvgPool2d(x, outputSize: (1, 1))
        s = Activation(activation)(fc1(s))
        s = Activation(scaleActivation)(fc2(s))
        return s * x
    }
}

/// Stochastic depth (Huang et al., 2016) in torchvision's "row" mode: in training,
/// drops the whole residual branch per sample with probability `p`.
final class StochasticDepth: Module {
    let p: Double
    init(p: Double) { self.p = p }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining, p > 0 else { return x }
        let survival = 1 - p
        let shape = [x.size(0)] + Array(repeating: 1, count: max(x.rank - 1, 0))
        let noise = Tensor.empty(shape, dtype: x.dtype, device: x.device).bernoulli_(survival)
        if survival > 0 { noise.div_(survival) }
        return x * noise
    }
}

/// Layer ordinals (``LayerGroups``) for torchvision's staged `features` (ConvNeXt, Swin):
/// `features.0` the stem; `features.(2s+1).b` block b of stage s; `features.(2s)` the
/// downsampling into stage s, which timm puts at the start of stage s and groups with its
/// first block; `finalNorm` (Swin's `norm`) with the last block; everything else the head.
/// timm's `group_matcher` for its ConvNeXt and Swin, on torchvision's names.
func torchvisionStagedOrdinal(_ key: String, finalNorm: String? = nil) -> [Double] {
    let parts = key.split(separator: ".")
    if let i = LayerGroups.index(parts, at: 0, named: "features") {
        if i == 0 { return [0] }
        if i % 2 == 1, parts.count > 2, let block = Int(parts[2]) { return [1, Double((i - 1) / 2), Double(block)] }
        if i % 2 == 0 { return [1, Double(i / 2), 0] }
    }
    if let finalNorm, Module.key(key, isUnder: finalNorm) { return [1, LayerGroups.matchPrevious] }
    return LayerGroups.unmatched
}
