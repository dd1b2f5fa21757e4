// RegNet — "Designing Network Design Spaces" (Radosavovic et al., 2020). Mirrors
// torchvision/models/regnet.py: a 3×3 stride-2 stem of 32 channels, four stages of
// residual bottleneck blocks (1×1 → grouped 3×3 → [squeeze-excitation for RegNetY] → 1×1,
// a projection shortcut where the shape changes), average pool, `fc`. Stage widths and
// depths come from the quantised linear rule (w₀, wₐ, wₘ, depth), computed with libtorch's
// float32 ops exactly as torchvision's `BlockParams.from_init_params`.
import Foundation
import NN
import Torch

/// torchvision's `ResBottleneckBlock`: `proj` (when the shape changes), `f.a`, `f.b`,
/// [`f.se`], `f.c`.
final class ResBottleneckBlock: Module {
    let proj: ConvNormActivation?
    let f: Sequential

    init(_ widthIn: Int, _ widthOut: Int, stride: Int, groupWidth: Int, bottleneckMultiplier: Double,
         seRatio: Double?) {
        proj = widthIn != widthOut || stride != 1
            ? ConvNormActivation(widthIn, widthOut, kernelSize: 1, stride: stride, activation: nil) : nil
        let wb = Int((Double(widthOut) * bottleneckMultiplier).rounded(.toNearestOrEven))
        var layers: [(String, Module)] = [
            ("a", ConvNormActivation(widthIn, wb, kernelSize: 1)),
            ("b", ConvNormActivation(wb, wb, kernelSize: 3, stride: stride, groups: wb / groupWidth)),
        ]
        if let seRatio {
            layers.append(("se", SqueezeExcitation(wb, Int((seRatio * Double(widthIn)).rounded(.toNearestOrEven)))))
        }
        layers.append(("c", ConvNormActivation(wb, widthOut, kernelSize: 1, activation: nil)))
        f = Sequential(named: layers)
    }

    override func callAsFunction(_ x: Tensor) -> Tensor {
        let y = f(x)
        return (proj.map { $0(x) + y } ?? x + y).relu_()
    }
}

public final class RegNet: ImageClassifier {
    let stem: ConvNormActivation
    let trunk_output: Sequential
    var fc: Module

    /// One stage: (width, depth, group width); all with stride 2.
    public struct Stage: Sendable, Equatable {
        public var width: Int
        public var depth: Int
        public var groupWidth: Int
    }

    /// torchvision's `BlockParams.from_init_params`, in float32 as torchvision computes it.
    public static func stages(depth: Int, w0: Int, wa: Double, wm: Double, groupWidth: Int,
                              bottleneckMultiplier: Double = 1) -> [Stage] {
        let continuous = Tensor.arange(0, Double(depth), dtype: .int64).to(.float32) * wa + Double(w0)
        let capacity = ((continuous / Double(w0)).log() / Foundation.log(wm)).round()
        let widths = ((Tensor.full(capacity.shape, wm).pow(capacity) * Double(w0) / 8).round() * 8).to(.int32)
            .toArray(Int32.self).map(Int.init)
        var stages: [(width: Int, depth: Int)] = []
        for w in widths {
            if let last = stages.last, last.width == w { stages[stages.count - 1].depth += 1 } else { stages.append((w, 1)) }
        }
        return stages.map { stage in
            let bottleneck = Int(Double(stage.width) * bottleneckMultiplier)
            let group = min(groupWidth, bottleneck)
            let adjusted = makeDivisible(Double(bottleneck), group)
            return Stage(width: Int(Double(adjusted) / bottleneckMultiplier), depth: stage.depth, groupWidth: group)
        }
    }

