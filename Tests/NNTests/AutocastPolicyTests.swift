import Testing
import Torch
@testable import NN

/// AutocastPolicy: depthwise convolutions that autograd records run in fp32 under CPU
/// autocast; forward-only passes and every other convolution follow libtorch's list.
@Suite("Autocast policy", .serialized)
struct AutocastPolicyTests {
    @Test func depthwiseStaysFP32OnlyWhileTraining() {
        Torch.manualSeed(0)
        let depthwise = Conv2d(8, 8, kernelSize: 3, padding: 1, groups: 8, bias: false)
        let grouped = Conv2d(8, 8, kernelSize: 3, padding: 1, groups: 2, bias: false)
        let dense = Conv2d(8, 4, kernelSize: 1)
        let x = Tensor.randn([2, 8, 6, 6])
        Torch.autocast(.cpu, dtype: .bfloat16) {
            let y = depthwise(x)
            #expect(y.dtype == .float32)
            #expect(grouped(x).dtype == .bfloat16)
            #expect(dense(x).dtype == .bfloat16)
            // The op after it is autocast's again.
            #expect(dense(y).dtype == .bfloat16)
            #expect(Torch.isAutocastEnabled(.cpu))
            Torch.noGrad { #expect(depthwise(x).dtype == .bfloat16) }
            // fp32 there is the fp32 convolution itself, to the bit.
            let reference = Torch.autocast(.cpu, dtype: .bfloat16, enabled: false) { depthwise(x) }
            #expect(y.allClose(reference, rtol: 0, atol: 0))
        }
        #expect(depthwise(x).dtype == .float32)
    }

    @Test func policyOffFollowsLibtorch() {
        let depthwise = Conv2d(4, 4, kernelSize: 3, groups: 4)
        AutocastPolicy.depthwiseInFP32WhenTraining = false
        defer { AutocastPolicy.depthwiseInFP32WhenTraining = true }
        Torch.autocast(.cpu, dtype: .bfloat16) { #expect(depthwise(Tensor.randn([1, 4, 5, 5])).dtype == .bfloat16) }
    }

    @Test func gradientsReachFP32Weights() {
        let depthwise = Conv2d(4, 4, kernelSize: 3, groups: 4, bias: false)
        let pointwise = Conv2d(4, 2, kernelSize: 1, bias: false)
        let loss = Torch.autocast(.cpu, dtype: .bfloat16) { pointwise(depthwise(Tensor.randn([2, 4, 5, 5]))).to(.float32).sum() }
        loss.backward()
        #expect(depthwise.weight.grad?.dtype == .float32)
        #expect(pointwise.weight.grad?.dtype == .float32)
    }
}
