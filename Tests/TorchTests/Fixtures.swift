import Foundation
import Testing
@testable import Torch

/// Expected values made by Fixtures/make_fixtures.py with the Python torch of the same wheel.
struct Fixtures {
    struct Entry: Decodable {
        let shape: [Int]
        let dtype: String
        let values: [Double]
    }

    static let ops: [String: Entry] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/ops.json")
        do {
            return try JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: url))
        } catch {
            Issue.record("cannot read \(url.path): \(error)")
            return [:]
        }
    }()
}

/// Makes the same input as the generator's `randn(seed, *shape)`.
func seeded(_ seed: UInt64, _ shape: [Int], grad: Bool = false) -> Tensor {
    Torch.manualSeed(seed)
    return Tensor.randn(shape).requiresGrad(grad)
}

/// Checks shape and every value against fixture `name`; reports the largest difference.
func expectMatches(
    _ tensor: Tensor?, _ name: String, atol: Double = 1e-5, rtol: Double = 1e-5,
    in fixtures: [String: Fixtures.Entry] = Fixtures.ops, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let expected = fixtures[name] else {
        Issue.record("no fixture named \(name)", sourceLocation: sourceLocation)
        return
    }
    guard let tensor else {
        Issue.record("\(name): tensor is nil", sourceLocation: sourceLocation)
        return
    }
    #expect(tensor.shape == expected.shape, "\(name): shape", sourceLocation: sourceLocation)
    #expect(tensor.dtype.description == expected.dtype, "\(name): dtype", sourceLocation: sourceLocation)
    let actual = tensor.toArray(Double.self)
    guard actual.count == expected.values.count else {
        Issue.record("\(name): \(actual.count) values, expected \(expected.values.count)", sourceLocation: sourceLocation)
        return
    }
    var worst = 0.0, worstIndex = 0
    for (i, (a, e)) in zip(actual, expected.values).enumerated() {
        let excess = a.isNaN != e.isNaN ? Double.infinity : Swift.abs(a - e) - (atol + rtol * Swift.abs(e))
        if excess > worst { worst = excess; worstIndex = i }
    }
    #expect(worst <= 0, "\(name): value \(worstIndex) is \(actual[worstIndex]), PyTorch has \(expected.values[worstIndex])",
            sourceLocation: sourceLocation)
}
