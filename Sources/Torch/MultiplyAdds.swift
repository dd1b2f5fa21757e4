import Foundation

/// Counts the multiply-adds of the matrix products a computation runs — convolutions,
/// linear layers, attention's two products and plain `matmul` — as PyTorch's
/// `FlopCounterMode` does (it reports 2 FLOPs per multiply-add; torchvision's "GFLOPS"
/// columns are these multiply-adds). Norms, activations and pooling are not counted.
///
/// ```swift
/// let (_, macs) = MultiplyAdds.count { model(Tensor.zeros([1, 3, 224, 224])) }
/// ```
public enum MultiplyAdds {
    /// Read on every counted op's path; written only under `lock`.
    nonisolated(unsafe) static var active = false
    nonisolated(unsafe) static var total = 0
    static let lock = NSRecursiveLock()

    /// Runs `body` and returns its result with the multiply-adds it performed. One count at
    /// a time per process: a concurrent count waits; a nested one adds to the outer's too.
    public static func count<T>(_ body: () throws -> T) rethrows -> (result: T, multiplyAdds: Int) {
        lock.lock()
        defer { lock.unlock() }
        let (outerActive, outerTotal) = (active, total)
        (active, total) = (true, 0)
        defer { active = outerActive }
        let result: T
        do {
            result = try body()
        } catch {
            total = outerTotal + (outerActive ? total : 0)
            throw error
        }
        let inner = total
        total = outerTotal + (outerActive ? inner : 0)
        return (result, inner)
    }

    @inline(__always) static func add(_ n: Int) { if active { total &+= n } }

    static func convolution(output: Tensor, weight: Tensor) {
        guard active, output.isDefined else { return }
        let w = weight.shape
        add(output.count * w.dropFirst().reduce(1, *))
    }

    static func product(output: Tensor, inner: Int) {
        guard active, output.isDefined else { return }
        add(output.count * inner)
    }
}
