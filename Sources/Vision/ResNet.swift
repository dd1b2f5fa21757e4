// ResNet — "Deep Residual Learning for Image Recognition" (He et al., 2015).
// Mirrors torchvision/models/resnet.py (v1.5: the stride sits on the 3×3 conv of a
// Bottleneck), with the same module names, so torchvision's weights load unchanged.
import NN
import Torch

public final class BasicBlock: Module {
    public static let expansion = 1
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let conv2: Conv2d
    let bn2: BatchNorm2d
    let downsample: Sequential?

    init(_ inplanes: Int, _ planes: Int, stride: Int, downsample: Sequential?) {
        conv1 = Conv2d(inplanes, planes, kernelSize: 3, stride: stride, padding: 1, bias: false)
        bn1 = BatchNorm2d(planes)
        conv2 = Conv2d(planes, planes, kernelSize: 3, padding: 1, bias: false)
        bn2 = BatchNorm2d(planes)
        self.downsample = downsample
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        // In place, as torchvision's `out += identity; relu(inplace=True)`: fewer allocations.
        let out = bn2(conv2(bn1(conv1(x)).relu_()))
        return out.add_(downsample?(x) ?? x).relu_()
    }
}

public final class Bottleneck: Module {
    public static let expansion = 4
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let conv2: Conv2d
    let bn2: BatchNorm2d
    let conv3: Conv2d
    let bn3: BatchNorm2d
    let downsample: Sequential?

    init(_ inplanes: Int, _ planes: Int, stride: Int, downsample: Sequential?, groups: Int = 1, baseWidth: Int = 64) {
        let width = planes * baseWidth / 64 * groups
        conv1 = Conv2d(inplanes, width, kernelSize: 1, bias: false)
        bn1 = BatchNorm2d(width)
        conv2 = Conv2d(width, width, kernelSize: 3, stride: stride, padding: 1, groups: groups, bias: false)
        bn2 = BatchNorm2d(width)
        conv3 = Conv2d(width, planes * Self.expansion, kernelSize: 1, bias: false)
        bn3 = BatchNorm2d(planes * Self.expansion)
        self.downsample = downsample
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        var out = bn1(conv1(x)).relu_()
        out = bn2(conv2(out)).relu_()
        out = bn3(conv3(out))
        return out.add_(downsample?(x) ?? x).relu_()
    }
}

public final class ResNet: ImageClassifier {
    public enum Block { case basic, bottleneck }

    let conv1: Conv2d
    let bn1: BatchNorm2d
    let layer1: Sequential
    let layer2: Sequential
    let layer3: Sequential
    let layer4: Sequential
    var fc: Module

    /// - Parameters:
    ///   - layers: blocks per stage, e.g. [2, 2, 2, 2] for ResNet-18.
    public init(block: Block, layers: [Int], numClasses: Int = 1000, groups: Int = 1, widthPerGroup: Int = 64) {
        let expansion = block == .basic ? BasicBlock.expansion : Bottleneck.expansion
        var inplanes = 64
        func makeLayer(_ planes: Int, _ blocks: Int, stride: Int) -> Sequential {
            var downsample: Sequential?
            if stride != 1 || inplanes != planes * expansion {
                downsample = Sequential(
                    Conv2d(inplanes, planes * expansion, kernelSize: 1, stride: stride, bias: false),
                    BatchNorm2d(planes * expansion))
            }
            var modules: [Module] = []
            for i in 0..<blocks {
                let s = i == 0 ? stride : 1
                let d = i == 0 ? downsample : nil
                switch block {
                case .basic: modules.append(BasicBlock(inplanes, planes, stride: s, downsample: d))
                case .bottleneck:
                    modules.append(Bottleneck(inplanes, planes, stride: s, downsample: d, groups: groups,
                                              baseWidth: widthPerGroup))
                }
                inplanes = planes * expansion
            }
            return Sequential(modules)
        }
        conv1 = Conv2d(3, 64, kernelSize: 7, stride: 2, padding: 3, bias: false)
        bn1 = BatchNorm2d(64)
        layer1 = makeLayer(64, layers[0], stride: 1)
        layer2 = makeLayer(128, layers[1], stride: 2)
        layer3 = makeLayer(256, layers[2], stride: 2)
        layer4 = makeLayer(512, layers[3], stride: 2)
        fc = Linear(512 * expansion, numClasses)
        super.init()
        initialiseConvNet(self)
    }

    public override var classifierKey: String { "fc" }
    public override var firstConvKey: String { "conv1" }

    /// The four stages, for freezing up to a stage.
    public override var stageKeys: [String] { ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4"] }

    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        var y = bn1(conv1(x)).relu_()
        y = Functional.maxPool2d(y, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1))
        y = layer4(layer3(layer2(layer1(y))))
        return Functional.adaptiveAvgPool2d(y, outputSize: (1, 1)).flatten(startDim: 1)
    }

    public override func head(_ features: Tensor) -> Tensor { fc(features) }

    public override func replaceClassifier(with head: Module) { fc = head }

    public static func resnet18(numClasses: Int = 1000) -> ResNet { ResNet(block: .basic, layers: [2, 2, 2, 2], numClasses: numClasses) }
    public static func resnet34(numClasses: Int = 1000) -> ResNet { ResNet(block: .basic, layers: [3, 4, 6, 3], numClasses: numClasses) }
    public static func resnet50(numClasses: Int = 1000) -> ResNet { ResNet(block: .bottleneck, layers: [3, 4, 6, 3], numClasses: numClasses) }
    public static func resnet101(numClasses: Int = 1000) -> ResNet { ResNet(block: .bottleneck, layers: [3, 4, 23, 3], numClasses: numClasses) }
    public static func resnet152(numClasses: Int = 1000) -> ResNet { ResNet(block: .bottleneck, layers: [3, 8, 36, 3], numClasses: numClasses) }
    // ResNeXt (Xie et al., 2016): grouped 3×3 convolutions; Wide ResNet (Zagoruyko &
    // Komodakis, 2016): twice the bottleneck width. torchvision's constructors.
    public static func resnext50_32x4d(numClasses: Int = 1000) -> ResNet {
        ResNet(block: .bottleneck, layers: [3, 4, 6, 3], numClasses: numClasses, groups: 32, widthPerGroup: 4)
    }
    public static func resnext101_32x8d(numClasses: Int = 1000) -> ResNet {
        ResNet(block: .bottleneck, layers: [3, 4, 23, 3], numClasses: numClasses, groups: 32, widthPerGroup: 8)
    }
    public static func resnext101_64x4d(numClasses: Int = 1000) -> ResNet {
        ResNet(block: .bottleneck, layers: [3, 4, 23, 3], numClasses: numClasses, groups: 64, widthPerGroup: 4)
    }
    public static func wideResnet50_2(numClasses: Int = 1000) -> ResNet {
        ResNet(block: .bottleneck, layers: [3, 4, 6, 3], numClasses: numClasses, widthPerGroup: 128)
    }
    public static func wideResnet101_2(numClasses: Int = 1000) -> ResNet {
        ResNet(block: .bottleneck, layers: [3, 4, 23, 3], numClasses: numClasses, widthPerGroup: 128)
    }
}
