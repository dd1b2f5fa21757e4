import Foundation
import ImageCodecs
import Torch

/// What ``DataLoader`` does with a sample whose image can't be read or decoded (a corrupt,
/// truncated, empty, missing or foreign file).
public enum BadFilePolicy: Sendable {
    /// End the epoch: the epoch's ``DataLoader/Epoch/error`` is set and
    /// ``DataLoader/Epoch/finish()`` throws it, after the batches before it.
    case fail
    /// Leave the sample out of its batch (which comes out smaller) and report it in
    /// ``DataLoader/Epoch/skipped`` and ``DataLoader/skipped``.
    case skip
}

/// A sample the loader could not use: which one, where it comes from, and why.
public struct SampleError: Error, Sendable, Equatable, CustomStringConvertible {
    public let epoch: Int
    /// The sample's index in the dataset.
    public let index: Int
    /// ``Dataset/source(at:)``: the file, or `"file#index"`.
    public let source: String
    /// What is wrong and what to do, without the source.
    public let reason: String

    public var description: String { "\(source): \(reason) (sample \(index), epoch \(epoch))" }
}

/// One batch from a ``DataLoader``.
public struct Batch: Sendable {
    /// N×C×H×W images as the transform leaves them (`float32` after `ToFloat` or
    /// `Normalize`), stacked in the loader's memory format (NHWC strides for `.channelsLast`).
    public let images: Tensor
    /// N class indices, `int64`.
    public let labels: Tensor
    /// The dataset index of each sample, in batch order.
    public let indices: [Int]

    public init(images: Tensor, labels: Tensor, indices: [Int]) {
        self.images = images
        self.labels = labels
        self.indices = indices
    }
}

/// Batches of transformed samples, decoded on a pool of worker threads.
///
/// ```swift
/// let loader = DataLoader(dataset, transform: Compose([...]), batchSize: 64, shuffle: true, seed: 7)
/// for epoch in 0..<10 {
///     try loader.forEachBatch(epoch: epoch) { batch in /* train on batch.images, batch.labels */ }
/// }
/// ```
///
/// **Order.** An epoch visits the samples in ``indices(epoch:)`` order, cut into batches of
/// `batchSize` (the last one shorter unless `dropLast`). Batches come out in that order.
///
/// **Determinism.** Sample `i` of epoch `e` is transformed with
/// `sampleGenerator(seed: seed, epoch: e, index: i)`, so a batch is the same, bit for bit,
/// whatever the number of workers or the timing.
///
/// **Threads.** `workers` threads decode and transform samples (several working on one
/// batch), and stack each batch when its last sample is done. They prepare at most
/// `prefetch` batches beyond the one the consumer holds, then wait. Each worker runs its
/// libtorch ops on its own thread only, so the pool adds `workers` busy threads, not
/// `workers` × libtorch's thread count, and the consumer's libtorch thread count is left
/// as it is. (`at::set_num_threads` can't do that: with libtorch's OpenMP backend it also
/// sets the process-wide count every thread adopts at its first parallel op. Workers set
/// their own OpenMP and MKL counts to 1 with `omp_set_num_threads` and
/// `mkl_set_num_threads_local`, which are per-thread.) The threads of an epoch stop when it
/// ends, fails, is stopped, or is released before its end.
public final class DataLoader: Sendable {
    public let dataset: any Dataset
    public let transform: any ImageTransform
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let seed: UInt64
    public let workers: Int
    public let prefetch: Int
    /// Each epoch's samples drawn class-balanced with replacement (``init``'s `balanced`).
    public let balanced: Bool
    public let badFiles: BadFilePolicy
    public let memoryFormat: MemoryFormat
    private let skipLog = SkipLog()

    /// - Parameters:
    ///   - transform: applied to each CHW `uint8` image; it must give every sample the same
    ///     shape (end it with a fixed-size crop or resize). Default: none.
    ///   - shuffle: visit the samples in a new random order each epoch.
    ///   - balanced: instead, draw each epoch's samples with replacement, each class equally
    ///     likely (every sample weighted 1 / its class's count), as `WeightedRandomSampler`.
    ///   - dropLast: leave out the last batch when it would be short.
    ///   - seed: seeds the shuffling and every random transform.
    ///   - workers: decoding threads; default: the active cores.
    ///   - prefetch: batches prepared ahead of the one being used.
    ///   - badFiles: what to do with samples that can't be decoded.
    ///   - memoryFormat: `.channelsLast` to stack batches with NHWC strides.
    public init(
        _ dataset: any Dataset, transform: any ImageTransform = Compose([]), batchSize: Int, shuffle: Bool = false,
        balanced: Bool = false, dropLast: Bool = false, seed: UInt64 = 0, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
        prefetch: Int = 2, badFiles: BadFilePolicy = .fail, memoryFormat: MemoryFormat = .contiguous
    ) {
        precondition(batchSize > 0 && workers > 0 && prefetch > 0, "DataLoader: batchSize, workers and prefetch must be positive")
        self.dataset = dataset
        self.transform = transform
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.balanced = balanced
        self.dropLast = dropLast
        self.seed = seed
        self.workers = workers
        self.prefetch = prefetch
        self.badFiles = badFiles
        self.memoryFormat = memoryFormat
    }

