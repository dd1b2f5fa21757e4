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

    /// Puts `head` where the classifier is (its key stays ``classifierKey``).
    open func replaceClassifier(with head: Module) { preconditionFailure("\(type(of: self)).replaceClassifier") }

    /// Replaces the classifier with a freshly initialised `Linear(numFeatures, numClasses)`
    /// (Inception's auxiliary classifier too), as timm's `reset_classifier`.
    open func resetClassifier(numClasses: Int) { replaceClassifier(with: Linear(numFeatures, numClasses)) }

    public override func callAsFunction(_ x: Tensor) -> Tensor { head(pooledFeatures(x)) }

    /// Module paths of the head: the classifier and any auxiliary classifier. They get the
    /// head's learning rate, stay trainable when the trunk is frozen, and are replaced by
    /// ``resetClassifier(numClasses:)``.
    open var headKeys: [String] { [classifierKey] }

    /// The trunk's stages in order, the names `--freeze` offers (freezing up to one freezes
    /// every parameter before it in state-dict order). Default: the top-level children with
    /// parameters outside the head; families whose trunk is one container list its stages.
    open var stageKeys: [String] {
        children().filter { !isHead($0.key) && !$0.module.namedParameters().isEmpty }.map(\.key)
    }

    /// The ordinal of each parameter key for layer-wise learning-rate decay: timm's
    /// `group_matcher(coarse=False)` for the family, on this model's own key names (see
    /// ``LayerGroups``); nil for families without one (the layer decay is then refused).
    open var layerOrdinal: ((String) -> [Double])? { nil }

    /// Parameters kept out of weight decay besides the 1-d ones, as timm's `no_weight_decay()`
    /// for the family (position embeddings, class tokens, Swin's bias tables).
    open func excludesFromWeightDecay(_ key: String) -> Bool { false }

    /// Each parameter key's layer for layer-wise learning-rate decay and the number of
    /// layers (the head is the last), or nil when the family has no grouping.
    public func layerIDs() -> (ids: [String: Int], count: Int)? {
        guard let ordinal = layerOrdinal else { return nil }
        return LayerGroups.layerIDs(namedParameters().map(\.key), ordinal: ordinal)
    }

    /// The parameterised children of the module at `path`, as dotted paths.
    public func childKeys(of path: String) -> [String] {
        guard let module = module(at: path) else { return [] }
        return module.children().filter { !$0.module.namedParameters().isEmpty }.map { "\(path).\($0.key)" }
    }

    /// Whether state-dict `key` belongs to the head (``headKeys``).
    public func isHead(_ key: String) -> Bool { headKeys.contains { Module.key(key, isUnder: $0) } }

    /// The logits for a training step, with any auxiliary classifiers' logits and the weight
    /// of their loss (Inception v3's `AuxLogits`, 0.4 as torchvision's reference recipe).
    /// Without auxiliary classifiers (the default), `(self(x), [])`.
    open func trainingLogits(_ x: Tensor) -> (logits: Tensor, auxiliary: [(logits: Tensor, lossWeight: Double)]) {
        (self(x), [])
    }

    /// The classifier: a `Linear`, or a ``ClassifierHead`` put there by ``replaceClassifier(with:)``.
    public var classifierLayer: Module {
        guard let head = module(at: classifierKey) else {
            preconditionFailure("\(type(of: self)): no module at \(classifierKey)")
        }
        return head
    }

    public var numFeatures: Int {
        switch classifierLayer {
        case let linear as Linear: linear.inFeatures
        case let head as ClassifierHead: head.inFeatures
        default: preconditionFailure("\(type(of: self)): \(classifierKey) is neither a Linear nor a ClassifierHead")
        }
    }
    public var numClasses: Int {
        switch classifierLayer {
        case let linear as Linear: linear.outFeatures
        case let head as ClassifierHead: head.outFeatures
        default: preconditionFailure("\(type(of: self)): \(classifierKey) is neither a Linear nor a ClassifierHead")
        }
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

/// A classifier head richer than one `Linear`: dropout, an optional hidden layer
/// (Linear, ReLU, dropout), then the output `Linear`; keys `0`, `1`, ... as an `nn.Sequential`.
public final class ClassifierHead: Sequential {
    public let inFeatures: Int
    public let outFeatures: Int
    public let hidden: Int?

    public init(inFeatures: Int, numClasses: Int, hidden: Int? = nil, dropout: Double = 0) {
        self.inFeatures = inFeatures
        self.outFeatures = numClasses
        self.hidden = hidden
        var layers: [Module] = []
        if dropout > 0 { layers.append(Dropout(p: dropout)) }
        if let hidden {
            layers += [Linear(inFeatures, hidden), Activation(.relu)]
            if dropout > 0 { layers.append(Dropout(p: dropout)) }
            layers.append(Linear(hidden, numClasses))
        } else {
            layers.append(Linear(inFeatures, numClasses))
        }
        super.init(layers)
    }
}

extension ImageClassifier {
    /// Multiply-adds of one eval-mode forward pass on one `imageSize`² image (convolutions,
    /// linear layers, attention's products; torchvision's "GFLOPS" ×10⁹). Runs that pass on
    /// the model's device, no gradients, and puts the model back in the mode it was in.
    public func multiplyAdds(imageSize: Int) throws -> Int {
        let channels = inputChannels
        let device = parameters.first?.value.device ?? .cpu
        let wasTraining = isTraining
        _ = eval()
        defer { if wasTraining { _ = train() } }
        return try withTorchErrors {
            MultiplyAdds.count {
                Torch.inferenceMode { _ = self(Tensor.zeros([1, channels, imageSize, imageSize]).to(device)) }
            }.multiplyAdds
        }
    }
}
