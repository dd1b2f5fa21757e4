import NN
import Testing
import Torch
import Optimizers

private final class Net: Module {
    let conv = Conv2d(3, 4, kernelSize: (3, 3), bias: false)
    let bn = BatchNorm2d(4)
    let fc = Linear(4, 2)
    let fc2 = Linear(2, 2)
}

@Suite struct ParameterGroupTests {
    private func keys(_ group: ParameterGroup, in net: Net) -> [String] {
        let ids = Set(group.parameters.map(ObjectIdentifier.init))
        return net.namedParameters().filter { ids.contains(ObjectIdentifier($0.parameter)) }.map(\.key)
    }

    @Test func splitsDecayFromBiasesAndNorms() {
        let net = Net()
        let groups = ParameterGroup.split(net, learningRate: 0.01, weightDecay: 0.05)
        #expect(groups.map(\.name) == ["decay", "no_decay"])
        #expect(keys(groups[0], in: net) == ["conv.weight", "fc.weight", "fc2.weight"])
        #expect(keys(groups[1], in: net) == ["bn.weight", "bn.bias", "fc.bias", "fc2.bias"])
        #expect(groups.map(\.weightDecay) == [0.05, 0])
        #expect(groups.map(\.learningRate) == [0.01, 0.01])
    }

    @Test func splitsHeadFromTrunkWithItsOwnLearningRate() {
        let net = Net()
        net.bn.freeze()
        let groups = ParameterGroup.split(net, learningRate: 1e-4, weightDecay: 0.01,
                                          isHead: ParameterGroup.keys(under: "fc"), headLearningRate: 1e-3)
        #expect(groups.map(\.name) == ["trunk.decay", "trunk.no_decay", "head.decay", "head.no_decay"])
        #expect(groups.map { keys($0, in: net) } == [["conv.weight", "fc2.weight"], ["fc2.bias"],
                                                     ["fc.weight"], ["fc.bias"]])
        #expect(groups.map(\.learningRate) == [1e-4, 1e-4, 1e-3, 1e-3])
        #expect(groups.map(\.weightDecay) == [0.01, 0, 0.01, 0])

        let optimizer = AdamW(groups)
        #expect(optimizer.parameterGroups.map(\.momentum) == [0.9, 0.9, 0.9, 0.9])
        #expect(optimizer.learningRates == [1e-4, 1e-4, 1e-3, 1e-3])
    }
}
