import Torch

/// The base of every layer and model, as `nn.Module`.
///
/// Parameters (``Parameter``), buffers (``Buffer``) and child modules are plain
/// stored properties; reflection collects them under PyTorch's state-dict keys
/// (`layer1.0.conv1.weight`), in declaration order, so declare them in the order
/// the reference's `__init__` does. Arrays of modules are numbered (`features.3`).
/// Training mode is a per-module flag, set recursively by ``train(_:)``.
open class Module {
    /// Whether this module behaves as in training (dropout active, BatchNorm on batch statistics).
    public internal(set) var isTraining = true

    /// Keeps this module in eval mode whatever `train()` says (a frozen part of a
    /// network: BatchNorm statistics fixed, dropout off). Setting it applies at once.
    public var frozenInEval = false {
        didSet { if frozenInEval { isTraining = false } }
    }

    public init() {}

    /// The forward pass for single-input modules.
    open func callAsFunction(_ x: Tensor) -> Tensor {
        preconditionFailure("\(type(of: self)) has no single-tensor forward")
    }

    /// Sets training mode on this module and every descendant; returns self.
    @discardableResult
    open func train(_ on: Bool = true) -> Self {
        setTrainingFlag(on)
        for (_, child) in children() { child.train(on) }
        return self
    }

    /// Sets this module's own flag only; a module ``frozenInEval`` stays in eval.
    open func setTrainingFlag(_ on: Bool) { isTraining = on && !frozenInEval }

    /// Shorthand for `train(false)`.
    @discardableResult
    public func eval() -> Self { train(false) }

    /// Called by ``load(stateDict:strict:source:)`` before shapes are compared: a module whose
    /// parameter shapes follow its weights (a ViT's position embedding follows the grid it
    /// was trained at) replaces them here to match `tensors` (keys under `prefix`). Default: nothing.
    open func adoptShapes(from tensors: [String: Tensor], prefix: String) {}

    // MARK: Reflection

    enum Member {
        case parameter(String, Parameter)
        case buffer(String, Buffer)
        case child(String, Module)
    }

    /// This module's own members in declaration order (superclass members first).
    func members() -> [Member] {
        var mirrors: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror {
            mirrors.append(m)
            mirror = m.superclassMirror
        }
        var out: [Member] = []
        for m in mirrors.reversed() {
            for child in m.children {
                guard let label = child.label else { continue }
                collect(label, child.value, into: &out)
            }
        }
        return out
    }

    private func collect(_ label: String, _ value: Any, into out: inout [Member]) {
        let name = label.hasPrefix("_") ? String(label.dropFirst()) : label
        switch value {
        case let p as Parameter: out.append(.parameter(p.key ?? name, p))
        case let b as Buffer: out.append(.buffer(b.key ?? name, b))
        case let p as OptionalParameter:
            if let parameter = p.parameter { out.append(.parameter(p.key ?? name, parameter)) }
        case let m as Module: out.append(.child(label, m))
        case let modules as [Module]:
            for (i, m) in modules.enumerated() { out.append(.child("\(label).\(i)", m)) }
        default:
            if let keyed = value as? AnyChild {
                out.append(.child(keyed.childKey, keyed.childModule))
            } else if let optional = value as? OptionalModule, let m = optional.module {
                out.append(.child(label, m))
            }
        }
    }

    /// Direct children with their keys.
    public func children() -> [(key: String, module: Module)] {
        members().compactMap { if case .child(let k, let m) = $0 { (k, m) } else { nil } }
    }

    /// Every descendant (self first) with its dotted path ("" for self).
    public func namedModules(prefix: String = "") -> [(key: String, module: Module)] {
        var out: [(String, Module)] = [(prefix, self)]
        for (k, m) in children() { out += m.namedModules(prefix: prefix.isEmpty ? k : "\(prefix).\(k)") }
        return out
    }

