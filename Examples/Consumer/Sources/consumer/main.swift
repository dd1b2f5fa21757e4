// One SGD step on a ResNet-18 through `import Graft`; exits non-zero when the step fails.
import Foundation
import Graft

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("consumer: error: \(message)\n".utf8))
    exit(1)
}

do {
    Torch.manualSeed(0)
    let model = try Zoo.make("resnet18", numClasses: 3)
    let images = Tensor.randn([2, 3, 64, 64])
    let labels = Tensor.randint(0, 3, [2])

    let parameters = model.parameters
    let before = parameters.map { $0.value.detach().clone() }

    let optimizer = SGD(ParameterGroup.split(model, learningRate: 0.01, weightDecay: 0), momentum: 0.9)
    optimizer.zeroGrad()
    let logits = model(images)
    guard logits.shape == [2, 3] else { fail("logits have shape \(logits.shape), expected [2, 3]") }
    let loss = Functional.crossEntropy(logits, labels)
    loss.backward()
    optimizer.step()

    let value = loss.double
    guard value.isFinite else { fail("the loss is \(value)") }
    let changed = zip(parameters, before).filter { !$0.0.value.detach().allClose($0.1, rtol: 0, atol: 0) }.count
    guard changed > 0 else { fail("no parameter changed in the SGD step") }

    print("consumer: one ResNet-18 step, loss \(String(format: "%.4f", value)), "
          + "\(changed) of \(parameters.count) parameters changed -> ok")
} catch {
    fail("\(error)")
}
