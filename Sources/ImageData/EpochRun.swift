import Foundation
import ImageCodecs
import Torch

/// The worker threads of one epoch and the batches they share with the consumer.
///
/// Workers claim sample positions in order, but only in batches fewer than `prefetch`
/// ahead of the next one the consumer will take, and none past a batch in which a sample
/// failed. The worker that fills a batch's last slot stacks it. Everything below the
/// `let`s is guarded by `condition`.
final class EpochRun: @unchecked Sendable {
    /// A batch ready for the consumer: nil when all its samples were skipped.
    struct Ready {
        var batch: Batch?
        var skipped: [SampleError]
    }

    private enum Loaded {
        case image(Tensor)
        case skipped(SampleError)
        case failed(SampleError)
    }

    private struct Pending {
        var slots: [Loaded?]
        var filled = 0
    }

    private let loader: DataLoader
    private let epoch: Int
    private let order: [Int]
    private let labels: [Int]
    let batchCount: Int

    private let condition = NSCondition()
    private var claimed = 0
    private var taken = 0
    private var lastBatch = Int.max
    private var stopped = false
    private var running = 0
    private var pending: [Int: Pending] = [:]
    private var ready: [Int: Result<Ready, SampleError>] = [:]

    init(_ loader: DataLoader, epoch: Int) {
        self.loader = loader
        self.epoch = epoch
        order = loader.indices(epoch: epoch)
        labels = loader.dataset.labels
        batchCount = (order.count + loader.batchSize - 1) / loader.batchSize
    }

    /// Worker threads alive, for tests.
    var runningWorkers: Int { condition.withLock { running } }

    func start() {
        let count = min(loader.workers, order.count)
        condition.withLock { running = count }
        for worker in 0..<count {
            let thread = Thread { [self] in work() }
            thread.name = "graft-loader-\(worker)"
            thread.start()
        }
    }

    /// Waits for batch `batch`; nil once stopped.
    func take(_ batch: Int) -> Result<Ready, SampleError>? {
        condition.lock()
        defer { condition.unlock() }
        while ready[batch] == nil && !stopped { condition.wait() }
        guard !stopped else { return nil }
        taken = batch + 1
        condition.broadcast()
        return ready.removeValue(forKey: batch)
    }

    /// Stops the workers and waits until they have exited.
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        stopped = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        pending = [:]
        ready = [:]
    }

    private func work() {
        useOneTorchThreadHere()
        let batchSize = loader.batchSize
        condition.lock()
        while !stopped, claimed < order.count, claimed / batchSize <= lastBatch {
            let position = claimed, batch = position / batchSize
            guard batch < taken + loader.prefetch else {
                condition.wait()
                continue
            }
            claimed += 1
            condition.unlock()
            let sample = load(order[position])
            condition.lock()
            if stopped { break }
            if case .failed = sample { lastBatch = min(lastBatch, batch) }
            let size = min(batchSize, order.count - batch * batchSize)
            var slots = pending.removeValue(forKey: batch) ?? Pending(slots: Array(repeating: nil, count: size))
            slots.slots[position - batch * batchSize] = sample
            slots.filled += 1
            guard slots.filled == size else {
                pending[batch] = slots
                continue
            }
            condition.unlock()
            let result = assemble(batch, slots.slots.compactMap { $0 })
            condition.lock()
            ready[batch] = result
            condition.broadcast()
        }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Decodes and transforms the sample at dataset index `index`.
    private func load(_ index: Int) -> Loaded {
        let dataset = loader.dataset
        let image: Tensor
        do {
            image = try dataset.image(at: index)
        } catch {
            let failure = SampleError(epoch: epoch, index: index, source: dataset.source(at: index), reason: describe(error))
            return loader.badFiles == .skip ? .skipped(failure) : .failed(failure)
        }
        do {
            let generator = sampleGenerator(seed: loader.seed, epoch: epoch, index: index)
            return .image(try withTorchErrors { loader.transform(image, generator: generator) })
        } catch {
            return .failed(SampleError(epoch: epoch, index: index, source: dataset.source(at: index),
                                       reason: "the transform failed: \(error)"))
        }
    }

    /// The batch from its samples in order: the first failure, or the images stacked.
    private func assemble(_ batch: Int, _ samples: [Loaded]) -> Result<Ready, SampleError> {
        var images: [Tensor] = [], indices: [Int] = [], skipped: [SampleError] = []
        for (slot, sample) in samples.enumerated() {
            switch sample {
            case .failed(let failure): return .failure(failure)
            case .skipped(let failure): skipped.append(failure)
            case .image(let image):
                images.append(image)
                indices.append(order[batch * loader.batchSize + slot])
            }
        }
        guard let first = images.first else { return .success(Ready(batch: nil, skipped: skipped)) }
        let shape = first.shape, dtype = first.dtype
        // A CHW image, or a stack of views of it (V × C × H × W, as FiveCrop gives: a
        // contiguous loader then stacks N × V × C × H × W).
        let viewsAllowed = shape.count == 4 && loader.memoryFormat == .contiguous
        if let k = images.indices.first(where: {
            images[$0].shape != shape || images[$0].dtype != dtype || (shape.count != 3 && !viewsAllowed)
        }) {
            let index = indices[k]
            let reason = shape.count != 3 && !viewsAllowed
                ? "the transform gave a \(shape.count)-d tensor \(shape), not a CHW image"
                : "the transform gave \(images[k].dtype) \(images[k].shape), but sample \(indices[0]) of the same batch "
                    + "is \(dtype) \(shape); end the transform with a fixed-size crop or resize"
            return .failure(SampleError(epoch: epoch, index: index, source: loader.dataset.source(at: index), reason: reason))
        }
        let stacked = Tensor.stack(images).contiguous(loader.memoryFormat)
        let labels = Tensor(indices.map { Int64(self.labels[$0]) })
        return .success(Ready(batch: Batch(images: stacked, labels: labels, indices: indices), skipped: skipped))
    }
}

/// The reason without the file name (the sample's source says where).
private func describe(_ error: any Error) -> String {
    switch error {
    case let error as ImageDecodeError: error.reason.description
    case let error as DatasetError: error.reason
    default: "\(error)"
    }
}

/// Makes libtorch run the calling thread's ops on that thread alone.
///
/// `at::set_num_threads` is no use here: with libtorch's OpenMP backend it sets the calling
/// thread's OpenMP and MKL counts but also the process-wide count that every thread adopts
/// at its first parallel op, so a worker calling it would cut the training thread to one
/// thread too if that one hasn't run a parallel op yet. Instead, a worker lets libtorch do
/// its per-thread set-up (reading the count does), then sets only its own counts to 1 with
/// `omp_set_num_threads` and `mkl_set_num_threads_local` (C entry `MKL_Set_Num_Threads_Local`;
/// the lowercase symbol is MKL's Fortran entry, which takes a pointer), which act on the
/// calling thread. Graft's C shim doesn't wrap them, so they are looked up in the loaded
/// libraries; where
/// they are missing (another parallel backend) the worker keeps libtorch's default.
func useOneTorchThreadHere() {
    _ = Torch.numThreads
    ThreadCounts.openMP?(1)
    _ = ThreadCounts.mkl?(1)
}

private enum ThreadCounts {
    static let openMP = symbol("omp_set_num_threads", as: (@convention(c) (Int32) -> Void).self)
    static let mkl = symbol("MKL_Set_Num_Threads_Local", as: (@convention(c) (Int32) -> Int32).self)

    private static func symbol<F>(_ name: String, as type: F.Type) -> F? {
        dlsym(nil, name).map { unsafeBitCast($0, to: type) }
    }
}
