// VGG — "Very Deep Convolutional Networks for Large-Scale Image Recognition"
// (Simonyan & Zisserman, 2014). Mirrors torchvision/models/vgg.py: `features`
// numbered as torchvision's nn.Sequential, `classifier.0..6`.
import NN
import Torch

public final class VGG: ImageClassifier {
    /// torchvision's configurations: channel counts, 0 = max pool.
    public static let configurations: [String: [Int]] = [
        "A": [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        "B": [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        "D": [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
        "E": [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
    ]

    let features: Sequential
    let classifier: Sequential

    public init(configuration: [Int], batchNorm: Bool, numClasses: Int = 1000, dropout: Double = 0.5) {
        var layers: [Module] = []
        var inChannels = 3
        for v in configuration {
            if v == 0 {
                layers.append(MaxPool2d(kernelSize: 2, stride: 2))
            } else {
                layers.append(Conv2d(inChannels, v, kernelSize: 3, padding: 1))
                if batchNorm { layers.append(BatchNorm2d(v)) }
                layers.append(Activation(.relu))
                inChannels = v
            }
        }
        features = Sequential(layers)
        classifier = Sequential(
            Linear(512 * 7 * 7, 4096), Activation(.relu), Dropout(p: dropout),
            Linear(4096, 4096), Activation(.relu), Dropout(p: dropout),
            Linear(4096, numClasses))
        super.init()
        initialiseConvNet(self) { linear in
            Init.normal(linear.weight, mean: 0, std: 0.01)
            if let b = linear.bias { Init.constant(b, 0) }
        }
    }

    public override var classifierKey: String { "classifier.6" }
    public override var firstConvKey: String { "features.0" }

    /// Pooled 4096-d features: the trunk and the first two fully connected layers.
    public override func pooledFeatures(_ x: Tensor) -> Tensor {
        var y = Functional.adaptiveAvgPool2d(features(x), outputSize: (7, 7)).flatten(startDim: 1)
        for i in 0..<5 { y = classifier[i](y) }
        return y
    }

    public override func head(_ features: Tensor) -> Tensor { classifier[6](classifier[5](features)) }

    public override func replaceClassifier(with head: Module) { classifier.replace(6, with: head) }

    static func make(_ c: String, _ bn: Bool, _ n: Int) -> VGG {
        VGG(configuration: configurations[c]!, batchNorm: bn, numClasses: n)
    }
    public static func vgg11(numClasses: Int = 1000) -> VGG { make("A", false, numClasses) }
    public static func vgg11BN(numClasses: Int = 1000) -> VGG { make("A", true, numClasses) }
    public static func vgg13(numClasses: Int = 1000) -> VGG { make("B", false, numClasses) }
    public static func vgg13BN(numClasses: Int = 1000) -> VGG { make("B", true, numClasses) }
    public static func vgg16(numClasses: Int = 1000) -> VGG { make("D", false, numClasses) }
    public static func vgg16BN(numClasses: Int = 1000) -> VGG { make("D", true, numClasses) }
    public static func vgg19(numClasses: Int = 1000) -> VGG { make("E", false, numClasses) }
    public static func vgg19BN(numClasses: Int = 1000) -> VGG { make("E", true, numClasses) }
}
