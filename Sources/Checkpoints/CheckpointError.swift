#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a checkpoint could not be read or written.
///
/// Every case names the file (its path, or `<memory>` for bytes handed in by the caller)
/// and, where one is involved, the tensor key, zip entry, pickle offset or Python global.
/// ``description`` adds what to do about it. It is one line of bounded length: names and
/// values read from the file appear as an ``excerpt(_:limit:)``, never whole.
public enum CheckpointError: Error, CustomStringConvertible, Sendable {
    /// A system call failed: `operation` is what was attempted (`open`, `mmap`, `write`,
    /// `rename`, ...) and `code` the `errno` it left.
    case io(file: String, operation: String, code: Int32)
    /// The file ends before a structure it declares; `detail` says which and where.
    case truncated(file: String, detail: String)
    /// The file's structure is invalid. `key` names the tensor or entry when there is one.
    case malformed(file: String, key: String?, detail: String)
    /// A pickle references a Python global (`module.name`) outside the allow-list.
    /// Nothing is ever imported or called.
    case forbiddenGlobal(file: String, global: String)
    /// The file is valid but uses something this reader does not implement
    /// (a compressed zip entry, big-endian data, an unknown dtype, ...).
    case unsupported(file: String, key: String?, detail: String)
    /// The checkpoint holds no map from names to tensors, neither at the top level nor under
    /// `state_dict`, `model` or `model_state_dict`. `topLevelKeys` lists the string keys found.
    case noStateDict(file: String, topLevelKeys: [String])
    /// What the caller handed in is inconsistent: bytes that do not fit the element type and
    /// shape, or a state dict to write with a repeated key.
    case invalidInput(detail: String)

    public var description: String {
        switch self {
        case let .io(file, operation, code):
            let advice: String
            switch code {
            case ENOSPC, EFBIG, EDQUOT: advice = "Free some space (or raise the file-size limit), or write elsewhere."
            case EACCES, EPERM, EROFS: advice = "Check the folder's permissions, or write elsewhere."
            case ENOENT, ENOTDIR: advice = "Check that the folder exists."
            default: advice = "Check that the path exists and is accessible."
            }
            return "\(operation) failed for '\(file)': \(String(cString: strerror(code))) (errno \(code)). " + advice
        case let .truncated(file, detail):
            return "'\(file)' is truncated: \(detail). The file is incomplete; download or save it again."
        case let .malformed(file, key, detail):
            return "'\(file)'\(Self.keyPart(key)) is malformed: \(detail). "
                + "The file is corrupt or not a checkpoint; re-create it with torch.save or safetensors."
        case let .forbiddenGlobal(file, global):
            return "'\(file)' references the Python global '\(excerpt(global))', "
                + "which a weights-only checkpoint may not use; "
                + "nothing was executed. Load it in Python with torch.load and re-save only the state dict "
                + "(torch.save(model.state_dict(), path)) or convert it to safetensors."
        case let .unsupported(file, key, detail):
            return "'\(file)'\(Self.keyPart(key)) is not supported: \(detail)."
        case let .noStateDict(file, keys):
            let shown = keys.prefix(8).map { "'\(excerpt($0, limit: 40))'" }
                + (keys.count > 8 ? ["… (\(keys.count) in all)"] : [])
            let found = keys.isEmpty ? "no string keys" : "keys " + shown.joined(separator: ", ")
            return "'\(file)' holds no map of names to tensors at the top level or under 'state_dict', 'model' "
                + "or 'model_state_dict' (top level has \(found)). Use TorchCheckpoint.readObject to inspect it."
        case let .invalidInput(detail):
            return "invalid input: \(detail)."
        }
    }

    private static func keyPart(_ key: String?) -> String {
        key.map { " (key '\(excerpt($0))')" } ?? ""
    }
}

/// `text` for an error message: one line (control characters and line separators escaped as
/// `\n`, `\u{1B}`, ...) of at most `limit` characters, the rest elided as `…`.
/// Names read from a file (keys, zip entries, globals) may be arbitrarily long.
func excerpt(_ text: String, limit: Int = 120) -> String {
    var out = ""
    var count = 0
    for scalar in text.unicodeScalars {
        guard count < limit else { return out + "…" }
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .format:
            out += scalar.escaped(asASCII: true)
        default:
            out.unicodeScalars.append(scalar)
        }
        count += 1
    }
    return out
}

/// `values` (a shape or strides) for an error message: `[2, 3]`, or the first `limit`
/// followed by `… (N in all)`.
func excerpt(_ values: [Int], limit: Int = 8) -> String {
    let shown = values.prefix(limit).map(String.init) + (values.count > limit ? ["… (\(values.count) in all)"] : [])
    return "[" + shown.joined(separator: ", ") + "]"
}
