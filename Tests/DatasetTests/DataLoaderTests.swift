@testable import ImageData
import Foundation
import Testing
import Torch

@Suite(.serialized) struct DataLoaderTests {
    /// Every batch, as values, for comparing runs.
    private func snapshot(_ loader: DataLoader, epoch: Int) -> [([Float], [Int64], [Int], [Int])] {
        let (batches, error) = collect(loader, epoch: epoch)
        #expect(error == nil)
        return batches.map { ($0.images.toArray(Float.self), $0.labels.toArray(Int64.self), $0.indices, $0.images.shape) }
    }

    @Test func identicalWhateverTheWorkers() {
        let dataset = SyntheticDataset(count: 37)
        let runs = [1, 2, 4].map { workers in
            (0..<2).map { epoch in
                snapshot(DataLoader(dataset, transform: NoiseTransform(), batchSize: 5, shuffle: true, seed: 11,
                                    workers: workers, prefetch: workers == 4 ? 3 : 2), epoch: epoch)
            }
        }
        for run in runs.dropFirst() {
            for (epoch, reference) in runs[0].enumerated() {
                #expect(run[epoch].count == reference.count)
                for (a, b) in zip(run[epoch], reference) {
                    #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2 && a.3 == b.3)
                }
            }
        }
        let first = runs[0][0]
        #expect(first.count == 8 && first.last?.2.count == 2)
        #expect(first[0].3 == [5, 3, 6, 5])
        #expect(first.flatMap(\.2).sorted() == Array(0..<37))
        #expect(first.flatMap(\.1) == first.flatMap(\.2).map { Int64($0 % 3) })
        #expect(runs[0][1].flatMap(\.2) != first.flatMap(\.2))  // a new order each epoch
        // The same sample gets different noise in another epoch.
        let other = snapshot(DataLoader(dataset, transform: NoiseTransform(), batchSize: 37, seed: 11, workers: 2), epoch: 1)
        let same = snapshot(DataLoader(dataset, transform: NoiseTransform(), batchSize: 37, seed: 11, workers: 2), epoch: 0)
        #expect(other[0].0 != same[0].0)
    }

    /// The real pipeline on decoded PNGs: random crops and flips match across worker counts.
    @Test func identicalWithImageTransforms() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        for i in 0..<14 { try write(testPNG(width: 20 + i, height: 16, seed: i), to: "c\(i % 3)/\(i).png", in: root) }
        let dataset = try ImageFolder(root: root)
        let transform = Compose([RandomResizedCrop(8), RandomHorizontalFlip(), ToFloat(),
                                 Normalize(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])])
        let runs = [1, 2, 4].map { workers in
            snapshot(DataLoader(dataset, transform: transform, batchSize: 4, shuffle: true, seed: 5, workers: workers,
                                memoryFormat: .channelsLast), epoch: 2)
        }
        for run in runs.dropFirst() {
            #expect(run.count == runs[0].count)
            for (a, b) in zip(run, runs[0]) { #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2) }
        }
        #expect(runs[0].map(\.3) == [[4, 3, 8, 8], [4, 3, 8, 8], [4, 3, 8, 8], [2, 3, 8, 8]])
        let batch = try #require(DataLoader(dataset, transform: transform, batchSize: 4, memoryFormat: .channelsLast).epoch(0).next())
        #expect(batch.images.dtype == .float32 && batch.labels.dtype == .int64)
        #expect(batch.images.isContiguous(.channelsLast))
    }

    @Test func orderShuffleAndDropLast() {
        let dataset = SyntheticDataset(count: 23)
        let plain = DataLoader(dataset, batchSize: 5)
        #expect(plain.batchCount == 5)
        #expect(plain.indices(epoch: 4) == Array(0..<23))
        let sizes = collect(plain, epoch: 0).batches.map { $0.indices.count }
        #expect(sizes == [5, 5, 5, 5, 3])
        let batch = collect(plain, epoch: 0).batches[1]
        #expect(batch.images.dtype == .uint8 && batch.images.shape == [5, 3, 6, 5])
        #expect(batch.images.isContiguous())

        let dropping = DataLoader(dataset, batchSize: 5, shuffle: true, dropLast: true, seed: 3)
        #expect(dropping.batchCount == 4)
        let order = dropping.indices(epoch: 0)
        #expect(order.count == 20 && Set(order).count == 20)
        #expect(order == dropping.indices(epoch: 0))
        #expect(order != dropping.indices(epoch: 1))
        #expect(order != DataLoader(dataset, batchSize: 5, shuffle: true, dropLast: true, seed: 4).indices(epoch: 0))
        // As torch.randperm(23, generator=torch.Generator().manual_seed(mixSeed(3, 0))).
        let expected = Tensor.randperm(23, generator: Generator(seed: mixSeed(3, 0))).toArray(Int.self)
        #expect(order == Array(expected.prefix(20)))
        let batches = collect(dropping, epoch: 0).batches
        #expect(batches.map { $0.indices.count } == [5, 5, 5, 5])
        #expect(batches.flatMap(\.indices) == order)
    }

    @Test func workersRunLibtorchOnOneThread() {
        let seen = Box<[Int]>([])
        struct Probe: ImageTransform {
            let seen: Box<[Int]>
            func callAsFunction(_ image: Tensor, generator: Generator) -> Tensor {
                seen.update { $0.append(Torch.numThreads) }
                return image
            }
        }
        let before = Torch.numThreads
        _ = collect(DataLoader(SyntheticDataset(count: 8), transform: Probe(seen: seen), batchSize: 2, workers: 2), epoch: 0)
        #expect(seen.value == [Int](repeating: 1, count: 8))
        #expect(Torch.numThreads == before)
        // A thread started afterwards still gets the process-wide count.
        let fresh = Box(0)
        let done = DispatchSemaphore(value: 0)
        Thread { fresh.update { $0 = Torch.numThreads }; done.signal() }.start()
        done.wait()
        #expect(fresh.value == before)
    }

    /// Abandoning an epoch stops its workers; they never run more than `prefetch` batches ahead.
    @Test func earlyStopEndsTheThreads() throws {
        let loaded = Box<Set<Int>>([])
        let dataset = SyntheticDataset(count: 200) { index in loaded.update { $0.insert(index) } }
        let loader = DataLoader(dataset, batchSize: 4, workers: 3, prefetch: 2)
        let run: EpochRun
        do {
            let epoch = loader.epoch(0)
            run = epoch.run
            for _ in epoch { break }
            Thread.sleep(forTimeInterval: 0.2)
            #expect(loaded.value.count <= 3 * 4)  // the batch held and two ahead
            #expect(run.runningWorkers > 0)
        }
        #expect(run.runningWorkers == 0)  // the epoch was released: its workers have exited
        let count = loaded.value.count
        Thread.sleep(forTimeInterval: 0.1)
        #expect(loaded.value.count == count)

        for _ in loader.epoch(1) { break }  // the same, inline
        let explicit = loader.epoch(2)
        _ = explicit.next()
        explicit.stop()
        #expect(explicit.run.runningWorkers == 0)
        #expect(explicit.next() == nil)
        #expect(explicit.error == nil)
    }
}
