import Foundation
import Testing
import Torch
@testable import Optimizers

/// `GradScaler` against `torch.amp.GradScaler("cpu")` step for step
/// (Fixtures/make_grad_scaler_fixtures.py): the same scales, clean-step counts and skipped
/// steps, and the same parameters after unscaling, clipping and SGD with momentum, with
/// +inf, −inf and NaN gradients injected on steps 3, 6 and 7.
@Suite("GradScaler parity", .serialized)
struct GradScalerTests {
    struct Step: Decodable {
        let loss: Double
        let scale: Double
        let growth_tracker: Int
        let stepped: Bool
        let params: [[Double]]
    }
    struct Fixture: Decodable {
        let inject: [String: [Inject]]
        let steps: [Step]
    }
    enum Inject: Decodable {
        case index(Int), value(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .index(i) } else { self = .value(try c.decode(String.self)) }
        }
    }

    static func fixture() throws -> Fixture {
        let url = OptimFixtures.folder.appendingPathComponent("grad_scaler.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// `clip_grad_norm_(parameters, maxNorm)`: one global L2 norm, gradients scaled down to it.
    func clip(_ grads: [Tensor], maxNorm: Double) {
        let total = Foundation.sqrt(grads.map { Foundation.pow($0.norm().double, 2) }.reduce(0, +))
        let coefficient = maxNorm / (total + 1e-6)
        if !(coefficient >= 1) { for g in grads { g.mul_(Swift.min(coefficient, 1)) } }
    }

    @Test func matchesPyTorchWithOverflows() throws {
        let fixture = try Self.fixture()
        let problem = Problem()
        let optimizer = SGD(problem.parameters, learningRate: 0.01, momentum: 0.9)
        let scaler = GradScaler(initialScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3)
        #expect(fixture.steps.count == 10)
        for (index, expected) in fixture.steps.enumerated() {
            let step = index + 1
            optimizer.zeroGrad()
            let loss = problem.loss(sign: 1)
            scaler.scale(loss).backward()
            if let inject = fixture.inject[String(step)], case .index(let p) = inject[0], case .index(let e) = inject[1],
               case .value(let text) = inject[2], let value = Double(text) {
                problem.parameters[p].value.grad!.view([-1])[e].fill_(value)
            }
            try scaler.unscale(optimizer)
            clip(problem.parameters.compactMap { $0.value.grad }, maxNorm: 5)
            let stepped = try scaler.step(optimizer)
            try scaler.update()
            #expect(Swift.abs(loss.double - expected.loss) <= 1e-4 * Swift.abs(expected.loss), "step \(step): loss")
            #expect(stepped == expected.stepped, "step \(step): stepped")
            #expect(scaler.scale == expected.scale, "step \(step): scale")
            #expect(scaler.state.growthTracker == expected.growth_tracker, "step \(step): growth tracker")
            for (p, values) in zip(problem.parameters, expected.params) {
                let actual = p.value.toArray(Double.self)
                let worst = zip(actual, values).map { Swift.abs($0 - $1) }.max() ?? .infinity
                #expect(worst <= 1e-5, "step \(step): parameter differs by \(worst)")
            }
        }
    }

    @Test func scaledLossKeepsFloat32() {
        // A float16 loss times the float32 scale promotes to float32, as in PyTorch: 65536 would overflow float16.
        let scaler = GradScaler()
        let scaled = scaler.scale(Tensor.full([], 2, dtype: .float16))
        #expect(scaled.dtype == .float32)
        #expect(scaled.double == 131072)
    }

    @Test func stateRoundTrips() throws {
        let scaler = GradScaler(initialScale: 1024, growthInterval: 2)
        scaler.load(scale: 256, growthTracker: 1)
        #expect(scaler.state.scale == 256 && scaler.state.growthTracker == 1)
        // Without unscale nothing was checked: update leaves the scale alone (PyTorch's update asserts instead).
        try scaler.update()
        #expect(scaler.state.scale == 256)
    }
}
