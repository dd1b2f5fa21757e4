/// Named tensors in file order, plus string metadata.
///
/// Reading keeps the order of the file (the pickled dict's order for PyTorch checkpoints,
/// the order of the data offsets for safetensors). Keys are unique; lookups by key are O(1).
public struct StateDict: Sendable {
    /// The tensors in order. Assigning rebuilds the key index (O(n)); when keys repeat,
    /// lookups find the first and the writers refuse the dict.
    public var entries: [(key: String, tensor: TensorData)] {
        didSet { index = Self.index(entries) }
    }
    /// String metadata: a safetensors header's `__metadata__`. PyTorch checkpoints have none
    /// and the `.pth` writer drops it.
    public var metadata: [String: String]
    private var index: [String: Int]

    public init(entries: [(key: String, tensor: TensorData)] = [], metadata: [String: String] = [:]) {
        self.entries = entries
        self.metadata = metadata
        index = Self.index(entries)
    }

    /// The keys in order.
    public var keys: [String] { entries.map(\.key) }

    /// The number of tensors.
    public var count: Int { entries.count }

    /// The tensor named `key`. Setting replaces it in place, appends a new key at the end,
    /// or with `nil` removes it.
    public subscript(key: String) -> TensorData? {
        get { index[key].map { entries[$0].tensor } }
        set {
            switch (index[key], newValue) {
            case let (position?, tensor?): entries[position].tensor = tensor
            case let (nil, tensor?): entries.append((key, tensor))
            case let (position?, nil): entries.remove(at: position)
            case (nil, nil): break
            }
        }
    }

    /// Throws unless every key is unique; `file` names the destination in the error.
    func checkUniqueKeys(file: String) throws {
        guard index.count == entries.count else {
            var seen = Set<String>()
            let duplicate = entries.first { !seen.insert($0.key).inserted }?.key
            throw CheckpointError.invalidInput(
                detail: "key '\(excerpt(duplicate ?? ""))' appears more than once in the state dict for '\(file)'")
        }
    }

    private static func index(_ entries: [(key: String, tensor: TensorData)]) -> [String: Int] {
        Dictionary(entries.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
