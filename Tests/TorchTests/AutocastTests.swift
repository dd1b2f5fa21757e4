import Foundation
import Testing
@testable import Torch

/// The autocast fixture (Fixtures/make_autocast_fixtures.py): PyTorch's CPU bfloat16 autocast
/// outputs and the CPU that made them.
enum AutocastFixture {
    struct MadeOn: Decodable {
        let model: String
        let flags: [String]
        let capability: String
    }
    struct File: Decodable {
        let made_on: MadeOn
        let entries: [String: Fixtures.Entry]
    }

    static let file: File? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/autocast.json")
        do {
            return try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        } catch {
            Issue.record("cannot read \(url.path): \(error)")
            return nil
        }
    }()

    /// bfloat16 kernels differ by instruction set: values are compared on a CPU like the one
    /// that made the fixture (same libtorch kernel ISA and the same bf16 flags); dtypes everywhere.
    static var sameKindOfCPU: Bool {
        guard let made = file?.made_on else { return false }
        let cpu = CPUFeatures.current
        let flags = Set(["avx512_bf16", "amx_bf16", "amx_tile", "avx512f"]).intersection(cpu.flags)
        return cpu.kernelISA == made.capability && flags == Set(made.flags)
    }
}

@Suite("Autocast", .serialized)
struct AutocastTests {
    typealias F = Functional

    @Test func scopeSetsAndRestoresLibtorchState() {
        #expect(!Torch.isAutocastEnabled(.cpu))
        let cacheBefore = Torch.isAutocastCacheEnabled
        Torch.autocast(.cpu, dtype: .bfloat16) {
            #expect(Torch.isAutocastEnabled(.cpu))
            #expect(Torch.autocastDType(.cpu) == .bfloat16)
            Torch.autocast(.cpu, dtype: .bfloat16, enabled: false, cacheEnabled: false) {
                #expect(!Torch.isAutocastEnabled(.cpu))
                #expect(!Torch.isAutocastCacheEnabled)
                // Ops in a disabled inner scope run in fp32 again.
                #expect(F.linear(Tensor.ones([2, 3]), weight: Tensor.ones([4, 3])).dtype == .float32)
            }
            #expect(Torch.isAutocastEnabled(.cpu))
            #expect(Torch.isAutocastCacheEnabled == cacheBefore)
            #expect(F.linear(Tensor.ones([2, 3]), weight: Tensor.ones([4, 3])).dtype == .bfloat16)
        }
        #expect(!Torch.isAutocastEnabled(.cpu))
        #expect(F.linear(Tensor.ones([2, 3]), weight: Tensor.ones([4, 3])).dtype == .float32)
    }

    @Test func scopeRestoresStateWhenTheBodyThrows() {
        struct Stop: Error {}
        #expect(throws: Stop.self) { try Torch.autocast(.cpu, dtype: .bfloat16) { throw Stop() } }
        #expect(!Torch.isAutocastEnabled(.cpu))
    }

