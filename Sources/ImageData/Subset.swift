import Torch

/// The samples of `base` at `indices`, in that order, with the same classes.
public struct Subset: Dataset {
    public let base: any Dataset
    /// Indices into `base`.
    public let indices: [Int]
    public let labels: [Int]

    public init(_ base: any Dataset, _ indices: [Int]) {
        let count = base.count
        precondition(indices.allSatisfy { (0..<count).contains($0) }, "Subset: an index is outside 0..<\(count)")
        let all = base.labels
        self.base = base
        self.indices = indices
        labels = indices.map { all[$0] }
    }

    public var classes: [String] { base.classes }

    public var labelSets: [[Int]]? { base.labelSets.map { sets in indices.map { sets[$0] } } }

    public func image(at index: Int) throws -> Tensor { try base.image(at: indices[index]) }

    public func source(at index: Int) -> String { base.source(at: indices[index]) }
}

extension Dataset {
    /// A stratified train/validation split: in each class, `validationFraction` of the
    /// samples (rounded) go to validation and the rest to training, chosen at random but
    /// deterministically from `seed`. A class with two samples or more keeps at least one on
    /// each side (unless the fraction is 0 or 1); a class with one sample goes to training.
    /// Both subsets list their samples in dataset order.
    ///
    /// Per class `c` the samples are ordered by `torch.randperm(n_c, generator=g)` with
    /// `g` seeded with `mixSeed(seed, c)`; validation takes the first ones.
    public func split(validationFraction: Double, seed: UInt64) -> (train: Subset, validation: Subset) {
        precondition((0...1).contains(validationFraction), "split: validationFraction must be in 0...1")
        var train: [Int] = [], validation: [Int] = []
        for members in shuffledByClass(seed: seed) {
            let n = members.count
            let upper = validationFraction < 1 ? max(n - 1, 0) : n
            let lower = validationFraction > 0 ? min(1, upper) : 0
            let count = min(max(Int((validationFraction * Double(n)).rounded()), lower), upper)
            validation += members.prefix(count)
            train += members.dropFirst(count)
        }
        return (Subset(self, train.sorted()), Subset(self, validation.sorted()))
    }

    /// A few-shot subset: `n` samples of each class (all of a class that has fewer), chosen
    /// as ``split(validationFraction:seed:)`` chooses, listed in dataset order.
    public func nPerClass(_ n: Int, seed: UInt64) -> Subset {
        precondition(n >= 0, "nPerClass: n must be at least 0")
        return Subset(self, shuffledByClass(seed: seed).flatMap { $0.prefix(n) }.sorted())
    }

    /// For each class, its sample indices in a random order seeded by `seed` and the class.
    private func shuffledByClass(seed: UInt64) -> [[Int]] {
        var members = [[Int]](repeating: [], count: classes.count)
        for (index, label) in labels.enumerated() { members[label].append(index) }
        return members.enumerated().map { label, indices in
            let generator = Generator(seed: mixSeed(seed, UInt64(label)))
            return Tensor.randperm(indices.count, generator: generator).toArray(Int.self).map { indices[$0] }
        }
    }
}
