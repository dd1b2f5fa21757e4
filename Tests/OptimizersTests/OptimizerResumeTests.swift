import Checkpoints
import Foundation
import NN
import Testing
import Torch
import Optimizers

/// 50 steps, save, a fresh optimizer and schedule, load, 50 more = 100 steps in one go, bit for bit.
@Suite struct ResumeTests {
    /// A schedule for each optimizer config (round robin), stepped once per optimizer step.
    static let schedules: [@Sendable (any Optimizer) -> any LRScheduler] = [
        { OneCycleLR($0, maxLearningRates: [0.02, 0.01], totalSteps: 100) },
        { SequentialLR.warmupCosine($0, warmupEpochs: 10, totalEpochs: 100, startFactor: 0.1, etaMin: 1e-4) },
        { StepLR($0, stepSize: 30, gamma: 0.5) },
        { ReduceLROnPlateau($0, factor: 0.5, patience: 1, threshold: 0.05) },
        { MultiStepLR($0, milestones: [20, 45, 60], gamma: 0.5) },
    ]

    /// Steps the optimizer then the schedule (with the loss as the plateau's metric) `count` times.
    static func run(_ problem: Problem, _ optimizer: any Optimizer, _ scheduler: any LRScheduler,
                    _ config: OptimizerConfig, steps count: Int) {
        for _ in 0..<count {
            let loss = problem.step(optimizer, sign: config.sign)
            ScheduleConfig.step(scheduler, 0, metrics: [abs(loss)])
        }
    }

    @Test(arguments: zip(OptimizerConfig.all, OptimizerConfig.all.indices))
    func resumeEqualsUninterruptedRun(_ config: OptimizerConfig, _ index: Int) throws {
        let makeSchedule = Self.schedules[index % Self.schedules.count]

        let straight = Problem()
        let straightOptimizer = config.make(straight.groups.first, straight.groups.second)
        let straightSchedule = makeSchedule(straightOptimizer)
        Self.run(straight, straightOptimizer, straightSchedule, config, steps: 100)

        // First half, then everything to one .safetensors file: weights, optimizer state, schedule state.
        let first = Problem()
        let firstOptimizer = config.make(first.groups.first, first.groups.second)
        let firstSchedule = makeSchedule(firstOptimizer)
        Self.run(first, firstOptimizer, firstSchedule, config, steps: 50)
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("graft-resume-\(config.name)-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let state = firstOptimizer.state()
        let schedule = String(decoding: try JSONEncoder().encode(firstSchedule.state()), as: UTF8.self)
        let weights = first.parameters.enumerated().map { (key: "model.p\($0.offset)", tensor: $0.element.value) }
        let entries = try (weights + state.tensors()).map { (key: $0.key, tensor: try $0.tensor.tensorData()) }
        try SafeTensors.write(StateDict(entries: entries, metadata: try state.metadata().merging(["schedule": schedule]) { a, _ in a }),
                              to: url)

        // Second half in fresh objects.
        let file = try SafeTensors.read(url)
        let tensors = file.tensors()
        let resumed = Problem(values: try (0..<3).map { i in try #require(tensors.first { $0.key == "model.p\(i)" }).tensor })
        let optimizer = config.make(resumed.groups.first, resumed.groups.second)
        let scheduler = makeSchedule(optimizer)
        try optimizer.load(OptimizerState(tensors: tensors, metadata: file.metadata))
        try scheduler.load(JSONDecoder().decode(SchedulerState.self, from: Data(try #require(file.metadata["schedule"]).utf8)))
        #expect(optimizer.learningRates == firstOptimizer.learningRates)
        Self.run(resumed, optimizer, scheduler, config, steps: 50)

        for (a, b) in zip(resumed.parameters, straight.parameters) {
            #expect(a.value.toArray(Float.self) == b.value.toArray(Float.self))
        }
        #expect(optimizer.learningRates == straightOptimizer.learningRates)
        #expect(optimizer.parameterGroups.map(\.momentum) == straightOptimizer.parameterGroups.map(\.momentum))
        #expect(scheduler.state() == straightSchedule.state())
        for (a, b) in zip(optimizer.state().parameters, straightOptimizer.state().parameters) {
            #expect(a?.step == b?.step)
            #expect(a?.buffers.keys.sorted() == b?.buffers.keys.sorted())
            for (name, tensor) in a?.buffers ?? [:] {
                #expect(tensor.toArray(Float.self) == b?.buffers[name]?.toArray(Float.self), "\(name)")
            }
        }
    }

    @Test func plateauStateKeepsInfiniteBest() throws {
        let optimizer = ScheduleConfig.all[0].makeOptimizer()
        let plateau = ReduceLROnPlateau(optimizer, mode: .max)
        let data = try JSONEncoder().encode(plateau.state())
        #expect(String(decoding: data, as: UTF8.self).contains("\"-inf\""))
        let decoded = try JSONDecoder().decode(SchedulerState.self, from: data)
        #expect(decoded.plateau?.best == -.infinity)
        try plateau.load(decoded)
        plateau.step(metric: 0.5)
        #expect(plateau.best == 0.5)
    }

    @Test func loadRejectsAnotherOptimizersState() throws {
        let problem = Problem()
        let adam = Adam(problem.parameters, learningRate: 0.01)
        problem.step(adam, sign: 1)
        let sgd = SGD(problem.parameters, learningRate: 0.01, momentum: 0.9)
        #expect(throws: OptimizerStateError.wrongOptimizer(expected: "SGD", found: "Adam")) {
            try sgd.load(adam.state())
        }
        let other = Problem()
        let fewer = Adam(Array(other.parameters.prefix(2)), learningRate: 0.01)
        #expect(throws: OptimizerStateError.parameterCount(group: 0, expected: 2, found: 3)) {
            try fewer.load(adam.state())
        }
        var reshaped = adam.state()
        reshaped.parameters[1]?.buffers["exp_avg"] = Tensor.zeros([2])
        #expect(throws: OptimizerStateError.shapeMismatch(parameter: 1, buffer: "exp_avg", expected: [4], found: [2])) {
            try Adam(problem.parameters, learningRate: 0.01).load(reshaped)
        }
        let schedule = StepLR(sgd, stepSize: 2)
        #expect(throws: SchedulerStateError.wrongScheduler(expected: "StepLR", found: "LinearLR")) {
            try schedule.load(LinearLR(Adam(other.parameters), totalIterations: 3).state())
        }
    }
}
