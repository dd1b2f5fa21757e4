/// Layer ids for layer-wise learning-rate decay, as timm's `group_with_matcher`: each
/// parameter key gets an ordinal (a tuple of numbers; Python's tuple order), keys with the
/// same ordinal share a layer, layers are numbered in ordinal order from 0, an ordinal whose
/// last element is ``matchPrevious`` joins the layer before it (timm's `MATCH_PREV_GROUP`:
/// a final norm belongs to the last block), and keys no rule matches get ``unmatched``, the
/// last layer (the head, the neck).
public enum LayerGroups {
    /// timm's `MATCH_PREV_GROUP` element.
    public static let matchPrevious = 99999.0
    /// The ordinal of keys no rule matches (`(inf,)`).
    public static let unmatched: [Double] = [.infinity]

    /// Layer id per key, and the number of layers.
    public static func layerIDs(_ keys: [String], ordinal: (String) -> [Double]) -> (ids: [String: Int], count: Int) {
        let ordinals = keys.map(ordinal)
        let distinct = Array(Set(ordinals)).sorted(by: precedes)
        var layerOf: [[Double]: Int] = [:]
        var layer = -1
        for o in distinct {
            if layer < 0 || o.last != matchPrevious { layer += 1 }
            layerOf[o] = layer
        }
        var ids: [String: Int] = [:]
        for (key, o) in zip(keys, ordinals) { ids[key] = layerOf[o] }
        return (ids, layer + 1)
    }

    /// Python's tuple order: element by element, a prefix before the longer tuple.
    static func precedes(_ a: [Double], _ b: [Double]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x < y }
        return a.count < b.count
    }

    /// The number after `name.` in a dotted key's components (`blocks.3.mlp` → 3 for
    /// `blocks`), when component `at` is `name` and the next one is a number.
    public static func index(_ parts: [Substring], at position: Int, named name: String) -> Int? {
        guard parts.count > position + 1, parts[position] == name else { return nil }
        return Int(parts[position + 1])
    }
}
