import NN
import Testing
import Torch
import Optimizers

/// 100 steps of each optimizer against torch.optim (foreach=False) on the generator's problem.
@Suite struct OptimizerParityTests {
    /// |Δ| ≤ 1e-6·|expected| + 1e-7 per value. Both sides run the same libtorch kernels in the same
    /// order, so the measured difference is 0.
    static let rtol = 1e-6, atol = 1e-7

    @Test(arguments: OptimizerConfig.all)
    func matchesTorchOptimOverHundredSteps(_ config: OptimizerConfig) throws {
        let problem = Problem()
        let (first, second) = problem.groups
        let optimizer = config.make(first, second)
        var worst = (absolute: 0.0, relative: 0.0)
        for step in 1...100 {
            problem.step(optimizer, sign: config.sign)
            guard [1, 10, 100].contains(step) else { continue }
            for (i, p) in problem.parameters.enumerated() {
                let key = "\(config.name)/step\(step)/p\(i)"
                let expected = try #require(OptimFixtures.optimizers[key], "no fixture \(key)")
                #expect(p.value.shape == expected.shape)
                #expect(p.value.allClose(expected, rtol: Self.rtol, atol: Self.atol), "\(key)")
                let d = differences(p.value, expected)
                worst = (max(worst.absolute, d.absolute), max(worst.relative, d.relative))
            }
        }
        print("\(config.name): largest difference from torch.optim over steps 1/10/100: "
              + "|Δ| \(worst.absolute), relative \(worst.relative)")

        // The state after step 100 equals torch's optimizer.state.
        let state = optimizer.state()
        var checked = 0
        for (i, slot) in state.parameters.enumerated() {
            for (name, tensor) in slot?.buffers ?? [:] {
                let key = "\(config.name)/state/p\(i)/\(name)"
                let expected = try #require(OptimFixtures.optimizers[key], "no fixture \(key)")
                #expect(tensor.allClose(expected, rtol: Self.rtol, atol: Self.atol), "\(key)")
                checked += 1
            }
            if config.name.hasPrefix("adam") { #expect(slot?.step == 100) }
        }
        let expectedCount = OptimFixtures.optimizers.keys.filter { $0.hasPrefix("\(config.name)/state/") }.count
        #expect(checked == expectedCount)
        #expect(config.name != "sgd_plain" || state.parameters.allSatisfy { $0 == nil })
    }

    @Test func stepSkipsParametersWithoutGradient() {
        let used = Parameter(wrappedValue: Tensor([1.0, 2.0] as [Float]))
        let idle = Parameter(wrappedValue: Tensor([3.0, 4.0] as [Float]))
        let optimizer = Adam([used, idle], learningRate: 0.1)
        (used.value * used.value).sum().backward()
        optimizer.step()
        #expect(idle.value.toArray(Float.self) == [3, 4])
        #expect(used.value.toArray(Float.self) != [1, 2])
        #expect(optimizer.state().parameters.map { $0 == nil } == [false, true])
    }

    @Test func zeroGradClearsOrZeroes() {
        let p = Parameter(wrappedValue: Tensor([1.0, 2.0] as [Float]))
        let optimizer = SGD([p], learningRate: 0.1)
        (p.value * 3).sum().backward()
        optimizer.zeroGrad(setToNone: false)
        #expect(p.value.grad?.toArray(Float.self) == [0, 0])
        optimizer.zeroGrad()
        #expect(p.value.grad == nil)
    }

    @Test func learningRatesAreReadableAndSettablePerGroup() {
        let problem = Problem()
        let optimizer = SGD([OptimizerConfig.group(problem.groups.first, 0.1),
                             OptimizerConfig.group(problem.groups.second, 0.01)], momentum: 0.9)
        #expect(optimizer.learningRates == [0.1, 0.01])
        optimizer.learningRates = [0.5, 0.05]
        optimizer.parameterGroups[1].learningRate = 0.07
        #expect(optimizer.learningRates == [0.5, 0.07])
        #expect(optimizer.parameterGroups.map(\.momentum) == [0.9, 0.9])
    }
}
