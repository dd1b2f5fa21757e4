import Foundation
import NN
import Torch

/// An exponential moving average of a model's weights, as timm's `ModelEmaV3`: after each
/// optimizer step t, every floating state entry (parameters and buffers) moves toward the
/// model's by `1 − decay(t)`, and integer entries are copied. decay(t) is 0 at the first
/// step (the average starts as the model), then `decay`, or with warm-up
/// `1 − (1 + (t − 1)/γ)^(−power)` (γ 1, power 2/3) capped at `decay`.
///
/// Entries that never change need no averaging: the average of a constant is that constant.
/// So only the trainable parameters and the buffers are tracked (a frozen trunk costs
/// nothing), and a parameter unfrozen later is tracked from its value then (``track(_:)``),
/// which is what timm's average of it holds at that point.
public final class ModelEMA {
    public let decay: Double
    public let warmup: Bool
    public let warmupGamma = 1.0
    public let warmupPower = 2.0 / 3.0
    public let minimumDecay = 0.0
    /// Updates so far (timm's `step`).
    public private(set) var updates = 0
    /// The average, by state-dict key, for the tracked entries.
    public private(set) var shadow: [String: Tensor] = [:]
    /// Each tracked entry's average and the model's own tensor (parameters and buffers are
    /// updated in place, so these stay the model's), read on every step without walking the
    /// module tree.
    private var pairs: [(average: Tensor, value: Tensor)] = []

    public init(model: Module, decay: Double, warmup: Bool = false) {
        self.decay = decay
        self.warmup = warmup
        track(model)
    }

    /// timm's `get_decay(step)`.
    public func decay(atStep step: Int) -> Double {
        let t = max(0, step - 1)
        guard t > 0 else { return 0 }
        guard warmup else { return decay }
        let value = 1 - Foundation.pow(1 + Double(t) / warmupGamma, -warmupPower)
        return max(min(value, decay), minimumDecay)
    }

    /// Starts averaging the entries that can change now and aren't yet (trainable
    /// parameters, buffers), from their current values; and ties every tracked entry to the
    /// model's tensor again (call it after moving the model to another device).
    public func track(_ model: Module) {
        Torch.noGrad {
            for (key, parameter) in model.namedParameters() where parameter.requiresGrad && shadow[key] == nil {
                shadow[key] = parameter.value.detach().clone()
            }
            for (key, buffer) in model.namedBuffers() where shadow[key] == nil {
                shadow[key] = buffer.value.detach().clone()
            }
        }
        let current = Dictionary(model.stateDict().map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        pairs = shadow.keys.sorted().compactMap { key in current[key].map { (shadow[key]!, $0) } }
    }

    /// One update after an optimizer step.
    public func update(_ model: Module) {
        updates += 1
        let weight = 1 - decay(atStep: updates)
        Torch.noGrad {
            for (average, value) in pairs {
                if average.dtype.isFloatingPoint {
                    average.lerp_(value.to(average.dtype), weight: weight)
                } else {
                    average.copy_(value)
                }
            }
        }
    }

    /// Runs `body` with the tracked model holding the average, then puts its own weights back.
    public func withAverage<R>(_ body: () throws -> R) rethrows -> R {
        let saved = Torch.noGrad { pairs.map { (value: $0.value, original: $0.value.clone()) } }
        Torch.noGrad { for (average, value) in pairs { value.copy_(average) } }
        defer { Torch.noGrad { for (value, original) in saved { value.copy_(original) } } }
        return try body()
    }

    /// The tracked entries for a checkpoint, and the update count.
    public var state: (entries: [(key: String, tensor: Tensor)], updates: Int) {
        (shadow.keys.sorted().map { (key: $0, tensor: shadow[$0]!) }, updates)
    }

    /// Restores ``state`` (a resume).
    public func load(_ entries: [(key: String, tensor: Tensor)], updates: Int, model: Module) {
        shadow = Dictionary(entries.map { ($0.key, $0.tensor.clone()) }, uniquingKeysWith: { a, _ in a })
        self.updates = updates
        track(model)
    }
}
