// Shared by the test targets: not part of the library.
import ImageData
import Torch

/// Images held in memory, as a dataset; `unreadable` samples throw like a broken file.
public struct MemoryDataset: Dataset {
    public let images: [Tensor]
    public let labels: [Int]
    public let classes: [String]
    public var unreadable: Set<Int> = []

    public init(images: [Tensor], labels: [Int], classes: [String], unreadable: Set<Int> = []) {
        (self.images, self.labels, self.classes, self.unreadable) = (images, labels, classes, unreadable)
    }

    public struct Unreadable: Error, CustomStringConvertible {
        let index: Int
        public var description: String { "sample \(index) is unreadable" }
    }

    public func image(at index: Int) throws -> Tensor {
        guard !unreadable.contains(index) else { throw Unreadable(index: index) }
        return images[index]
    }

    public func source(at index: Int) -> String { "memory/\(classes[labels[index]])/\(index).png" }
}
