import Foundation
import ImageData
import Testing

/// Loader throughput on an ImageFolder of photos, for 1 and 2 workers; runs only when asked:
/// `GRAFT_LOADER_BENCH=/path/to/folder swift test --skip-build --filter LoaderBenchmark`.
@Suite struct LoaderBenchmark {
    private static let folder = ProcessInfo.processInfo.environment["GRAFT_LOADER_BENCH"]

    @Test(.enabled(if: folder != nil))
    func throughput() throws {
        let dataset = try ImageFolder(root: URL(fileURLWithPath: try #require(Self.folder)))
        let normalize = Normalize(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        let pipelines: [(String, any ImageTransform)] = [
            ("Resize(256) CenterCrop(224) ToFloat Normalize", Compose([Resize(size: 256), CenterCrop(224), ToFloat(), normalize])),
            ("RandomResizedCrop(224) RandomHorizontalFlip ToFloat Normalize",
             Compose([RandomResizedCrop(224), RandomHorizontalFlip(), ToFloat(), normalize])),
        ]
        for (name, transform) in pipelines {
            for workers in [1, 2] {
                let loader = DataLoader(dataset, transform: transform, batchSize: 32, shuffle: true, workers: workers)
                var images = 0
                let start = ContinuousClock.now
                try loader.forEachBatch(epoch: 0) { images += $0.indices.count }
                let seconds = (ContinuousClock.now - start) / .seconds(1)
                print("\(name), \(workers) worker(s): \(images) images in \(String(format: "%.2f", seconds)) s, "
                    + "\(String(format: "%.0f", Double(images) / seconds)) images/s")
            }
        }
    }
}
