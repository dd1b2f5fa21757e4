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
        /// For architectures that take only some sizes above the minimum (MaxViT's
        /// partitions): whether a size suits, and the rule in words for the error.
        public let acceptsInputSize: (@Sendable (Int) -> Bool)?
        public let inputSizeRule: String?
        /// The classifier's width in the reference weights (1000 for ImageNet-1k; timm's
        /// in22k 21841, CLIP's projection 512; a headless backbone gets 1000 here).
        public let classes: Int

        public init(name: String, inputSize: Int, minimumInputSize: Int = 1, minimumTrainingInputSize: Int? = nil,
                    acceptsInputSize: (@Sendable (Int) -> Bool)? = nil, inputSizeRule: String? = nil,
                    classes: Int = 1000, make: @escaping @Sendable (_ numClasses: Int) -> ImageClassifier) {
            self.name = name
            self.inputSize = inputSize
            self.minimumInputSize = minimumInputSize
            self.minimumTrainingInputSize = minimumTrainingInputSize ?? minimumInputSize
            self.acceptsInputSize = acceptsInputSize
            self.inputSizeRule = inputSizeRule
            self.classes = classes
            self.make = make
        }

        /// Why `size` can't be the input side, or nil when it can.
        public func inputSizeProblem(_ size: Int, training: Bool) -> String? {
            let minimum = training ? minimumTrainingInputSize : minimumInputSize
            if size < minimum {
                return "\(size) px is too small for \(name), which needs at least \(minimum) px"
                    + (training && minimum > minimumInputSize ? " to train" : "")
            }
            if let acceptsInputSize, !acceptsInputSize(size) {
                return "\(size) px does not suit \(name): \(inputSizeRule ?? "another size is needed")"
            }
            return nil
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
        Entry(name: "densenet161", inputSize: 224, minimumInputSize: 29) { DenseNet.densenet161(numClasses: $0) },
        Entry(name: "densenet169", inputSize: 224, minimumInputSize: 29) { DenseNet.densenet169(numClasses: $0) },
        Entry(name: "densenet201", inputSize: 224, minimumInputSize: 29) { DenseNet.densenet201(numClasses: $0) },
        Entry(name: "resnext50_32x4d", inputSize: 224) { ResNet.resnext50_32x4d(numClasses: $0) },
        Entry(name: "resnext101_32x8d", inputSize: 224) { ResNet.resnext101_32x8d(numClasses: $0) },
        Entry(name: "resnext101_64x4d", inputSize: 224) { ResNet.resnext101_64x4d(numClasses: $0) },
        Entry(name: "wide_resnet50_2", inputSize: 224) { ResNet.wideResnet50_2(numClasses: $0) },
        Entry(name: "wide_resnet101_2", inputSize: 224) { ResNet.wideResnet101_2(numClasses: $0) },
        Entry(name: "efficientnet_v2_s", inputSize: 384) { EfficientNet.v2S(numClasses: $0) },
        Entry(name: "efficientnet_v2_m", inputSize: 480) { EfficientNet.v2M(numClasses: $0) },
        Entry(name: "efficientnet_v2_l", inputSize: 480) { EfficientNet.v2L(numClasses: $0) },
        Entry(name: "regnet_y_400mf", inputSize: 224) { RegNet.y400mf(numClasses: $0) },
        Entry(name: "regnet_y_800mf", inputSize: 224) { RegNet.y800mf(numClasses: $0) },
        Entry(name: "regnet_y_1_6gf", inputSize: 224) { RegNet.y1_6gf(numClasses: $0) },
        Entry(name: "regnet_y_3_2gf", inputSize: 224) { RegNet.y3_2gf(numClasses: $0) },
        Entry(name: "regnet_y_8gf", inputSize: 224) { RegNet.y8gf(numClasses: $0) },
        Entry(name: "regnet_y_16gf", inputSize: 224) { RegNet.y16gf(numClasses: $0) },
        Entry(name: "regnet_y_32gf", inputSize: 224) { RegNet.y32gf(numClasses: $0) },
        Entry(name: "regnet_y_128gf", inputSize: 384) { RegNet.y128gf(numClasses: $0) },
        Entry(name: "regnet_x_400mf", inputSize: 224) { RegNet.x400mf(numClasses: $0) },
        Entry(name: "regnet_x_800mf", inputSize: 224) { RegNet.x800mf(numClasses: $0) },
        Entry(name: "regnet_x_1_6gf", inputSize: 224) { RegNet.x1_6gf(numClasses: $0) },
        Entry(name: "regnet_x_3_2gf", inputSize: 224) { RegNet.x3_2gf(numClasses: $0) },
        Entry(name: "regnet_x_8gf", inputSize: 224) { RegNet.x8gf(numClasses: $0) },
        Entry(name: "regnet_x_16gf", inputSize: 224) { RegNet.x16gf(numClasses: $0) },
        Entry(name: "regnet_x_32gf", inputSize: 224) { RegNet.x32gf(numClasses: $0) },
        Entry(name: "convnext_tiny", inputSize: 224, minimumInputSize: 32) { ConvNeXt.tiny(numClasses: $0) },
        Entry(name: "convnext_small", inputSize: 224, minimumInputSize: 32) { ConvNeXt.small(numClasses: $0) },
        Entry(name: "convnext_base", inputSize: 224, minimumInputSize: 32) { ConvNeXt.base(numClasses: $0) },
        Entry(name: "convnext_large", inputSize: 224, minimumInputSize: 32) { ConvNeXt.large(numClasses: $0) },
        Entry(name: "vit_b_16", inputSize: 224, minimumInputSize: 16) { VisionTransformer.b16(numClasses: $0) },
        Entry(name: "vit_b_32", inputSize: 224, minimumInputSize: 32) { VisionTransformer.b32(numClasses: $0) },
        Entry(name: "vit_l_16", inputSize: 224, minimumInputSize: 16) { VisionTransformer.l16(numClasses: $0) },
        Entry(name: "vit_l_32", inputSize: 224, minimumInputSize: 32) { VisionTransformer.l32(numClasses: $0) },
        Entry(name: "vit_h_14", inputSize: 518, minimumInputSize: 14) { VisionTransformer.h14(numClasses: $0) },
        Entry(name: "swin_t", inputSize: 224, minimumInputSize: 4) { SwinTransformer.t(numClasses: $0) },
        Entry(name: "swin_s", inputSize: 224, minimumInputSize: 4) { SwinTransformer.s(numClasses: $0) },
        Entry(name: "swin_b", inputSize: 224, minimumInputSize: 4) { SwinTransformer.b(numClasses: $0) },
        Entry(name: "swin_v2_t", inputSize: 256, minimumInputSize: 4) { SwinTransformer.v2T(numClasses: $0) },
        Entry(name: "swin_v2_s", inputSize: 256, minimumInputSize: 4) { SwinTransformer.v2S(numClasses: $0) },
        Entry(name: "swin_v2_b", inputSize: 256, minimumInputSize: 4) { SwinTransformer.v2B(numClasses: $0) },
        Entry(name: "maxvit_t", inputSize: 224, minimumInputSize: 221, acceptsInputSize: { MaxViT.acceptsInputSize($0) },
              inputSizeRule: "its 7×7 partitions need feature maps of 56, 28, 14 and 7 px: "
                  + "use 224 or 448 px (or up to 3 less)") { MaxViT.t(numClasses: $0) },
        Entry(name: "efficientnet_lite0", inputSize: 224) { EfficientNetLite.lite0(numClasses: $0) },
        Entry(name: "efficientnet_lite1", inputSize: 240) { EfficientNetLite.lite1(numClasses: $0) },
        Entry(name: "efficientnet_lite2", inputSize: 260) { EfficientNetLite.lite2(numClasses: $0) },
    ] + timmEntries

    public static var names: [String] { entries.map(\.name) }

    public static func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// A fresh model with its reference initialisation; `numClasses` nil: the reference weights' width.
    public static func make(_ name: String, numClasses: Int? = nil) throws -> ImageClassifier {
        guard let entry = entry(name) else { throw ZooError.unknownModel(name) }
        return entry.make(numClasses ?? entry.classes)
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