    /// Every parameter with its full key, in state-dict order.
    public func namedParameters() -> [(key: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = []
        walk { key, member in if case .parameter(_, let p) = member { out.append((key, p)) } }
        return out
    }

    /// Every buffer with its full key, in state-dict order.
    public func namedBuffers() -> [(key: String, buffer: Buffer)] {
        var out: [(String, Buffer)] = []
        walk { key, member in if case .buffer(_, let b) = member { out.append((key, b)) } }
        return out
    }

    /// Parameters then buffers of each module, depth first: PyTorch's `state_dict()` order.
    func walk(prefix: String = "", _ visit: (String, Member) -> Void) {
        let own = members()
        for member in own {
            if case .parameter(let k, _) = member { visit(join(prefix, k), member) }
        }
        for member in own {
            if case .buffer(let k, _) = member { visit(join(prefix, k), member) }
        }
        for member in own {
            if case .child(let k, let m) = member { m.walk(prefix: join(prefix, k), visit) }
        }
    }

    /// The tensors to save, in PyTorch's order: `state_dict()`.
    public func stateDict() -> [(key: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        walk { key, member in
            switch member {
            case .parameter(_, let p): out.append((key, p.value))
            case .buffer(_, let b): out.append((key, b.value))
            case .child: break
            }
        }
        return out
    }

    public var parameters: [Parameter] { namedParameters().map(\.parameter) }

    /// Number of parameter elements (all, or only trainable ones).
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        parameters.filter { !trainableOnly || $0.requiresGrad }.reduce(0) { $0 + $1.value.count }
    }

    // MARK: Freezing

    /// Stops (or resumes) training of every parameter in this module.
    public func freeze(_ frozen: Bool = true) {
        for p in parameters { p.requiresGrad = !frozen }
    }
    public func unfreeze() { freeze(false) }

    /// Freezes the parameters whose full key satisfies `predicate`; returns how many.
    @discardableResult
    public func freeze(where predicate: (String) -> Bool) -> Int {
        var n = 0
        for (k, p) in namedParameters() where predicate(k) {
            p.requiresGrad = false
            n += 1
        }
        return n
    }

    /// The module at a dotted path (`layer3.1`), or nil.
    public func module(at path: String) -> Module? {
        if path.isEmpty { return self }
        return namedModules().first { $0.key == path }?.module
    }

    // MARK: Devices and layouts

    /// Moves every parameter and buffer to `device` (and converts floating ones to `dtype`).
    @discardableResult
    public func to(_ device: Device, dtype: DType? = nil) -> Self {
        Torch.noGrad {
            for p in parameters {
                let grad = p.requiresGrad
                p.value = p.value.to(device, dtype: dtype ?? p.value.dtype).detach().requiresGrad(grad)
            }
            for (_, b) in namedBuffers() {
                let target = b.value.dtype.isFloatingPoint ? (dtype ?? b.value.dtype) : b.value.dtype
                b.value = b.value.to(device, dtype: target)
            }
        }
        return self
    }

    /// Lays 4-d weights out channels-last (NHWC strides), which speeds CPU convolutions.
    @discardableResult
    public func to(memoryFormat: MemoryFormat) -> Self {
        Torch.noGrad {
            for p in parameters where p.value.rank == 4 {
                let grad = p.requiresGrad
                p.value = p.value.contiguous(memoryFormat).detach().requiresGrad(grad)
            }
        }
        return self
    }

    private func join(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }
}

/// Lets reflection see through `@Child(key:)` wrappers and optional modules.
protocol AnyChild {
    var childKey: String { get }
    var childModule: Module { get }
}
extension Child: AnyChild {
    var childKey: String { key }
    var childModule: Module { wrappedValue }
}
protocol OptionalModule { var module: Module? { get } }
extension Optional: OptionalModule {
    var module: Module? { if case .some(let m) = self { m as? Module } else { nil } }
}

extension Module {
    /// Whether state-dict `key` is the module path `path` or lies below it: `fc` covers
    /// `fc.weight` and `fc.1.bias`, not `fc2.weight`.
    public static func key(_ key: String, isUnder path: String) -> Bool {
        key == path || key.hasPrefix(path + ".")
    }
}
