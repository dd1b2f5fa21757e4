import Foundation
import NN
import Testing
import Torch
import Vision
@testable import Transfer

/// The memory estimate against what a real pass holds at its peak (Graft's allocator counts).
@Suite(.serialized) struct MemoryEstimateTests {
    /// Peak bytes above the baseline of one real training step (train mode, as the trainer).
    func measuredTrainingStep(_ model: ImageClassifier, size: Int, batch: Int) -> Int {
        #expect(Torch.CPUMemory.track())
        model.train()
        let before = Torch.CPUMemory.usage.inUse
        Torch.CPUMemory.resetPeak()
        let x = Tensor.randn([batch, 3, size, size])
        let loss = Functional.crossEntropy(model(x), Tensor((0..<batch).map { Int64($0 % 2) }))
        loss.backward()
        let peak = Torch.CPUMemory.usage.peak - before
        for p in model.parameters { p.value.grad = nil }
        return peak
    }

    @Test(arguments: [("resnet18", 384, 3), ("mobilenet_v3_small", 512, 2), ("densenet121", 288, 2)])
    func trainingEstimateMatchesTheMeasuredPeak(name: String, size: Int, batch: Int) throws {
        let model = try Zoo.make(name, numClasses: 2)
        let estimate = try #require(try MemoryEstimate.bytes(for: model, pass: .training, imageSize: size,
                                                             batchSize: batch, probeSize: 128, unmeasured: 0))
        let measured = measuredTrainingStep(model, size: size, batch: batch)
        let ratio = Double(estimate) / Double(measured)
        print("\(name) \(size) px × \(batch): estimate \(estimate) B, measured \(measured) B, ratio \(ratio)")
        #expect(ratio > 0.9 && ratio < 1.25, "estimate \(estimate) vs measured \(measured)")
    }

    @Test func inferenceEstimateFollowsTheInferencePeak() throws {
        let model = try Zoo.make("resnet18", numClasses: 2)
        model.eval()
        let estimate = try #require(try MemoryEstimate.bytes(for: model, pass: .inference, imageSize: 768, batchSize: 4,
                                                             unmeasured: 0))
        let before = Torch.CPUMemory.usage.inUse
        Torch.CPUMemory.resetPeak()
        Torch.inferenceMode { _ = model(Tensor.zeros([4, 3, 768, 768])) }
        let measured = Torch.CPUMemory.usage.peak - before
        let ratio = Double(estimate) / Double(measured)
        #expect(ratio > 0.9 && ratio < 1.6, "estimate \(estimate) vs measured \(measured)")
    }

    @Test func smallPassesAreNotMeasuredAndTheModelIsLeftAsItWas() throws {
        let model = try Zoo.make("resnet18", numClasses: 2)
        #expect(try MemoryEstimate.bytes(for: model, pass: .training, imageSize: 224, batchSize: 32) == nil)
        let before = model.stateDict().map { $0.tensor.clone() }
        _ = try MemoryEstimate.bytes(for: model, pass: .training, imageSize: 1024, batchSize: 8, probeSize: 64)
        #expect(model.isTraining)
        #expect(model.parameters.allSatisfy { $0.value.grad == nil })
        for (a, (key, b)) in zip(before, model.stateDict()) { #expect(a.eq(b).all().double == 1, "\(key) changed") }
    }

    @Test func aPassTooLargeForTheMachineIsRefusedWithTheNumbers() throws {
        let model = try Zoo.make("resnet18", numClasses: 2)
        let available = try #require(Platform.availableMemoryBytes)
        #expect(available > 0)
        #expect {
            try MemoryEstimate.check(model, pass: .training, name: "training", imageSize: 8192, batchSize: 64,
                                     probeSize: 64, device: .cpu)
        } throws: { error in
            guard let e = error as? MemoryError else { return false }
            return e.neededBytes > available && "\(e)".hasPrefix("training at 8192 px in batches of 64 needs about ")
                && "\(e)".hasSuffix("is available: use a smaller image or batch size")
        }
    }
}
