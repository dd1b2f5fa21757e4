import Foundation
import NN
import Torch

/// Parameters that train with the same hyperparameters, as one entry of PyTorch's
/// `optimizer.param_groups`.
///
/// Schedules change ``learningRate`` (and, for ``OneCycleLR``, ``momentum``) between steps.
public struct ParameterGroup: Sendable {
    /// A label for reports and logs (`"head.decay"`); not used by the update.
    public var name: String
    public var parameters: [Parameter]
    /// The step size `lr`.
    public var learningRate: Double
    /// The L2 penalty (SGD, Adam) or the decoupled decay rate (AdamW), `weight_decay`.
    public var weightDecay: Double
    /// The first-moment coefficient: SGD's `momentum`, Adam's β₁. `nil` takes the optimizer's
    /// own, which the optimizer writes in here when it is made.
    public var momentum: Double?
    /// PyTorch's `initial_lr`: the learning rate when the first schedule was attached.
    /// Schedules that start from a base rate (cosine annealing, warm-up) read it.
    public var initialLearningRate: Double?

    public init(name: String = "", parameters: [Parameter], learningRate: Double, weightDecay: Double = 0,
                momentum: Double? = nil) {
        self.name = name
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.momentum = momentum
    }
}

/// A first-order optimizer over groups of parameters, as `torch.optim.Optimizer`.
///
/// ```swift
/// let optimizer = AdamW(ParameterGroup.split(model, learningRate: 1e-3, weightDecay: 0.05))
/// for batch in batches {
///     optimizer.zeroGrad()
///     loss(model(batch.images), batch.labels).backward()
///     optimizer.step()
/// }
/// ```
public protocol Optimizer: AnyObject {
    /// The groups and their hyperparameters; edit a group's `learningRate` to change it.
    var parameterGroups: [ParameterGroup] { get set }

    /// Updates every parameter that has a gradient, without recording for autograd;
    /// parameters whose `grad` is nil are skipped.
    func step()

    /// A copy of everything later steps depend on: per-parameter buffers and step
    /// counts, and every hyperparameter.
    func state() -> OptimizerState

    /// Restores a state taken with ``state()`` from an optimizer of the same kind whose
    /// groups hold parameters of the same shapes, in the same order.
    func load(_ state: OptimizerState) throws
}

extension Optimizer {
    /// Clears every gradient: to nil (PyTorch 2's default, `set_to_none=True`), or to zeros in place.
    public func zeroGrad(setToNone: Bool = true) {
        for group in parameterGroups {
            for parameter in group.parameters {
                if setToNone { parameter.value.grad = nil } else { parameter.value.zeroGrad() }
            }
        }
    }

    /// The learning rate of each group, in group order.
    public var learningRates: [Double] {
        get { parameterGroups.map(\.learningRate) }
        set {
            precondition(newValue.count == parameterGroups.count,
                         "learningRates: \(newValue.count) values for \(parameterGroups.count) groups")
            var groups = parameterGroups
            for (i, lr) in newValue.enumerated() { groups[i].learningRate = lr }
            parameterGroups = groups
        }
    }

    /// Every parameter, group after group: the order of ``OptimizerState/parameters``.
    var flatParameters: [Parameter] { parameterGroups.flatMap(\.parameters) }

    /// The groups' hyperparameters, for ``state()``.
    var groupStates: [OptimizerState.Group] {
        parameterGroups.map {
            OptimizerState.Group(name: $0.name, learningRate: $0.learningRate, weightDecay: $0.weightDecay,
                                 momentum: $0.momentum, initialLearningRate: $0.initialLearningRate,
                                 parameterCount: $0.parameters.count)
        }
    }

    /// Checks that `state` was taken over parameters shaped like ours, with `required`
    /// buffers in every slot that has state. Returns the parameters in flat order.
    func checkCompatible(_ state: OptimizerState, required: [String]) throws -> [Parameter] {
        guard state.groups.count == parameterGroups.count else {
            throw OptimizerStateError.groupCount(expected: parameterGroups.count, found: state.groups.count)
        }
        for (i, (saved, group)) in zip(state.groups, parameterGroups).enumerated()
        where saved.parameterCount != group.parameters.count {
            throw OptimizerStateError.parameterCount(group: i, expected: group.parameters.count,
                                                     found: saved.parameterCount)
        }
        let parameters = flatParameters
        guard state.parameters.count == parameters.count else {
            throw OptimizerStateError.parameterCount(group: nil, expected: parameters.count,
                                                     found: state.parameters.count)
        }
        for (index, (slot, parameter)) in zip(state.parameters, parameters).enumerated() {
            guard let slot else { continue }
            if let name = required.first(where: { slot.buffers[$0] == nil }) {
                throw OptimizerStateError.missingBuffer(parameter: index, buffer: name)
            }
            for (name, tensor) in slot.buffers where tensor.shape != parameter.value.shape {
                throw OptimizerStateError.shapeMismatch(parameter: index, buffer: name,
                                                        expected: parameter.value.shape, found: tensor.shape)
            }
        }
        return parameters
    }

    /// Sets the groups' hyperparameters to the saved ones (after ``checkCompatible``).
    func restoreGroups(from state: OptimizerState) {
        var groups = parameterGroups
        for (i, saved) in state.groups.enumerated() {
            groups[i].learningRate = saved.learningRate
            groups[i].weightDecay = saved.weightDecay
            groups[i].momentum = saved.momentum
            groups[i].initialLearningRate = saved.initialLearningRate
        }
        parameterGroups = groups
    }
}