    @Test func fp32PrecisionRunsWithoutAutocast() {
        Torch.withPrecision(.fp32, on: .cpu) { #expect(!Torch.isAutocastEnabled(.cpu)) }
        Torch.withPrecision(.bf16, on: .cpu) { #expect(Torch.autocastDType(.cpu) == .bfloat16 && Torch.isAutocastEnabled(.cpu)) }
    }

    /// Every fixture entry, computed here in the same autocast scope.
    func outputs() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        let x = seeded(1, [2, 3, 8, 8]), w = seeded(2, [4, 3, 3, 3]), b = seeded(3, [4])
        Torch.autocast(.cpu, dtype: .bfloat16) {
            out["conv2d"] = F.conv2d(x, weight: w, bias: b, padding: (1, 1))
            out["conv2d_depthwise"] = F.conv2d(seeded(4, [2, 4, 6, 6]), weight: seeded(5, [4, 1, 3, 3]), stride: (2, 2),
                                               padding: (1, 1), groups: 4)
            let a = seeded(6, [4, 6]), m = seeded(7, [5, 6])
            out["linear"] = F.linear(a, weight: m, bias: seeded(8, [5]))
            out["matmul"] = seeded(9, [3, 4, 5]).matmul(seeded(10, [5, 6]))
            out["sdpa"] = F.scaledDotProductAttention(seeded(11, [2, 2, 4, 8]), seeded(12, [2, 2, 4, 8]),
                                                      seeded(13, [2, 2, 4, 8]))
            let h = F.linear(a, weight: m)
            out["layer_norm"] = F.layerNorm(h, normalizedShape: [5], weight: seeded(14, [5]), bias: seeded(15, [5]))
            out["softmax"] = F.softmax(h, dim: -1)
            out["log_softmax"] = F.logSoftmax(h, dim: -1)
            out["gelu"] = F.gelu(h)
            let c = F.conv2d(x, weight: w)
            out["batch_norm_train"] = F.batchNorm(c, runningMean: Tensor.zeros([4]), runningVar: Tensor.ones([4]),
                                                  weight: seeded(16, [4]), bias: seeded(17, [4]), training: true)
            out["relu6"] = F.relu6(c)
            out["adaptive_avg_pool2d"] = F.adaptiveAvgPool2d(c, outputSize: (1, 1))
            let logits = F.linear(seeded(18, [6, 5]), weight: seeded(19, [3, 5]))
            let target = Tensor([0, 2, 1, 1, 0, 2] as [Int64])
            out["cross_entropy"] = F.crossEntropy(logits, target)
            out["cross_entropy_smoothing"] = F.crossEntropy(logits, target, labelSmoothing: 0.1)
            out["bce_with_logits"] = F.binaryCrossEntropyWithLogits(logits, seeded(20, [6, 3]).sigmoid())
            out["mse_loss"] = F.mseLoss(logits, seeded(21, [6, 3]))
        }
        return out
    }

    @Test func opsMatchPyTorchAutocast() throws {
        let file = try #require(AutocastFixture.file)
        let compareValues = AutocastFixture.sameKindOfCPU
        let out = outputs()
        #expect(out.count == 16)
        for (name, tensor) in out.sorted(by: { $0.key < $1.key }) {
            let expected = try #require(file.entries[name], "\(name) is not in autocast.json")
            #expect(tensor.dtype.description == expected.dtype, "\(name): dtype \(tensor.dtype), PyTorch \(expected.dtype)")
            #expect(tensor.shape == expected.shape, "\(name): shape")
            if compareValues { expectMatches(tensor, name, atol: 1e-6, rtol: 1e-6, in: file.entries) }
        }
    }

    @Test func trainingStepMatchesPyTorchAutocast() throws {
        let file = try #require(AutocastFixture.file)
        let cw = seeded(30, [8, 3, 3, 3], grad: true), cb = seeded(31, [8], grad: true)
        let gamma = seeded(32, [8], grad: true), beta = seeded(33, [8], grad: true)
        let lw = seeded(34, [5, 8], grad: true), lb = seeded(35, [5], grad: true)
        let images = seeded(36, [4, 3, 10, 10]), labels = Tensor([4, 0, 3, 1] as [Int64])
        let (c, n, z, loss) = Torch.autocast(.cpu, dtype: .bfloat16) {
            let c = F.conv2d(images, weight: cw, bias: cb, padding: (1, 1))
            let n = F.batchNorm(c, runningMean: Tensor.zeros([8]), runningVar: Tensor.ones([8]), weight: gamma, bias: beta,
                                training: true)
            let p = F.adaptiveAvgPool2d(n.relu(), outputSize: (1, 1)).flatten(startDim: 1)
            let z = F.linear(p, weight: lw, bias: lb)
            return (c, n, z, F.crossEntropy(z, labels))
        }
        loss.backward()  // outside the scope, as torch.autocast prescribes
        let results: [(String, Tensor?)] = [
            ("net/conv", c), ("net/norm", n), ("net/logits", z), ("net/loss", loss),
            ("net/grad_conv_weight", cw.grad), ("net/grad_conv_bias", cb.grad), ("net/grad_gamma", gamma.grad),
            ("net/grad_beta", beta.grad), ("net/grad_linear_weight", lw.grad), ("net/grad_linear_bias", lb.grad),
        ]
        for (name, tensor) in results {
            let expected = try #require(file.entries[name])
            #expect(tensor?.dtype.description == expected.dtype, "\(name): dtype")
            if AutocastFixture.sameKindOfCPU { expectMatches(tensor, name, atol: 1e-6, rtol: 1e-6, in: file.entries) }
        }
        // fp32 master weights: every gradient is fp32, as its parameter.
        for g in [cw.grad, cb.grad, gamma.grad, beta.grad, lw.grad, lb.grad] { #expect(g?.dtype == .float32) }
    }
}

@Suite("Precision choice")
struct PrecisionChoiceTests {
    func cpu(_ flags: Set<String>, libtorch: Bool? = nil) -> CPUFeatures {
        CPUFeatures(model: "test CPU", flags: flags, kernelISA: "AVX512", libtorchAVX512BF16: libtorch, libtorchAMXBF16: nil)
    }

    @Test func autoPicksBF16OnlyWhereTheCPUHasIt() throws {
        let epyc = try PrecisionChoice.auto.resolve(on: .cpu, cpu: cpu(["avx512f", "avx512_bf16"]))
        #expect(epyc.precision == .bf16 && epyc.reason.contains("avx512_bf16"))
        let sapphire = try PrecisionChoice.auto.resolve(on: .cpu, cpu: cpu(["amx_bf16", "amx_tile"]))
        #expect(sapphire.precision == .bf16 && sapphire.reason.contains("amx_bf16"))
        let older = try PrecisionChoice.auto.resolve(on: .cpu, cpu: cpu(["avx2", "avx512f"]))
        #expect(older.precision == .fp32 && older.reason.contains("no native bfloat16"))
        // Without readable flags, libtorch's cpuinfo decides.
        #expect(try PrecisionChoice.auto.resolve(on: .cpu, cpu: cpu([], libtorch: true)).precision == .bf16)
        #expect(try PrecisionChoice.auto.resolve(on: .cpu, cpu: cpu([], libtorch: nil)).precision == .fp32)
    }

    @Test func explicitChoicesAreKeptOrRefused() throws {
        #expect(try PrecisionChoice.fp32.resolve(on: .cpu, cpu: cpu(["avx512_bf16"])).precision == .fp32)
        let slow = try PrecisionChoice.bf16.resolve(on: .cpu, cpu: cpu(["avx2"]))
        #expect(slow.precision == .bf16 && slow.reason.contains("slower"))
        #expect(throws: TorchError.self) { try PrecisionChoice.fp16.resolve(on: .cpu, cpu: cpu(["avx512_bf16"])) }
        #expect(throws: TorchError.self) { try PrecisionChoice.bf16.resolve(on: .cuda(0), cudaBF16: { false }) }
        #expect(try PrecisionChoice.auto.resolve(on: .cuda(0), cudaBF16: { true }).precision == .bf16)
        #expect(try PrecisionChoice.auto.resolve(on: .cuda(0), cudaBF16: { false }).precision == .fp32)
        #expect(try PrecisionChoice.fp16.resolve(on: .cuda(0), cudaBF16: { false }).precision == .fp16)
        #expect(Precision.fp16.needsLossScaling && !Precision.bf16.needsLossScaling)
    }

    @Test func thisMachineIsDescribed() {
        let cpu = CPUFeatures.current
        #expect(!cpu.kernelISA.isEmpty)
        // The flags come from /proc/cpuinfo on Linux; nativeBF16 lists only flags the CPU has.
        #expect(cpu.nativeBF16.allSatisfy { cpu.flags.contains($0) || cpu.flags.isEmpty })
    }
}
