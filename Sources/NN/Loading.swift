import Torch

/// What a state-dict load matched and what it didn't, by full key.
public struct LoadReport: Sendable, CustomStringConvertible {
    public struct Mismatch: Sendable {
        public let key: String
        public let expected: [Int]
        public let found: [Int]
    }
    /// Keys the module has that the source lacks.
    public var missing: [String] = []
    /// Keys the source has that the module lacks.
    public var unexpected: [String] = []
    /// Keys present on both sides with different shapes (not loaded).
    public var mismatched: [Mismatch] = []
    /// How many tensors were copied.
    public var loaded = 0

    public var isComplete: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

    public var description: String {
        var lines: [String] = []
        if !missing.isEmpty { lines.append("missing keys (\(missing.count)): \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty {
            lines.append("unexpected keys (\(unexpected.count)): \(unexpected.joined(separator: ", "))")
        }
        if !mismatched.isEmpty {
            lines.append("shape mismatches (\(mismatched.count)): " + mismatched.map {
                "\($0.key) expects \($0.expected), file has \($0.found)"
            }.joined(separator: "; "))
        }
        return lines.isEmpty ? "all \(loaded) tensors loaded" : lines.joined(separator: "\n")
    }
}

/// A strict load that didn't match: every missing, unexpected and mis-shaped key at once.
public struct StateDictError: Error, CustomStringConvertible, Sendable {
    public let source: String
    public let report: LoadReport

    public init(source: String, report: LoadReport) {
        self.source = source
        self.report = report
    }
    public var description: String {
        "\(source) does not match the model:\n\(report)\n"
            + "Check that the weights are for this architecture and number of classes."
    }
}

extension Module {
    /// Copies `tensors` into this module's parameters and buffers by key, in
    /// place (dtype and device of the module are kept; values are converted).
    ///
    /// - Parameter strict: when true (the default) any missing, unexpected or
    ///   mis-shaped key throws ``StateDictError`` listing all of them, and nothing
    ///   is changed; when false what matches is loaded and the report says what wasn't.
    @discardableResult
    public func load(stateDict tensors: [(key: String, tensor: Tensor)], strict: Bool = true,
                     source: String = "state dict") throws -> LoadReport {
        var report = LoadReport()
        var byKey: [String: Tensor] = [:]
        for (k, t) in tensors { byKey[k] = t }
        for (path, module) in namedModules() { module.adoptShapes(from: byKey, prefix: path.isEmpty ? "" : path + ".") }
        var targets: [(Tensor, Tensor)] = []
        var known = Set<String>()
        for (key, target) in stateDict() {
            known.insert(key)
            guard let source = byKey[key] else {
                report.missing.append(key)
                continue
            }
            guard source.shape == target.shape else {
                report.mismatched.append(.init(key: key, expected: target.shape, found: source.shape))
                continue
            }
            targets.append((target, source))
        }
        report.unexpected = tensors.map(\.key).filter { !known.contains($0) }
        if strict && !report.isComplete { throw StateDictError(source: source, report: report) }
        Torch.noGrad {
            for (target, source) in targets { target.copy_(source) }
        }
        report.loaded = targets.count
        return report
    }
}
