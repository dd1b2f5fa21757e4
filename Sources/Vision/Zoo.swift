import NN
import Torch

/// The model zoo: every architecture by its torchvision name.
public enum Zoo {
    public struct Entry: Sendable {
        public let name: String
        /// The evaluation input size of the reference weights (square).
        public let inputSize: Int
        /// The smallest square input the forward pass takes (pooling and strides leave at
        /// least one pixel); measured, and tested at that size and one below.
        public let minimumInputSize: Int
        /// The smallest input for a training step, where auxiliary classifiers need more
        /// (Inception v3's); else ``minimumInputSize``.
        public let minimumTrainingInputSize: Int
        public let make: @Sendable (_ numClasses: Int) -> ImageClassifier

        public init(name: String, inputSize: Int, minimumInputSize: Int = 1, minimumTrainingInputSize: Int? = nil,
                    make: @escaping @Sendable (_ numClasses: Int) -> ImageClassifier) {
            self.name = name
            self.inputSize = inputSize
            self.minimumInputSize = minimumInputSize
            self.minimumTrainingInputSize = minimumTrainingInputSize ?? minimumInputSize
            self.make = make
        }
    }

    public static let entries: [Entry] = [
        Entry(name: "resnet18", inputSize: 224) { ResNet.resnet18(numClasses: $0) },
        Entry(name: "resnet34", inputSize: 224) { ResNet.resnet34(numClasses: $0) },
        Entry(name: "resnet50", inputSize: 224) { ResNet.resnet50(numClasses: $0) },
        Entry(name: "resnet101", inputSize: 224) { ResNet.resnet101(numClasses: $0) },
        Entry(name: "resnet152", inputSize: 224) { ResNet.resnet152(numClasses: $0) },
        Entry(name: "vgg11", inputSize: 224, minimumInputSize: 32) { VGG.vgg11(numClasses: $0) },
        Entry(name: "vgg11_bn", inputSize: 224, minimumInputSize: 32) { VGG.vgg11BN(numClasses: $0) },
        Entry(name: "vgg13", inputSize: 224, minimumInputSize: 32) { VGG.vgg13(numClasses: $0) },
        Entry(name: "vgg13_bn", inputSize: 224, minimumInputSize: 32) { VGG.vgg13BN(numClasses: $0) },
        Entry(name: "vgg16", inputSize: 224, minimumInputSize: 32) { VGG.vgg16(numClasses: $0) },
        Entry(name: "vgg16_bn", inputSize: 224, minimumInputSize: 32) { VGG.vgg16BN(numClasses: $0) },
        Entry(name: "vgg19", inputSize: 224, minimumInputSize: 32) { VGG.vgg19(numClasses: $0) },
        Entry(name: "vgg19_bn", inputSize: 224, minimumInputSize: 32) { VGG.vgg19BN(numClasses: $0) },
        Entry(name: "inception_v3", inputSize: 299, minimumInputSize: 75, minimumTrainingInputSize: 299) { InceptionV3(numClasses: $0, transformInput: true) },
        Entry(name: "mobilenet_v2", inputSize: 224) { MobileNetV2(numClasses: $0) },
        Entry(name: "mobilenet_v3_small", inputSize: 224) { MobileNetV3.small(numClasses: $0) },
        Entry(name: "mobilenet_v3_large", inputSize: 224) { MobileNetV3.large(numClasses: $0) },
        Entry(name: "efficientnet_b0", inputSize: 224) { EfficientNet.b0(numClasses: $0) },
        Entry(name: "efficientnet_b1", inputSize: 240) { EfficientNet.b1(numClasses: $0) },
        Entry(name: "efficientnet_b2", inputSize: 288) { EfficientNet.b2(numClasses: $0) },
        Entry(name: "efficientnet_b3", inputSize: 300) { EfficientNet.b3(numClasses: $0) },
        Entry(name: "efficientnet_b4", inputSize: 380) { EfficientNet.b4(numClasses: $0) },
        Entry(name: "efficientnet_b5", inputSize: 456) { EfficientNet.b5(numClasses: $0) },
        Entry(name: "efficientnet_b6", inputSize: 528) { EfficientNet.b6(numClasses: $0) },
        Entry(name: "efficientnet_b7", inputSize: 600) { EfficientNet.b7(numClasses: $0) },
        Entry(name: "densenet121", inputSize: 224, minimumInputSize: 29) { DenseNet.densenet121(numClasses: $0) },
        Entry(name: "efficientnet_lite0", inputSize: 224) { EfficientNetLite.lite0(numClasses: $0) },
        Entry(name: "efficientnet_lite1", inputSize: 240) { EfficientNetLite.lite1(numClasses: $0) },
        Entry(name: "efficientnet_lite2", inputSize: 260) { EfficientNetLite.lite2(numClasses: $0) },
    ]

    public static var names: [String] { entries.map(\.name) }

    public static func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// A fresh model with its reference initialisation.
    public static func make(_ name: String, numClasses: Int = 1000) throws -> ImageClassifier {
        guard let entry = entry(name) else { throw ZooError.unknownModel(name) }
        return entry.make(numClasses)
    }
}

public enum ZooError: Error, CustomStringConvertible {
    case unknownModel(String)
    public var description: String {
        switch self {
        case .unknownModel(let name):
            "unknown model '\(name)'; known models: \(Zoo.names.joined(separator: ", ")) (see `graft models`)"
        }
    }
}
