/// A Python object from a PyTorch checkpoint, as the restricted unpickler rebuilds it.
///
/// Tensors (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`) become ``tensor(_:)``;
/// `dict` and `collections.OrderedDict` become ``dict(_:)`` in insertion order.
/// Attributes that `BUILD` sets (such as a state dict's `_metadata`) are dropped.
public enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    case dict([(key: PickleValue, value: PickleValue)])
    case tensor(TensorData)

    /// The value under the string key `key` when this is a dict.
    public subscript(key: String) -> PickleValue? {
        guard case let .dict(pairs) = self else { return nil }
        return pairs.first { if case .string(key) = $0.key { true } else { false } }?.value
    }

    /// The state dict this value is or holds: itself when it is a dict from strings to tensors,
    /// else the first such dict under `"state_dict"`, `"model"` or `"model_state_dict"`
    /// (the usual places in training checkpoints); nil when there is none.
    public var stateDict: StateDict? {
        if let entries = tensorMap { return StateDict(entries: entries) }
        for key in ["state_dict", "model", "model_state_dict"] {
            if let entries = self[key]?.tensorMap { return StateDict(entries: entries) }
        }
        return nil
    }

    /// The string keys of a dict, in order; empty for anything else.
    var stringKeys: [String] {
        guard case let .dict(pairs) = self else { return [] }
        return pairs.compactMap { if case let .string(key) = $0.key { key } else { nil } }
    }

    private var tensorMap: [(key: String, tensor: TensorData)]? {
        guard case let .dict(pairs) = self else { return nil }
        var entries: [(key: String, tensor: TensorData)] = []
        for pair in pairs {
            guard case let .string(key) = pair.key, case let .tensor(tensor) = pair.value else { return nil }
            entries.append((key, tensor))
        }
        return entries
    }
}

extension PickleValue: CustomStringConvertible {
    /// Python-like text, with tensors summarised:
    /// `{'epoch': 7, 'betas': (0.9, 0.999), 'fc.weight': tensor(float32, [2, 3])}`.
    public var description: String {
        switch self {
        case .none: "None"
        case let .bool(value): value ? "True" : "False"
        case let .int(value): String(value)
        case let .float(value): String(value)
        case let .string(value): "'\(value)'"
        case let .bytes(value): "<\(value.count) bytes>"
        case let .list(items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case let .tuple(items) where items.count == 1: "(\(items[0]),)"
        case let .tuple(items): "(" + items.map(\.description).joined(separator: ", ") + ")"
        case let .dict(pairs): "{" + pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case let .tensor(tensor): "tensor(\(tensor.elementType), \(tensor.shape))"
        }
    }
}