    public init(stages: [Stage], seRatio: Double?, bottleneckMultiplier: Double = 1, numClasses: Int = 1000) {
        stem = ConvNormActivation(3, 32, kernelSize: 3, stride: 2)
        var width = 32
        var named: [(String, Module)] = []
        for (i, stage) in stages.enumerated() {
            var blocks: [(String, Module)] = []
            for j in 0..<stage.depth {
                blocks.append(("block\(i + 1)-\(j)", ResBottleneckBlock(
                    j == 0 ? width : stage.width, stage.width, stride: j == 0 ? 2 : 1, groupWidth: stage.groupWidth,
                    bottleneckMultiplier: bottleneckMultiplier, seRatio: seRatio)))
            }
            named.append(("block\(i + 1)", Sequential(named: blocks)))
            width = stage.width
        }
        trunk_output = Sequential(named: named)
        fc = Linear(width, numClasses)
        super.init()
        for (_, m) in namedModules() {
            if let conv = m as? Conv2d {
                let fanOut = conv.weight.size(2) * conv.weight.size(3) * conv.outChannels
                Init.normal(conv.weight, std: (2.0 / Double(fanOut)).squareRoot())
            } else if let bn = m as? BatchNorm2d {
                Init.constant(bn.weight, 1)
                Init.constant(bn.bias, 0)
            } else if let linear = m as? Linear {
                Init.normal(linear.weight, std: 0.01)
                if let b = linear.bias { Init.constant(b, 0) }
            }
        }
    }

    public override var classifierKey: String { "fc" }
    public override var firstConvKey: String { "stem.0" }
    public override var stageKeys: [String] { ["stem"] + childKeys(of: "trunk_output") }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        Functional.adaptiveAvgPool2d(trunk_output(stem(x)), outputSize: (1, 1)).flatten(startDim: 1)
    }
    public override func head(_ features: Tensor) -> Tensor { fc(features) }
    public override func replaceClassifier(with head: Module) { fc = head }

    static func y(_ depth: Int, _ w0: Int, _ wa: Double, _ wm: Double, _ g: Int, _ numClasses: Int) -> RegNet {
        RegNet(stages: stages(depth: depth, w0: w0, wa: wa, wm: wm, groupWidth: g), seRatio: 0.25, numClasses: numClasses)
    }
    static func x(_ depth: Int, _ w0: Int, _ wa: Double, _ wm: Double, _ g: Int, _ numClasses: Int) -> RegNet {
        RegNet(stages: stages(depth: depth, w0: w0, wa: wa, wm: wm, groupWidth: g), seRatio: nil, numClasses: numClasses)
    }

    public static func y400mf(numClasses: Int = 1000) -> RegNet { y(16, 48, 27.89, 2.09, 8, numClasses) }
    public static func y800mf(numClasses: Int = 1000) -> RegNet { y(14, 56, 38.84, 2.4, 16, numClasses) }
    public static func y1_6gf(numClasses: Int = 1000) -> RegNet { y(27, 48, 20.71, 2.65, 24, numClasses) }
    public static func y3_2gf(numClasses: Int = 1000) -> RegNet { y(21, 80, 42.63, 2.66, 24, numClasses) }
    public static func y8gf(numClasses: Int = 1000) -> RegNet { y(17, 192, 76.82, 2.19, 56, numClasses) }
    public static func y16gf(numClasses: Int = 1000) -> RegNet { y(18, 200, 106.23, 2.48, 112, numClasses) }
    public static func y32gf(numClasses: Int = 1000) -> RegNet { y(20, 232, 115.89, 2.53, 232, numClasses) }
    public static func y128gf(numClasses: Int = 1000) -> RegNet { y(27, 456, 160.83, 2.52, 264, numClasses) }
    public static func x400mf(numClasses: Int = 1000) -> RegNet { x(22, 24, 24.48, 2.54, 16, numClasses) }
    public static func x800mf(numClasses: Int = 1000) -> RegNet { x(16, 56, 35.73, 2.28, 16, numClasses) }
    public static func x1_6gf(numClasses: Int = 1000) -> RegNet { x(18, 80, 34.01, 2.25, 24, numClasses) }
    public static func x3_2gf(numClasses: Int = 1000) -> RegNet { x(25, 88, 26.31, 2.25, 48, numClasses) }
    public static func x8gf(numClasses: Int = 1000) -> RegNet { x(23, 80, 49.56, 2.88, 120, numClasses) }
    public static func x16gf(numClasses: Int = 1000) -> RegNet { x(22, 216, 55.59, 2.1, 128, numClasses) }
    public static func x32gf(numClasses: Int = 1000) -> RegNet { x(23, 320, 69.86, 2.0, 168, numClasses) }
}