/// Traps when a parameter object is in two groups, as PyTorch refuses it.
func checkDistinct(_ groups: [ParameterGroup]) {
    var seen = Set<ObjectIdentifier>()
    for group in groups {
        for p in group.parameters {
            precondition(seen.insert(ObjectIdentifier(p)).inserted,
                         "a parameter appears in more than one group (in \"\(group.name)\")")
        }
    }
}

/// The identities of the parameters in `groups`, to drop state of parameters removed from them.
func identities(_ groups: [ParameterGroup]) -> Set<ObjectIdentifier> {
    Set(groups.flatMap { $0.parameters.map(ObjectIdentifier.init) })
}

/// A buffer copied onto `parameter`'s device and dtype with its own storage, as
/// `Optimizer.load_state_dict` casts saved state.
func restored(_ tensor: Tensor, like parameter: Parameter) -> Tensor {
    tensor.to(parameter.value.device, dtype: parameter.value.dtype).clone()
}

// MARK: - Grouping a model's parameters

extension ParameterGroup {
    /// Splits `module`'s trainable parameters into groups the way timm
    /// (`param_groups_weight_decay`) and fastai (discriminative learning rates) do.
    ///
    /// - Weight decay applies to matrices and convolution kernels only: parameters for which
    ///   `noDecay` holds (by default biases and 1-d tensors such as normalisation weights)
    ///   go to a group with `weightDecay` 0.
    /// - When `isHead` is given, the parameters whose key it accepts form the head groups,
    ///   trained at `headLearningRate` (default `learningRate`), and the rest the trunk
    ///   groups at `learningRate`.
    ///
    /// Groups come trunk first, decayed before not decayed, named `decay` / `no_decay`
    /// (prefixed `trunk.` / `head.` when split by head); empty groups are left out.
    /// Frozen parameters (`requiresGrad == false`) are left out too.
    ///
    /// ```swift
    /// let groups = ParameterGroup.split(model, learningRate: 1e-4, weightDecay: 0.05,
    ///                                   isHead: ParameterGroup.keys(under: "fc"), headLearningRate: 1e-3)
    /// ```
    public static func split(
        _ module: Module, learningRate: Double, weightDecay: Double,
        isHead: ((String) -> Bool)? = nil, headLearningRate: Double? = nil,
        noDecay: (_ key: String, _ tensor: Tensor) -> Bool = isBiasOrOneDimensional
    ) -> [ParameterGroup] {
        let trainable = module.namedParameters().filter { $0.parameter.requiresGrad }
        var groups: [ParameterGroup] = []
        func add(_ prefix: String, _ members: [(key: String, parameter: Parameter)], lr: Double) {
            let skip = members.filter { noDecay($0.key, $0.parameter.value) }
            let decay = members.filter { !noDecay($0.key, $0.parameter.value) }
            if !decay.isEmpty {
                groups.append(ParameterGroup(name: prefix + "decay", parameters: decay.map(\.parameter),
                                             learningRate: lr, weightDecay: weightDecay))
            }
            if !skip.isEmpty {
                groups.append(ParameterGroup(name: prefix + "no_decay", parameters: skip.map(\.parameter),
                                             learningRate: lr, weightDecay: 0))
            }
        }
        if let isHead {
            add("trunk.", trainable.filter { !isHead($0.key) }, lr: learningRate)
            add("head.", trainable.filter { isHead($0.key) }, lr: headLearningRate ?? learningRate)
        } else {
            add("", trainable, lr: learningRate)
        }
        return groups
    }

    /// Layer-wise learning-rate decay, as timm's `param_groups_layer_decay`: the trainable
    /// parameters of layer i (of n, the head last; ``NN/LayerGroups``) train at
    /// `learningRate × layerDecay^(n − 1 − i)`, split into a decaying and a non-decaying group
    /// per layer (`layer_3_decay`, `layer_3_no_decay`), in the order the parameters come.
    /// Keys without a layer id are put in the last layer, as timm does.
    public static func layerDecay(
        _ module: Module, learningRate: Double, weightDecay: Double, layerDecay: Double,
        layers: (ids: [String: Int], count: Int),
        noDecay: (_ key: String, _ tensor: Tensor) -> Bool = isBiasOrOneDimensional
    ) -> [ParameterGroup] {
        let last = max(0, layers.count - 1)
        var groups: [ParameterGroup] = []
        var position: [String: Int] = [:]
        for (key, parameter) in module.namedParameters() where parameter.requiresGrad {
            let layer = layers.ids[key] ?? last
            let decays = !noDecay(key, parameter.value)
            let name = "layer_\(layer)_" + (decays ? "decay" : "no_decay")
            if let index = position[name] {
                groups[index].parameters.append(parameter)
            } else {
                position[name] = groups.count
                groups.append(ParameterGroup(name: name, parameters: [parameter],
                                             learningRate: learningRate * pow(layerDecay, Double(last - layer)),
                                             weightDecay: decays ? weightDecay : 0))
            }
        }
        return groups
    }

    /// timm's rule for parameters without weight decay: 1-d (or 0-d) tensors and keys ending in `bias`.
    public static func isBiasOrOneDimensional(_ key: String, _ tensor: Tensor) -> Bool {
        tensor.rank <= 1 || key == "bias" || key.hasSuffix(".bias")
    }

    /// A key predicate for ``split(_:learningRate:weightDecay:isHead:headLearningRate:noDecay:)``:
    /// keys equal to one of `prefixes` or below it (`fc` matches `fc.weight`, not `fc2.weight`).
    public static func keys(under prefixes: String...) -> @Sendable (String) -> Bool {
        { key in prefixes.contains { Module.key(key, isUnder: $0) } }
    }
}
