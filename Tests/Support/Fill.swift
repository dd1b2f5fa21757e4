// The zoo parity fixtures' weight fill (Tests/VisionTests/Fixtures/make_fixtures.py's `fill`),
// shared by the tests that run zoo models on the fixtures' weights.
import NN
import Torch

/// The generator's `fill`: every state-dict entry, in order, from one seeded stream.
public func fill(_ model: Module, seed: UInt64, gain: Double) {
    Torch.manualSeed(seed)
    Torch.noGrad {
        for (key, t) in model.stateDict() {
            let shape = t.shape
            // Derived buffers the models compute themselves (index tables, coordinates).
            if key.hasSuffix("relative_position_index") || key.hasSuffix("relative_coords_table") { continue }
            if key.hasSuffix("num_batches_tracked") {
                t.zero_()
            } else if key.hasSuffix("running_var") {
                t.copy_(Tensor.rand(shape) + 0.5)
            } else if key.hasSuffix("running_mean") {
                t.copy_(Tensor.randn(shape) * 0.1)
            } else if shape.count >= 2 {
                let fanIn = shape.dropFirst().reduce(1, *)
                t.copy_(Tensor.randn(shape) * (gain / Double(fanIn)).squareRoot())
            } else if key.hasSuffix("weight") {
                t.copy_(Tensor.randn(shape) * 0.1 + 0.5)
            } else {
                t.copy_(Tensor.randn(shape) * 0.1)
            }
        }
    }
}

