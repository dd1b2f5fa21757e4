import Foundation
import Torch

/// Everything an optimizer needs to resume exactly, as `optimizer.state_dict()`.
///
/// Per parameter (in the flat order of the groups, as PyTorch numbers them) the buffers
/// (`momentum_buffer`; `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`) and the step count; per
/// group its hyperparameters; and the optimizer-wide options.
///
/// To write it to a `.safetensors` file (optionally next to the model's weights), store
/// ``tensors()`` as the tensors and ``metadata()`` as the header metadata; read it back with
/// ``init(tensors:metadata:)``.
public struct OptimizerState: @unchecked Sendable {
    /// One group's hyperparameters.
    public struct Group: Codable, Sendable, Equatable {
        public var name: String
        public var learningRate: Double
        public var weightDecay: Double
        public var momentum: Double?
        public var initialLearningRate: Double?
        /// How many parameters the group holds (checked on load).
        public var parameterCount: Int

        public init(name: String, learningRate: Double, weightDecay: Double, momentum: Double?,
                    initialLearningRate: Double?, parameterCount: Int) {
            self.name = name
            self.learningRate = learningRate
            self.weightDecay = weightDecay
            self.momentum = momentum
            self.initialLearningRate = initialLearningRate
            self.parameterCount = parameterCount
        }
    }

    /// One parameter's state.
    public struct Slot {
        /// Updates applied so far (Adam's `step`; SGD keeps none and leaves it 0).
        public var step: Int
        /// Buffers by PyTorch's state names, each shaped like the parameter.
        public var buffers: [String: Tensor]

        public init(step: Int, buffers: [String: Tensor]) {
            self.step = step
            self.buffers = buffers
        }
    }

    /// `"SGD"`, `"Adam"` or `"AdamW"`.
    public var kind: String
    /// Optimizer-wide hyperparameters by name (`dampening`, `nesterov` as 0/1, `beta2`, `eps`, ...).
    public var options: [String: Double]
    public var groups: [Group]
    /// Per parameter in flat group order; nil for a parameter that has not been updated yet.
    public var parameters: [Slot?]

    public init(kind: String, options: [String: Double], groups: [Group], parameters: [Slot?]) {
        self.kind = kind
        self.options = options
        self.groups = groups
        self.parameters = parameters
    }

    // MARK: Safetensors form

    /// The metadata key that holds the JSON header.
    public static let metadataKey = "graft.optimizer"
    /// The prefix of tensor keys: buffer `exp_avg` of parameter 3 is `optimizer.3.exp_avg`.
    public static let keyPrefix = "optimizer."

    struct Header: Codable {
        var kind: String
        var options: [String: Double]
        var groups: [Group]
        /// Per parameter: its step count, or nil when it has no state.
        var steps: [Int?]
    }

    /// The buffers as named tensors (`optimizer.{index}.{buffer}`), sorted by key.
    public func tensors() -> [(key: String, tensor: Tensor)] {
        parameters.enumerated().flatMap { index, slot in
            (slot?.buffers ?? [:]).map { (key: "\(Self.keyPrefix)\(index).\($0.key)", tensor: $0.value) }
        }.sorted { $0.key < $1.key }
    }

    /// Everything but the buffers, as JSON under ``metadataKey``.
    public func metadata() throws -> [String: String] {
        let header = Header(kind: kind, options: options, groups: groups, steps: parameters.map { $0?.step })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [Self.metadataKey: String(decoding: try encoder.encode(header), as: UTF8.self)]
    }

    /// Rebuilds a state from ``tensors()`` and ``metadata()``; other tensors and metadata
    /// entries (a model's weights in the same file) are ignored.
    public init(tensors: [(key: String, tensor: Tensor)], metadata: [String: String]) throws {
        guard let json = metadata[Self.metadataKey] else { throw OptimizerStateError.missingMetadata }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(json.utf8))
        } catch {
            throw OptimizerStateError.badMetadata("\(error)")
        }
        var slots: [Slot?] = header.steps.map { $0.map { Slot(step: $0, buffers: [:]) } }
        for (key, tensor) in tensors where key.hasPrefix(Self.keyPrefix) {
            let rest = key.dropFirst(Self.keyPrefix.count)
            guard let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]), slots.indices.contains(index),
                  slots[index] != nil
            else { throw OptimizerStateError.unexpectedTensor(key) }
            slots[index]?.buffers[String(rest[rest.index(after: dot)...])] = tensor
        }
        self.init(kind: header.kind, options: header.options, groups: header.groups, parameters: slots)
    }
}

/// Why an ``OptimizerState`` cannot be read or loaded.
public enum OptimizerStateError: Error, CustomStringConvertible, Equatable {
    case wrongOptimizer(expected: String, found: String)
    case groupCount(expected: Int, found: Int)
    /// In group `group`, or in all groups together when nil.
    case parameterCount(group: Int?, expected: Int, found: Int)
    case shapeMismatch(parameter: Int, buffer: String, expected: [Int], found: [Int])
    case missingBuffer(parameter: Int, buffer: String)
    case missingOption(String)
    case missingMetadata
    case badMetadata(String)
    case unexpectedTensor(String)

    public var description: String {
        switch self {
        case .wrongOptimizer(let expected, let found): "the state is a \(found) optimizer's, not \(expected)'s"
        case .groupCount(let expected, let found): "the state has \(found) parameter groups, the optimizer \(expected)"
        case .parameterCount(let group, let expected, let found):
            "the state has \(found) parameters\(group.map { " in group \($0)" } ?? ""), the optimizer \(expected)"
        case .shapeMismatch(let parameter, let buffer, let expected, let found):
            "\(buffer) of parameter \(parameter) has shape \(found), the parameter \(expected)"
        case .missingBuffer(let parameter, let buffer): "parameter \(parameter) has state but no \(buffer)"
        case .missingOption(let name): "the state has no option \(name)"
        case .missingMetadata: "no \(OptimizerState.metadataKey) entry in the metadata: not an optimizer state"
        case .badMetadata(let why): "the optimizer state's metadata cannot be read: \(why)"
        case .unexpectedTensor(let key): "tensor \(key) belongs to no parameter with state"
        }
    }
}

extension OptimizerState {
    /// Throws unless the state is a `kind` optimizer's.
    func check(kind expected: String) throws {
        guard kind == expected else { throw OptimizerStateError.wrongOptimizer(expected: expected, found: kind) }
    }

    /// The option `name`, or a thrown ``OptimizerStateError/missingOption(_:)``.
    func option(_ name: String) throws -> Double {
        guard let value = options[name] else { throw OptimizerStateError.missingOption(name) }
        return value
    }
}
