import Torch

/// The one place Graft's layers depart from libtorch's autocast lists, and why.
///
/// Under CPU autocast libtorch runs every convolution in bfloat16. For depthwise
/// convolutions (groups = input channels, one filter per channel) oneDNN's bfloat16
/// *backward* is slower than its fp32 one on an AMD EPYC with avx512_bf16 (batch 32,
/// 2 threads: 96 channels 3×3 stride 2 at 112 px 99 → 174 ms, 240 channels 5×5 at 28 px
/// 29 → 84 ms; measured with libtorch 2.15.0 from Python, the same kernels Graft calls),
/// enough to make a whole EfficientNet-Lite0 training step slower in bf16 than in fp32
/// (PyTorch's own autocast: 2184 → 1976 ms; with depthwise convolutions kept in fp32:
/// 1366 ms). So while autograd is recording one of them, a depthwise convolution runs in
/// fp32 with autocast off for that op alone, its output fp32 (the next autocast op casts it
/// down again, as for any fp32 tensor); forward-only passes (inference, feature caches,
/// frozen layers) keep libtorch's choice, where bf16 is the faster of the two.
public enum AutocastPolicy {
    /// Whether depthwise convolutions stay fp32 when they are being trained under CPU
    /// autocast (default on). Off, every convolution follows libtorch's list exactly.
    nonisolated(unsafe) public static var depthwiseInFP32WhenTraining = true

    /// Whether a depthwise convolution of `x` by `weight` (`groups` groups) would leave
    /// autocast for fp32 now.
    public static func keepsFP32(_ x: Tensor, weight: Tensor, groups: Int) -> Bool {
        depthwiseInFP32WhenTraining && groups > 1 && weight.size(1) == 1 && x.device == .cpu
            && Torch.isGradEnabled && (x.requiresGrad || weight.requiresGrad) && Torch.isAutocastEnabled(.cpu)
    }

    /// `conv(x)`, in fp32 outside autocast where ``keepsFP32(_:weight:groups:)`` says so.
    public static func depthwise(_ x: Tensor, weight: Tensor, groups: Int, _ conv: (Tensor) -> Tensor) -> Tensor {
        guard keepsFP32(x, weight: weight, groups: groups) else { return conv(x) }
        let dtype = Torch.autocastDType(.cpu) ?? .bfloat16
        return Torch.autocast(.cpu, dtype: dtype, enabled: false) { conv(x.to(.float32)) }
    }
}
