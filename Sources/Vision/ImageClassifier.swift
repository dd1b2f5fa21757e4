import NN
import Torch

/// The shape every zoo model shares: a trunk that ends in pooled features, and a
/// head (the final dropout, if any, and the classifier `Linear`).
///
/// `callAsFunction(x)` is `head(pooledFeatures(x))`. The keys of the classifier and of
/// the first convolution are known (timm's `pretrained_cfg` does the same), so a
/// new head or a new input channel count can be grafted by name.
open class ImageClassifier: Module {
    /// Dotted path of the final `Linear` (`fc`, `classifier.1`, ...).
    open var classifierKey: String { preconditionFailure("\(type(of: self)) must name its classifier") }
    /// Dotted path of the first convolution (`conv1`, `features.0.0`, ...).
    open var firstConvKey: String { preconditionFailure("\(type(of: self)) must name its first convolution") }

    /// Pooled features, shape (N, numFeatures): the classifier's input, before its dropout.
    open func pooledFeatures(_ x: Tensor) -> Tensor { preconditionFailure("\(type(of: self)).pooledFeatures") }

    /// The head: final dropout (if any) and classifier, on pooled features.
    open func head(_ features: Tensor) -> Tensor { preconditionFailure("\(type(of: self)).head") }

    /// Replaces the classifier with a freshly initialised `Linear(numFeatures, numClasses)`
    /// (Inception's auxiliary classifier too).
    open func resetClassifier(numClasses: Int) { preconditionFailure("\(type(of: self)).resetClassifier") }

    public override func callAsFunction(_ x: Tensor) -> Tensor { head(pooledFeatures(x)) }

    /// The classifier layer.
    public var classifierLayer: Linear {
        guard let linear = module(at: classifierKey) as? Linear else {
            preconditionFailure("\(type(of: self)): \(classifierKey) is not a Linear")
        }
        return linear
    }

    public var numFeatures: Int { classifierLayer.inFeatures }
    public var numClasses: Int { classifierLayer.outFeatures }

    public var firstConvLayer: Conv2d {
        guard let conv = module(at: firstConvKey) as? Conv2d else {
            preconditionFailure("\(type(of: self)): \(firstConvKey) is not a Conv2d")
        }
        return conv
    }
}

/// torchvision's weight initialisation for CNN classifiers: convolutions
/// kaiming-normal (fan-out, ReLU) with zero bias, BatchNorm (1, 0).
func initialiseConvNet(_ model: Module, linear: ((Linear) -> Void)? = nil) {
    for (_, m) in model.namedModules() {
        if let conv = m as? Conv2d {
            Init.kaimingNormal(conv.weight, nonlinearity: .relu, fanOut: true)
            if let b = conv.bias { Init.constant(b, 0) }
        } else if let bn = m as? BatchNorm2d {
            Init.constant(bn.weight, 1)
            Init.constant(bn.bias, 0)
        } else if let l = m as? Linear, let linear {
            linear(l)
        }
    }
}