    /// Batches per epoch (before any are left empty by skipped samples).
    public var batchCount: Int { dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize }

    /// The dataset indices of `epoch` in loading order: `0..<count`, or with `shuffle`
    /// `torch.randperm(count, generator=g)` with `g` seeded with `mixSeed(seed, epoch)`, or
    /// with `balanced` `torch.multinomial(1 / class counts, count, True, generator=g)`;
    /// cut to whole batches with `dropLast`.
    public func indices(epoch: Int) -> [Int] {
        let count = dataset.count
        if balanced, count > 0 {
            // torch.utils.data.WeightedRandomSampler(1 / class count, count, replacement=True).
            let labels = dataset.labels
            var counts: [Int: Int] = [:]
            for label in labels { counts[label, default: 0] += 1 }
            let weights = Tensor(labels.map { 1 / Double(counts[$0]!) })
            let drawn = weights.multinomial(count, replacement: true,
                                            generator: Generator(seed: mixSeed(seed, UInt64(truncatingIfNeeded: epoch))))
            return Array(drawn.toArray(Int.self).prefix(batchCount * batchSize))
        }
        let order = shuffle
            ? Tensor.randperm(count, generator: Generator(seed: mixSeed(seed, UInt64(truncatingIfNeeded: epoch))))
                .toArray(Int.self)
            : Array(0..<count)
        return Array(order.prefix(batchCount * batchSize))
    }

    /// The batches of `epoch`, to iterate once: `for batch in loader.epoch(3) { ... }`.
    /// Workers start at the first batch asked for. Check ``Epoch/error`` afterwards, or call
    /// ``Epoch/finish()``, or use ``forEachBatch(epoch:_:)``, which throws.
    public func epoch(_ epoch: Int) -> Epoch { Epoch(self, number: epoch) }

    /// Calls `body` with each batch of `epoch` in order.
    ///
    /// - Throws: the ``SampleError`` that ended the epoch (after the batches before it), or
    ///   what `body` throws. Either way the workers are stopped.
    public func forEachBatch(epoch: Int, _ body: (Batch) throws -> Void) throws {
        let run = self.epoch(epoch)
        for batch in run { try body(batch) }
        try run.finish()
    }

    /// Every sample skipped under ``BadFilePolicy/skip`` so far, all epochs, in the order
    /// the batches were handed out.
    public var skipped: [SampleError] { skipLog.entries }

    /// One pass over the dataset; a `Sequence` that can be iterated once.
    public final class Epoch: Sequence, IteratorProtocol {
        public let number: Int
        /// Why the epoch ended early (``BadFilePolicy/fail``, or a transform that failed or
        /// gave samples of different shapes), once ``next()`` has returned nil.
        public private(set) var error: SampleError?
        /// The samples of this epoch skipped so far (``BadFilePolicy/skip``).
        public private(set) var skipped: [SampleError] = []
        private let loader: DataLoader
        let run: EpochRun
        private var started = false
        private var nextBatch = 0

        init(_ loader: DataLoader, number: Int) {
            self.loader = loader
            self.number = number
            run = EpochRun(loader, epoch: number)
        }

        deinit { run.stop() }

        /// The next batch; nil at the end of the epoch, after an error, or once stopped.
        public func next() -> Batch? {
            if !started {
                started = true
                run.start()
            }
            while error == nil, nextBatch < run.batchCount, let result = run.take(nextBatch) {
                nextBatch += 1
                switch result {
                case .failure(let failure):
                    error = failure
                case .success(let ready):
                    skipped += ready.skipped
                    loader.skipLog.append(ready.skipped)
                    if let batch = ready.batch { return batch }
                }
            }
            run.stop()
            return nil
        }

        /// Stops the workers (waiting for the samples they are on); later calls to
        /// ``next()`` return nil. Releasing the epoch does the same.
        public func stop() { run.stop() }

        /// Stops the workers, then throws ``error`` if the epoch ended on one.
        public func finish() throws(SampleError) {
            run.stop()
            if let error { throw error }
        }
    }
}

private final class SkipLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [SampleError] = []
    var entries: [SampleError] { lock.withLock { list } }
    func append(_ errors: [SampleError]) {
        if !errors.isEmpty { lock.withLock { list += errors } }
    }
}
