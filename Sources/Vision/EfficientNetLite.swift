// EfficientNet-Lite — the mobile variants of EfficientNet (Google, 2020): no
// squeeze-excitation, ReLU6, stem (32) and head (1280) fixed, the first and last
// stages not repeated more. Mirrors the `efficientnet_pytorch` naming of the
// published PyTorch weights (`_conv_stem`, `_blocks.N._depthwise_conv`, `_fc`), which
// torchvision lacks, with TensorFlow's "SAME" padding (asymmetric on stride 2),
// BatchNorm eps 1e-3 / momentum 0.01, and input scaled as (x − 127) / 128.
import Foundation
import NN
import Torch

/// A convolution with TensorFlow's "SAME" padding: the output is ⌈input / stride⌉
/// and any odd padding goes to the bottom and right. Computed per input size.
public final class Conv2dSame: Module {
    @Parameter public var weight: Tensor
    public let stride: Int, groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, groups: Int = 1) {
        let conv = Conv2d(inChannels, outChannels, kernelSize: kernelSize, groups: groups, bias: false)
        self.weight = conv.weight
        self.stride = stride
        self.groups = groups
    }

    /// (before, after) padding for one spatial dimension.
    public static func samePadding(input: Int, kernel: Int, stride: Int) -> (Int, Int) {
        let output = (input + stride - 1) / stride
        let total = max((output - 1) * stride + kernel - input, 0)
        return (total / 2, total - total / 2)
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        let k = weight.size(2)
        let (top, bottom) = Self.samePadding(input: x.size(2), kernel: k, stride: stride)
        let (left, right) = Self.samePadding(input: x.size(3), kernel: k, stride: stride)
        let padded = top + bottom + left + right == 0 ? x : Functional.pad(x, [left, right, top, bottom])
        return AutocastPolicy.depthwise(padded, weight: weight, groups: groups) {
            Functional.conv2d($0, weight: weight, stride: (stride, stride), groups: groups)
        }
    }
}

final class LiteBlock: Module {
    let _expand_conv: Conv2dSame?
    let _bn0: BatchNorm2d?
    let _depthwise_conv: Conv2dSame
    let _bn1: BatchNorm2d
    let _project_conv: Conv2dSame
    let _bn2: BatchNorm2d
    let dropConnect: StochasticDepth
    let useResidual: Bool

    init(input: Int, output: Int, expandRatio: Int, kernel: Int, stride: Int, dropConnect: Double) {
        let expanded = input * expandRatio
        if expandRatio != 1 {
            _expand_conv = Conv2dSame(input, expanded, kernelSize: 1)
            _bn0 = BatchNorm2d(expanded, eps: 1e-3, momentum: 0.01)
        } else {
            _expand_conv = nil
            _bn0 = nil
        }
        _depthwise_conv = Conv2dSame(expanded, expanded, kernelSize: kernel, stride: stride, groups: expanded)
        _bn1 = BatchNorm2d(expanded, eps: 1e-3, momentum: 0.01)
        _project_conv = Conv2dSame(expanded, output, kernelSize: 1)
        _bn2 = BatchNorm2d(output, eps: 1e-3, momentum: 0.01)
        self.dropConnect = StochasticDepth(p: dropConnect)
        useResidual = stride == 1 && input == output
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        var y = x
        if let expand = _expand_conv, let bn = _bn0 { y = bn(expand(y)).relu6() }
        y = _bn1(_depthwise_conv(y)).relu6()
        y = _bn2(_project_conv(y))
        return useResidual ? dropConnect(y) + x : y
    }
}

public final class EfficientNetLite: ImageClassifier {
    let _conv_stem: Conv2dSame
    let _bn0: BatchNorm2d
    let _blocks: [Module]
    let _conv_head: Conv2dSame
    let _bn1: BatchNorm2d
    let dropout: Dropout
    var _fc: Module

    /// - Parameters: width and depth multipliers (Lite0 1.0/1.0, Lite1 1.0/1.1, Lite2 1.1/1.2).
    public init(widthMultiplier: Double, depthMultiplier: Double, dropout: Double, numClasses: Int = 1000,
                dropConnect: Double = 0.2) {
        // expand, kernel, stride, output, repeats (EfficientNet-B0's table)
        let table: [(Int, Int, Int, Int, Int)] = [
            (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
            (6, 5, 2, 192, 4), (6, 3, 1, 320, 1),
        ]
        func channels(_ c: Int) -> Int { makeDivisible(Double(c) * widthMultiplier, 8) }
        var blockSpecs: [(input: Int, output: Int, expand: Int, kernel: Int, stride: Int)] = []
        var input = 32
        for (i, (expand, kernel, stride, out, repeats)) in table.enumerated() {
            let output = i == 0 ? out : channels(out)   // the first stage is fixed in Lite
            let n = (i == 0 || i == table.count - 1) ? repeats : Int(Foundation.ceil(Double(repeats) * depthMultiplier))
            for j in 0..<n {
                blockSpecs.append((j == 0 ? input : output, output, expand, kernel, j == 0 ? stride : 1))
            }
            input = output
        }
        _conv_stem = Conv2dSame(3, 32, kernelSize: 3, stride: 2)
        _bn0 = BatchNorm2d(32, eps: 1e-3, momentum: 0.01)
        _blocks = blockSpecs.enumerated().map { i, s in
            LiteBlock(input: s.input, output: s.output, expandRatio: s.expand, kernel: s.kernel, stride: s.stride,
                      dropConnect: dropConnect * Double(i) / Double(blockSpecs.count))
        }
        _conv_head = Conv2dSame(input, 1280, kernelSize: 1)
        _bn1 = BatchNorm2d(1280, eps: 1e-3, momentum: 0.01)
        self.dropout = Dropout(p: dropout)
        _fc = Linear(1280, numClasses)
        super.init()
    }

    public override var classifierKey: String { "_fc" }
    public override var firstConvKey: String { "_conv_stem" }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        var y = _bn0(_conv_stem(x)).relu6()
        for block in _blocks { y = block(y) }
        y = _bn1(_conv_head(y)).relu6()
        return Functional.adaptiveAvgPool2d(y, outputSize: (1, 1)).flatten(startDim: 1)
    }
    public override func head(_ features: Tensor) -> Tensor { _fc(dropout(features)) }
    public override func replaceClassifier(with head: Module) { _fc = head }

    public static func lite0(numClasses: Int = 1000) -> EfficientNetLite {
        EfficientNetLite(widthMultiplier: 1.0, depthMultiplier: 1.0, dropout: 0.2, numClasses: numClasses)
    }
    public static func lite1(numClasses: Int = 1000) -> EfficientNetLite {
        EfficientNetLite(widthMultiplier: 1.0, depthMultiplier: 1.1, dropout: 0.2, numClasses: numClasses)
    }
    public static func lite2(numClasses: Int = 1000) -> EfficientNetLite {
        EfficientNetLite(widthMultiplier: 1.1, depthMultiplier: 1.2, dropout: 0.3, numClasses: numClasses)
    }
}
