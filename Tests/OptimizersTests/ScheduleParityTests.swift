import Foundation
import NN
import Testing
import Torch
import Optimizers

/// One schedule configuration of the generator, on an optimizer with groups at lr 0.1 and 0.02.
struct ScheduleConfig: CustomTestStringConvertible, Sendable {
    enum Kind { case sgd, adam }
    let name: String
    let optimizer: Kind
    let make: @Sendable (any Optimizer) -> any LRScheduler

    var testDescription: String { name }

    func makeOptimizer() -> any Optimizer {
        let groups = [ParameterGroup(parameters: [Parameter(wrappedValue: Tensor.zeros([2]))], learningRate: 0.1),
                      ParameterGroup(parameters: [Parameter(wrappedValue: Tensor.zeros([3]))], learningRate: 0.02)]
        switch optimizer {
        case .sgd: return SGD(groups, momentum: 0.9)
        case .adam: return Adam(groups, betas: (0.9, 0.99))
        }
    }

    static let all: [ScheduleConfig] = [
        .init(name: "step_lr", optimizer: .sgd) { StepLR($0, stepSize: 7, gamma: 0.5) },
        .init(name: "multistep_lr", optimizer: .sgd) { MultiStepLR($0, milestones: [5, 12, 12, 30], gamma: 0.3) },
        .init(name: "cosine", optimizer: .sgd) { CosineAnnealingLR($0, tMax: 30) },
        .init(name: "cosine_eta_min_past_t_max", optimizer: .sgd) { CosineAnnealingLR($0, tMax: 20, etaMin: 1e-4) },
        .init(name: "linear", optimizer: .sgd) {
            LinearLR($0, startFactor: 0.25, endFactor: 0.9, totalIterations: 10)
        },
        .init(name: "warmup_cosine", optimizer: .sgd) {
            SequentialLR.warmupCosine($0, warmupEpochs: 5, totalEpochs: 50, startFactor: 0.01, etaMin: 1e-5)
        },
        .init(name: "warmup_cosine_long", optimizer: .adam) {
            SequentialLR($0, schedulers: [LinearLR($0, startFactor: 0.1, totalIterations: 10),
                                          CosineAnnealingLR($0, tMax: 90)], milestones: [10])
        },
        .init(name: "one_cycle", optimizer: .sgd) { OneCycleLR($0, maxLearningRates: [0.1, 0.05], totalSteps: 100) },
        .init(name: "one_cycle_adam", optimizer: .adam) {
            OneCycleLR($0, maxLearningRates: [0.3], totalSteps: 4 * 10, pctStart: 0.25, baseMomentum: 0.8,
                       maxMomentum: 0.9, divFactor: 10, finalDivFactor: 100)
        },
        .init(name: "one_cycle_three_phase_linear", optimizer: .sgd) {
            OneCycleLR($0, maxLearningRates: [0.2], totalSteps: 50, annealStrategy: .linear, cycleMomentum: false,
                       threePhase: true)
        },
        .init(name: "plateau_min_rel", optimizer: .sgd) {
            ReduceLROnPlateau($0, factor: 0.5, patience: 2, threshold: 1e-2, cooldown: 1,
                              minLearningRates: [1e-3, 5e-4])
        },
        .init(name: "plateau_max_abs", optimizer: .sgd) {
            ReduceLROnPlateau($0, mode: .max, factor: 0.3, patience: 3, threshold: 0.05, thresholdMode: .absolute,
                              cooldown: 2, minLearningRates: [1e-3])
        },
    ]

    /// Takes one step: `step()`, or `step(metric:)` with the generator's metric for step `k`.
    static func step(_ scheduler: any LRScheduler, _ k: Int, metrics: [Double]) {
        switch scheduler {
        case let plateau as ReduceLROnPlateau: plateau.step(metric: metrics[k])
        case let scheduler as EpochScheduler: scheduler.step()
        default: Issue.record("unknown scheduler \(type(of: scheduler))")
        }
    }
}

@Suite struct ScheduleParityTests {
    /// Relative tolerance on each learning rate; the measured difference is 0.
    static let rtol = 1e-12

    @Test(arguments: ScheduleConfig.all)
    func matchesTorchLRScheduler(_ config: ScheduleConfig) throws {
        let expected = try #require(OptimFixtures.schedules[config.name], "no fixture \(config.name)")
        let metrics = (expected.metrics ?? []).compactMap(Double.init)
        let optimizer = config.makeOptimizer()
        let scheduler = config.make(optimizer)
        var lrs = [optimizer.learningRates], momenta = [optimizer.parameterGroups.map { $0.momentum ?? .nan }]
        for k in 0..<(expected.lr.count - 1) {
            ScheduleConfig.step(scheduler, k, metrics: metrics)
            lrs.append(optimizer.learningRates)
            momenta.append(optimizer.parameterGroups.map { $0.momentum ?? .nan })
            #expect(scheduler.lastLearningRates == optimizer.learningRates)
        }
        var worst = 0.0, exact = 0, total = 0
        for (name, actual, reference) in [("lr", lrs, expected.lr), ("momentum", momenta, expected.momentum)] {
            for (step, (row, referenceRow)) in zip(actual, reference).enumerated() {
                for (group, (a, text)) in zip(row, referenceRow).enumerated() {
                    let e = try #require(Double(text))
                    let relative = a == e ? 0 : abs(a - e) / abs(e)
                    worst = max(worst, relative)
                    exact += a == e ? 1 : 0
                    total += 1
                    #expect(relative <= Self.rtol, "\(name) of group \(group) after step \(step): \(a), torch \(e)")
                }
            }
        }
        #expect(total == 2 * 2 * expected.lr.count)
        print("\(config.name): \(exact)/\(total) values bit-identical to torch, largest relative difference \(worst)")
    }
}
