import Testing
import Torch
@testable import Vision

/// Each family's declared smallest input runs, and one pixel less fails with a thrown
/// error (not a crash); Inception v3's auxiliary classifier needs its own minimum to train.
@Suite struct MinimumInputSizeTests {
    static let families = ["resnet18", "vgg11", "inception_v3", "mobilenet_v2", "mobilenet_v3_small",
                           "efficientnet_b0", "densenet121", "efficientnet_lite0", "resnext50_32x4d", "wide_resnet50_2",
                           "efficientnet_v2_s", "regnet_y_400mf", "regnet_x_400mf", "convnext_tiny", "vit_b_16",
                           "vit_b_32", "swin_t", "swin_v2_t", "maxvit_t", "vit_small_patch14_reg4_dinov2.lvd142m",
                           "deit3_small_patch16_224.fb_in1k", "convnext_tiny.fb_in22k_ft_in1k"]

    func runs(_ model: ImageClassifier, size: Int, training: Bool) -> Bool {
        model.train(training)
        do {
            return try withTorchErrors {
                Torch.noGrad {
                    let x = Tensor.randn([2, 3, size, size])
                    let (logits, auxiliary) = training ? model.trainingLogits(x) : (model(x), [])
                    return logits.shape == [2, 3] && auxiliary.allSatisfy { $0.logits.shape == [2, 3] }
                }
            }
        } catch { return false }
    }

    @Test(arguments: families)
    func declaredMinimumIsExact(_ name: String) throws {
        let entry = try #require(Zoo.entry(name))
        let model = try Torch.withManualSeed(0) { try Zoo.make(name, numClasses: 3) }
        #expect(runs(model, size: entry.minimumInputSize, training: false))
        if entry.minimumInputSize > 1 { #expect(!runs(model, size: entry.minimumInputSize - 1, training: false)) }
        #expect(runs(model, size: entry.minimumTrainingInputSize, training: true))
        if entry.minimumTrainingInputSize > entry.minimumInputSize {
            #expect(!runs(model, size: entry.minimumTrainingInputSize - 1, training: true))
        }
    }

    @Test func everyVariantOfAFamilySharesItsMinimum() {
        for entry in Zoo.entries {
            let family = Self.families.first { entry.name.hasPrefix(String($0.prefix(while: { $0.isLetter }))) }
            if entry.name.hasPrefix("vgg") { #expect(entry.minimumInputSize == 32, "\(entry.name)") }
            if entry.name.hasPrefix("densenet") { #expect(entry.minimumInputSize == 29, "\(entry.name)") }
            #expect(family != nil, "\(entry.name) has no family in the minimum-size test")
        }
    }
}
