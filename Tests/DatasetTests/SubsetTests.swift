import Foundation
import ImageData
import Testing
import Torch

/// Labels given outright; images are never asked for.
private struct LabelsOnly: Dataset {
    let classes: [String]
    let labels: [Int]
    init(counts: [Int]) {
        classes = counts.indices.map { "c\($0)" }
        // Interleave the classes so that dataset order and class order differ.
        var remaining = counts, labels: [Int] = []
        while remaining.contains(where: { $0 > 0 }) {
            for c in remaining.indices where remaining[c] > 0 {
                labels.append(c)
                remaining[c] -= 1
            }
        }
        self.labels = labels
    }
    func image(at index: Int) throws -> Tensor { Tensor.zeros([3, 1, 1], dtype: .uint8) }
    func source(at index: Int) -> String { "#\(index)" }
}

@Suite struct SubsetTests {
    private let dataset = LabelsOnly(counts: [10, 7, 3, 1, 0, 2])

    @Test func subsetForwards() throws {
        let synthetic = SyntheticDataset(count: 10)
        let subset = Subset(synthetic, [7, 2, 2])
        #expect(subset.count == 3)
        #expect(subset.labels == [1, 2, 2])
        #expect(subset.classes == synthetic.classes)
        #expect(subset.source(at: 0) == "synthetic#7")
        #expect(try subset.image(at: 1).toArray(UInt8.self) == synthetic.image(at: 2).toArray(UInt8.self))
        #expect(subset.classCounts == [0, 1, 2])
    }

    @Test func stratifiedSplit() {
        #expect(dataset.classCounts == [10, 7, 3, 1, 0, 2])
        let (train, validation) = dataset.split(validationFraction: 0.2, seed: 42)
        // round(0.2 n), at least one on each side for classes of two or more; a lone sample trains.
        #expect(validation.classCounts == [2, 1, 1, 0, 0, 1])
        #expect(train.classCounts == [8, 6, 2, 1, 0, 1])
        #expect(Set(train.indices).isDisjoint(with: validation.indices))
        #expect((train.indices + validation.indices).sorted() == Array(0..<dataset.count))
        #expect(train.indices == train.indices.sorted() && validation.indices == validation.indices.sorted())

        let again = dataset.split(validationFraction: 0.2, seed: 42)
        #expect(again.validation.indices == validation.indices)
        let other = (1...5).map { dataset.split(validationFraction: 0.2, seed: UInt64($0)).validation.indices }
        #expect(other.contains { $0 != validation.indices })

        #expect(dataset.split(validationFraction: 0, seed: 1).validation.count == 0)
        #expect(dataset.split(validationFraction: 1, seed: 1).train.count == 0)
        #expect(dataset.split(validationFraction: 0.5, seed: 1).validation.classCounts == [5, 4, 2, 0, 0, 1])
    }

    @Test func fewShot() {
        let shots = dataset.nPerClass(2, seed: 3)
        #expect(shots.classCounts == [2, 2, 2, 1, 0, 2])
        #expect(shots.indices == shots.indices.sorted())
        #expect(dataset.nPerClass(2, seed: 3).indices == shots.indices)
        #expect(dataset.nPerClass(100, seed: 3).indices == Array(0..<dataset.count))
        // The few-shot picks are the first of the same per-class order the split uses
        // (but a lone sample trains).
        let validation = dataset.split(validationFraction: 0.3, seed: 3).validation
        let counts = dataset.classCounts
        let picks = dataset.nPerClass(1, seed: 3).indices.filter { counts[dataset.labels[$0]] > 1 }
        #expect(picks.count == 4 && Set(picks).isSubset(of: validation.indices))
    }
}
