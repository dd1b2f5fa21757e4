import NN
import Optimizers
import Torch
import Vision

/// Which part of a pretrained network stays fixed while the new head trains.
public enum FreezeSpec: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Everything but the classifier head (the classic "feature extraction" recipe).
    case backbone
    /// Nothing: fine-tune the whole network.
    case none
    /// Every parameter up to and including the module at this dotted path (`layer3`,
    /// `features.5`); later layers and the head train.
    case upTo(String)

    /// Parses `backbone`, `none` or a layer path.
    public init(_ text: String) {
        switch text {
        case "backbone", "trunk", "all": self = .backbone
        case "none": self = .none
        default: self = .upTo(text)
        }
    }

    public var description: String {
        switch self {
        case .backbone: "backbone"
        case .none: "none"
        case .upTo(let layer): layer
        }
    }
}

/// What BatchNorm layers in a frozen part of the network do during training.
///
/// PyTorch's transfer-learning tutorial calls `model.train()` with a frozen trunk,
/// so its BatchNorm running statistics keep drifting although no weight trains.
/// Graft makes the choice explicit and keeps it through `train()`/`eval()`.
public enum BatchNormPolicy: String, Codable, Sendable, CaseIterable {
    /// Frozen BatchNorm runs in eval mode: running statistics fixed, affine frozen (Keras's behaviour). Default.
    case frozen
    /// Frozen BatchNorm still normalises with batch statistics and updates its running ones (the tutorial's behaviour).
    case train
    /// Running statistics fixed, but the affine weight and bias train (fastai's `train_bn`).
    case affineOnly = "affine-only"
}

/// The outcome of applying a freeze spec, for reports.
public struct FreezeSummary: Sendable, Codable {
    public var frozenParameters: Int
    public var trainableParameters: Int
    public var frozenModules: Int
}

extension ImageClassifier {
    /// Freezes per `spec` and sets every BatchNorm layer's mode: `batchNorm` for those in
    /// the frozen part, `trainableBatchNorm` for the others (`train`: batch statistics in
    /// training mode; `frozen` and `affine-only`: eval mode, running statistics fixed). With
    /// `batchNormMomentum`, every BatchNorm layer's momentum is set too. This is the one
    /// place a recipe's BatchNorm settings reach the layers.
    ///
    /// Modules whose parameters are all frozen are kept in eval mode (dropout and
    /// stochastic depth off) through later `train()` calls, as Keras does for
    /// non-trainable layers; that is what makes cached features equal to running the trunk.
    @discardableResult
    public func applyFreeze(_ spec: FreezeSpec, batchNorm: BatchNormPolicy = .frozen,
                            trainableBatchNorm: BatchNormPolicy = .train,
                            batchNormMomentum: Double? = nil) throws -> FreezeSummary {
        let frozenKeys = try frozenKeyPredicate(spec)
        unfreeze()
        for (_, m) in namedModules() { m.frozenInEval = false }
        freeze(where: frozenKeys)
        // A module is in the frozen part when every parameter under it is frozen; a
        // module without parameters (activation, dropout, stochastic depth) follows its parent.
        var frozenPath: [String: Bool] = [:]
        var frozenModules = 0
        for (path, m) in namedModules() where !path.isEmpty {
            let params = m.namedParameters()
            let parent = path.split(separator: ".").dropLast().joined(separator: ".")
            let frozen = params.isEmpty ? (frozenPath[parent] ?? false) : params.allSatisfy { !$0.parameter.requiresGrad }
            frozenPath[path] = frozen
            if frozen { frozenModules += 1 }
            if let bn = m as? BatchNorm2d {
                if let batchNormMomentum { bn.momentum = batchNormMomentum }
                apply(frozen ? batchNorm : trainableBatchNorm, to: bn)
            } else if frozen {
                m.frozenInEval = true
            }
        }
        train(isTraining)
        let total = parameterCount(), trainable = parameterCount(trainableOnly: true)
        return FreezeSummary(frozenParameters: total - trainable, trainableParameters: trainable,
                             frozenModules: frozenModules)
    }

    /// Which keys `spec` freezes; the head never is. Checks a layer name first.
    func frozenKeyPredicate(_ spec: FreezeSpec) throws -> (String) -> Bool {
        switch spec {
        case .none:
            return { _ in false }
        case .backbone:
            return { !self.isHead($0) }
        case .upTo(let layer):
            let keys = stateDict().map(\.key)
            guard module(at: layer) != nil, !isHead(layer),
                  let last = keys.lastIndex(where: { Module.key($0, isUnder: layer) }) else {
                throw FreezeError.unknownLayer(layer, available: freezableLayers)
            }
            let frozen = Set(keys[...last])
            return { frozen.contains($0) && !self.isHead($0) }
        }
    }

    /// A BatchNorm layer's mode under `policy`.
    func apply(_ policy: BatchNormPolicy, to bn: BatchNorm2d) {
        switch policy {
        case .frozen:
            bn.frozenInEval = true
        case .train:
            break
        case .affineOnly:
            bn.frozenInEval = true
            bn.$weight.requiresGrad = true
            bn.$bias.requiresGrad = true
        }
    }

    /// Whether the trunk (everything but the head) has no trainable parameter.
    public var isTrunkFrozen: Bool {
        namedParameters().allSatisfy { isHead($0.key) || !$0.parameter.requiresGrad }
    }

    /// The top-level layers that hold parameters and are not the head: the names
    /// `--freeze` takes (a deeper dotted path works too).
    public var freezableLayers: [String] { stageKeys }

    /// Checks `spec` against this model's layers without changing anything.
    public func validate(_ spec: FreezeSpec) throws { _ = try frozenKeyPredicate(spec) }
}

public enum FreezeError: Error, CustomStringConvertible {
    case unknownLayer(String, available: [String])
    public var description: String {
        switch self {
        case .unknownLayer(let layer, let available):
            "no layer '\(layer)' with parameters outside the head; freeze the backbone, nothing, or up to one of "
                + available.joined(separator: ", ") + " (or a deeper dotted path below one of them)"
        }
    }
}
