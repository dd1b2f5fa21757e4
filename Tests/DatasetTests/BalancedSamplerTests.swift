@testable import ImageData
import Foundation
import Testing
import Torch

/// A dataset of the sampler fixture's labels (30 × class 0, 7 × class 1, 3 × class 2).
private struct Imbalanced: Dataset {
    let classes = ["a", "b", "c"]
    var count: Int { 40 }
    var labels: [Int] { (0..<40).map { $0 < 30 ? 0 : $0 < 37 ? 1 : 2 } }
    func image(at index: Int) throws -> Tensor { Tensor.zeros([3, 4, 4], dtype: .uint8) }
    func source(at index: Int) -> String { "sample\(index)" }
}

@Suite struct BalancedSamplerTests {
    static let expected: [String: [Int]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sampler.json")
        return (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode([String: [Int]].self, from: $0) } ?? [:]
    }()

    /// The draws are WeightedRandomSampler's for the same generator seed (sampler.json), and
    /// DataLoader(balanced:) makes them with the epoch's seed; the classes come out even.
    @Test func balancedDrawsAreWeightedRandomSamplers() throws {
        let labels = Imbalanced().labels
        let counts = [30.0, 7, 3]
        let weights = Tensor(labels.map { 1 / counts[$0] })
        #expect(Self.expected.count == 3)
        for (seed, draws) in Self.expected {
            let ours = weights.multinomial(40, replacement: true, generator: Generator(seed: UInt64(seed)!))
            #expect(ours.toArray(Int.self) == draws, "seed \(seed)")
        }
        let loader = DataLoader(Imbalanced(), batchSize: 8, shuffle: true, balanced: true, seed: 5)
        for epoch in 0..<3 {
            let direct = weights.multinomial(40, replacement: true,
                                             generator: Generator(seed: mixSeed(5, UInt64(epoch)))).toArray(Int.self)
            #expect(loader.indices(epoch: epoch) == direct)
        }
        // Over many epochs each class is drawn about a third of the time (30 : 7 : 3 unbalanced).
        var drawn = [0, 0, 0]
        for epoch in 0..<50 { for i in loader.indices(epoch: epoch) { drawn[labels[i]] += 1 } }
        for share in drawn.map({ Double($0) / 2000 }) { #expect(abs(share - 1.0 / 3) < 0.05, "\(drawn)") }
    }
}
