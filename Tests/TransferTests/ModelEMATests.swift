import Foundation
import NN
import Testing
import Torch
@testable import Transfer

/// fc: Linear(4, 3), bn: BatchNorm2d(3): the fixture's module.
private final class Tiny: Module {
    @Child(key: "fc") var fc: Linear = Linear(4, 3)
    @Child(key: "bn") var bn: BatchNorm2d = BatchNorm2d(3)
}

private struct EMAFixture: Decodable {
    struct Step: Decodable {
        let decay: Double
        let state: [String: [Double]]
    }
    let decay: Double
    let warmup: Bool
    let keys: [String]
    let steps: [String: Step]

    static let all: [String: EMAFixture] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/ema.json")
        return (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode([String: EMAFixture].self, from: $0) } ?? [:]
    }()
}

@Suite struct ModelEMATests {
    /// The fixture's state for update t: sin(0.3 t + 0.7 i + 1.1 k), running_var 1.5 + that,
    /// num_batches_tracked t.
    private func setState(_ model: Tiny, _ t: Int) {
        Torch.noGrad {
            for (k, entry) in model.stateDict().enumerated() {
                let v = entry.tensor
                if v.dtype.isFloatingPoint {
                    var values = (0..<v.count).map { Foundation.sin(0.3 * Double(t) + 0.7 * Double($0) + 1.1 * Double(k)) }
                    if entry.key.hasSuffix("running_var") { values = values.map { 1.5 + $0 } }
                    v.copy_(Tensor(values, shape: v.shape).to(v.dtype))
                } else {
                    v.fill_(Double(t))
                }
            }
        }
    }

    /// The average after 1, 2, 3, 5, 10 and 50 updates equals timm's ModelEmaV3, with and
    /// without warm-up, and so does the decay it used.
    @Test(arguments: ["plain", "warmup"])
    func matchesTimmsModelEmaV3(_ name: String) throws {
        let fixture = try #require(EMAFixture.all[name])
        let model = Tiny()
        #expect(model.stateDict().map(\.key) == fixture.keys)
        setState(model, 0)
        let ema = ModelEMA(model: model, decay: fixture.decay, warmup: fixture.warmup)
        for t in 1...50 {
            setState(model, t)
            ema.update(model)
            guard let expected = fixture.steps[String(t)] else { continue }
            #expect(abs(ema.decay(atStep: t) - expected.decay) < 1e-15, "decay at step \(t)")
            for (key, values) in expected.state {
                let ours = try #require(ema.shadow[key]).to(.float64).reshape([-1]).toArray(Double.self)
                let worst = zip(ours, values).map { abs($0 - $1) }.max() ?? .infinity
                #expect(ours.count == values.count && worst < 1e-6, "\(name) step \(t) \(key): \(worst)")
            }
        }
        // Swapped in for a forward, then the model's own weights come back.
        let own = model.fc.weight.clone()
        let averaged = ema.withAverage { model.fc.weight.clone() }
        #expect((averaged - ema.shadow["fc.weight"]!).abs().max().double == 0)
        #expect((model.fc.weight - own).abs().max().double == 0)
    }

    /// Frozen parameters aren't tracked (their average is themselves); unfrozen, they are,
    /// from their value then.
    @Test func frozenParametersCostNothingUntilUnfrozen() {
        let model = Tiny()
        model.fc.$weight.requiresGrad = false
        let ema = ModelEMA(model: model, decay: 0.9)
        #expect(ema.shadow["fc.weight"] == nil && ema.shadow["fc.bias"] != nil && ema.shadow["bn.running_mean"] != nil)
        model.fc.$weight.requiresGrad = true
        ema.track(model)
        #expect((ema.shadow["fc.weight"]! - model.fc.weight).abs().max().double == 0)
    }
}
