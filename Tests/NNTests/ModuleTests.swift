import Testing
@testable import NN
import Torch

final class Block: Module {
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let downsample: Sequential?
    @Child(key: "0") var first: Linear = Linear(2, 2)
    init(down: Bool) {
        conv1 = Conv2d(3, 4, kernelSize: 3, padding: 1, bias: false)
        bn1 = BatchNorm2d(4)
        downsample = down ? Sequential(Conv2d(3, 4, kernelSize: 1, bias: false), BatchNorm2d(4)) : nil
    }
}

@Suite struct ModuleTests {
    @Test func keysFollowPyTorchsStateDictOrder() {
        let b = Block(down: true)
        #expect(b.stateDict().map(\.key) == [
            "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
            "downsample.0.weight", "downsample.1.weight", "downsample.1.bias", "downsample.1.running_mean",
            "downsample.1.running_var", "downsample.1.num_batches_tracked", "0.weight", "0.bias",
        ])
        #expect(Block(down: false).stateDict().count == 8)
        #expect(b.namedParameters().count == 8)
        #expect(b.namedBuffers().allSatisfy { !$0.buffer.value.requiresGrad })
    }

    @Test func trainEvalIsPerModuleAndRecursive() {
        let b = Block(down: true)
        b.eval()
        #expect(!b.isTraining && !b.bn1.isTraining && !(b.downsample![1].isTraining))
        b.train()
        #expect(b.bn1.isTraining)
        b.bn1.frozenInEval = true
        b.train()
        #expect(!b.bn1.isTraining && b.conv1.isTraining)
    }

    @Test func strictLoadReportsEverythingAtOnce() throws {
        let b = Block(down: false)
        var sd = b.stateDict().map { ($0.key, $0.tensor.clone()) }
        sd.removeAll { $0.0 == "bn1.bias" }
        sd.append(("extra.weight", Tensor.zeros([1])))
        sd[0] = ("conv1.weight", Tensor.zeros([4, 3, 1, 1]))
        do {
            try b.load(stateDict: sd, source: "w.pth")
            Issue.record("expected a StateDictError")
        } catch let e as StateDictError {
            #expect(e.report.missing == ["bn1.bias"])
            #expect(e.report.unexpected == ["extra.weight"])
            #expect(e.report.mismatched.map(\.key) == ["conv1.weight"])
            #expect(e.description.contains("w.pth"))
        }
        let report = try b.load(stateDict: sd, strict: false)
        #expect(report.loaded == 6 && !report.isComplete)
    }

    @Test func loadCopiesInPlace() throws {
        let b = Block(down: false)
        let weight = b.conv1.weight
        let sd = b.stateDict().map { ($0.key, Tensor.full($0.tensor.shape, 0.5, dtype: $0.tensor.dtype)) }
        try b.load(stateDict: sd)
        #expect(weight.toArray(Float.self).allSatisfy { $0 == 0.5 })
        #expect(b.conv1.weight.requiresGrad)
    }

    @Test func freezing() {
        let b = Block(down: true)
        #expect(b.freeze { $0.hasPrefix("downsample") } == 3)
        #expect(b.parameterCount(trainableOnly: true) == 4 * 3 * 9 + 8 + 6)
        b.freeze()
        #expect(b.parameterCount(trainableOnly: true) == 0)
        b.unfreeze()
        #expect(b.parameterCount(trainableOnly: true) == b.parameterCount())
    }
}
