import CTorch

/// An error reported by libtorch, with the operation that raised it.
///
/// Graft has two tiers of failure (as mlx-swift and tch-rs do):
/// - an op misused by code (a shape mismatch, a wrong dtype) **traps** with
///   libtorch's message and the op's name, unless it runs inside
///   ``withTorchErrors(_:)``, which turns the first such failure into a thrown
///   `TorchError`;
/// - loading, I/O and device errors are always thrown.
public struct TorchError: Error, CustomStringConvertible, Sendable {
    /// The Graft operation that failed, such as `conv2d` or `matmul`.
    public let operation: String
    /// libtorch's message, without its C++ backtrace.
    public let message: String

    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }

    /// Reads and clears the shim's thread-local error.
    static func take(_ operation: String) -> TorchError {
        let message = ct_last_error().map { String(cString: $0) } ?? "unknown libtorch error"
        ct_clear_error()
        return TorchError(operation: opName(operation), message: message)
    }
}

/// `conv2d(_:weight:bias:)` → `conv2d`.
@usableFromInline
func opName(_ function: String) -> String {
    if let paren = function.firstIndex(of: "(") { return String(function[..<paren]) }
    return function
}

final class ErrorCollector: @unchecked Sendable {
    var first: TorchError?
}

enum ErrorScope {
    @TaskLocal static var collector: ErrorCollector?
}

/// Runs `body` so that a failing tensor op throws instead of trapping.
///
/// Inside the scope a failing op records its error and returns an undefined
/// tensor; every later op on it fails too, cheaply. When `body` returns, the
/// first recorded error is thrown.
///
/// ```swift
/// let y = try withTorchErrors { a.matmul(b) }   // throws on a shape mismatch
/// ```
public func withTorchErrors<R>(_ body: () throws -> R) throws -> R {
    let collector = ErrorCollector()
    let result = try ErrorScope.$collector.withValue(collector) { try body() }
    if let error = collector.first { throw error }
    return result
}

/// Whether the current code runs inside ``withTorchErrors(_:)``.
public var isCollectingTorchErrors: Bool { ErrorScope.collector != nil }

/// Tier 1: a tensor result of an op; traps, or records inside a scope.
@inline(__always)
func op(_ handle: ct_tensor?, _ function: String) -> Tensor {
    if let handle { return Tensor(handle: handle) }
    return failed(function)
}

@inline(never)
func failed(_ function: String) -> Tensor {
    recordFailure(TorchError.take(function))
    return Tensor(handle: ct_undefined()!)
}

/// Tier 1: inside ``withTorchErrors(_:)`` records the first error (the scope throws it);
/// outside, traps with the op's name and libtorch's message (code misused an op).
@inline(never)
func recordFailure(_ error: TorchError) {
    if let collector = ErrorScope.collector {
        if collector.first == nil { collector.first = error }
        return
    }
    fatalError("Torch.\(error)")
}

/// Tier 1 for status-returning calls.
@inline(__always)
func opStatus(_ status: Int32, _ function: String) {
    if status == 0 { return }
    recordFailure(TorchError.take(function))
}

/// Tier 2: always throws.
@inline(__always)
func check(_ handle: ct_tensor?, _ function: String) throws -> Tensor {
    if let handle { return Tensor(handle: handle) }
    throw TorchError.take(function)
}

@inline(__always)
func checkStatus(_ status: Int32, _ function: String) throws {
    if status != 0 { throw TorchError.take(function) }
}

/// A Swift string from a NUL-terminated C buffer.
func string(fromCBuffer buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
