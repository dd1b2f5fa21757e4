import CTorch
import Foundation

/// Library-wide state: versions, threads, the global seed.
public enum Torch {
    /// The libtorch version Graft was built against ("2.15.0").
    public static var version: String { String(cString: ct_version()) }

    /// The intra-op thread count libtorch uses. Graft sets it to the machine's
    /// active cores the first time it's read or a tensor is created through
    /// ``configure()``; set it to change that.
    public static var numThreads: Int {
        get { configure(); return Int(ct_get_num_threads()) }
        set {
            configure()
            opStatus(ct_set_num_threads(Int32(Swift.max(1, newValue))), "set_num_threads")
        }
    }

    /// Runs `body` with libtorch's intra-op parallelism at `threads` for the calling thread
    /// only (OpenMP's and MKL's thread-local settings), then restores it: for work spread
    /// over several threads of one's own, each running small ops, which would otherwise
    /// each start a team of threads on the same cores.
    public static func withThreadLocalThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        configure()
        let previous = ct_set_thread_local_num_threads(Int32(Swift.max(1, threads)))
        defer { _ = ct_set_thread_local_num_threads(-previous) }
        return try body()
    }

    private static let defaultThreads: Void = {
        _ = ct_set_num_threads(Int32(ProcessInfo.processInfo.activeProcessorCount))
    }()

    /// Applies Graft's defaults once (thread count = active cores). Cheap to call again.
    public static func configure() { _ = defaultThreads }

    /// Keeps freed CPU memory in the process for reuse instead of returning it to the
    /// system, which suits libtorch on the CPU: every step allocates and frees the same large
    /// activation buffers (a ResNet-18 batch of 32 at 224 px: buffers of up to 100 MB), and
    /// glibc serves blocks over its mmap threshold with fresh `mmap`s, so each one is
    /// page-faulted and zeroed by the kernel again, every step. Two parts: glibc's `mallopt`
    /// with `M_MMAP_THRESHOLD` and `M_TRIM_THRESHOLD` at 1 GiB, and a CPU allocator for
    /// libtorch that takes plain `malloc` blocks aligned to 64 bytes by hand, because the
    /// default one's `posix_memalign` leaves slivers that keep a freed block from being
    /// reused for the same request. Measured on ResNet-18 (`graft-bench engine`, 2 cores):
    /// minor page faults 2.5 M → 0.24 M, system time 4.8 s → 0.6 s, training step 8–12%
    /// faster, and peak memory 1.49 GB → 1.06 GB; the demo's EfficientNet-Lite0 runs take
    /// 212–238 s instead of 376 s.
    ///
    /// Process-wide, so the library never does it by itself; the `graft` tool calls it at
    /// start (set `GRAFT_KEEP_FREED_MEMORY=0` to leave glibc's and libtorch's defaults).
    /// It applies to what is allocated after the call (earlier tensors are freed as they
    /// were allocated), so call it at start. PyTorch users get a similar effect from
    /// jemalloc or tcmalloc via `LD_PRELOAD`. Returns whether it was applied (glibc only).
    @discardableResult
    public static func keepFreedMemory() -> Bool {
        if ProcessInfo.processInfo.environment["GRAFT_KEEP_FREED_MEMORY"] == "0" { return false }
        return ct_malloc_keep_freed(1 << 30) == 1
    }

    /// Bytes held by CPU tensors, counted by Graft's CPU allocator (the one
    /// ``keepFreedMemory()`` installs; ``CPUMemory/track()`` installs it alone).
    public enum CPUMemory {
        /// Counts CPU tensor allocations from now on; idempotent. Returns whether counting is on.
        @discardableResult
        public static func track() -> Bool { ct_cpu_memory_track() == 0 }

        /// (bytes held now, the most held since the last ``resetPeak()``).
        public static var usage: (inUse: Int, peak: Int) {
            var inUse: Int64 = 0, peak: Int64 = 0
            ct_cpu_memory_stats(&inUse, &peak)
            return (Int(inUse), Int(peak))
        }

        /// Starts a new peak at what is held now.
        public static func resetPeak() { ct_cpu_memory_reset_peak() }
    }

    /// Seeds the global generator, as `torch.manual_seed`.
    public static func manualSeed(_ seed: UInt64) {
        opStatus(ct_manual_seed(seed), "manual_seed")
    }

    /// Runs `body` with libtorch's default CPU generator seeded with `seed`, then puts the
    /// generator's previous state back. What draws from the default generator inside
    /// (layer initialisation, dropout, stochastic depth) is then fixed by `seed` alone, and
    /// the caller's random stream is left as it was.
    public static func withManualSeed<T>(_ seed: UInt64, _ body: () throws -> T) rethrows -> T {
        let saved = Generator.global.state
        manualSeed(seed)
        defer { try? Generator.global.setState(saved) }
        return try body()
    }
}

/// A random-number generator, as `torch.Generator`. Pass one to creation and
/// sampling functions to keep their randomness separate from the global stream.
public final class Generator: @unchecked Sendable {
    let handle: ct_generator
    private let owned: Bool

    /// A new CPU generator seeded with `seed`. Creating one fails only when memory runs
    /// out; that is an error like any op's: it traps, or inside ``withTorchErrors(_:)`` is
    /// recorded (the scope throws it) and the generator borrows the default one meanwhile.
    public init(seed: UInt64) {
        if let h = ct_generator_new(seed) {
            handle = h
            owned = true
        } else {
            recordFailure(TorchError.take("Generator"))
            handle = ct_generator_default()
            owned = false
        }
    }

    private init(borrowing handle: ct_generator) {
        self.handle = handle
        owned = false
    }

    /// libtorch's default CPU generator (the one ``Torch/manualSeed(_:)`` seeds).
    public static let global = Generator(borrowing: ct_generator_default())

    deinit { if owned { ct_generator_free(handle) } }

    public func manualSeed(_ seed: UInt64) {
        opStatus(ct_generator_set_seed(handle, seed), "Generator.manual_seed")
    }

    /// The full state as bytes, to save with a checkpoint and restore exactly.
    public var state: Tensor {
        get { op(ct_generator_get_state(handle), "Generator.get_state") }
    }

    /// Restores a state taken with ``state``.
    public func setState(_ state: Tensor) throws {
        try checkStatus(ct_generator_set_state(handle, state.handle), "Generator.set_state")
    }
}
