import CTorch
import Foundation

/// What this machine's CPU can do for mixed precision: the kernel's flags (`/proc/cpuinfo`
/// on Linux) and what libtorch's own cpuinfo reports, which also decides oneDNN's ISA.
public struct CPUFeatures: Sendable, Equatable {
    /// The CPU's model name (`/proc/cpuinfo`), or nil where it can't be read.
    public var model: String?
    /// The kernel's CPU flags (`avx512f`, `avx512_bf16`, `amx_bf16`, ...); empty where unknown.
    public var flags: Set<String>
    /// The ISA libtorch's vectorised kernels were dispatched to (`AVX512`, `AVX2`, `DEFAULT`).
    public var kernelISA: String
    /// libtorch's cpuinfo on the instructions that make bfloat16 fast: nil where it doesn't say.
    public var libtorchAVX512BF16: Bool?
    public var libtorchAMXBF16: Bool?

    public init(model: String?, flags: Set<String>, kernelISA: String, libtorchAVX512BF16: Bool?, libtorchAMXBF16: Bool?) {
        self.model = model
        self.flags = flags
        self.kernelISA = kernelISA
        self.libtorchAVX512BF16 = libtorchAVX512BF16
        self.libtorchAMXBF16 = libtorchAMXBF16
    }

    /// This machine's, read once.
    public static let current: CPUFeatures = {
        var model: String?, flags = Set<String>()
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            for line in info.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                if model == nil, parts[0] == "model name" { model = parts[1] }
                if flags.isEmpty, parts[0] == "flags" { flags = Set(parts[1].split(separator: " ").map(String.init)) }
                if model != nil, !flags.isEmpty { break }
            }
        }
        var buffer = [CChar](repeating: 0, count: 32)
        let isa = ct_cpu_capability(&buffer, buffer.count) == 0 ? string(fromCBuffer: buffer) : "DEFAULT"
        ct_clear_error()
        func feature(_ name: String) -> Bool? {
            switch ct_cpu_feature(name) {
            case 1: true
            case 0: false
            default: nil
            }
        }
        let features = CPUFeatures(model: model, flags: flags, kernelISA: isa,
                                   libtorchAVX512BF16: feature("avx512_bf16"), libtorchAMXBF16: feature("amx_bf16"))
        ct_clear_error()
        return features
    }()

    /// The instruction sets that make bfloat16 matrix products native, as the CPU names them
    /// (`avx512_bf16`, `amx_bf16`): from the kernel's flags, or libtorch's cpuinfo where the
    /// flags can't be read.
    public var nativeBF16: [String] {
        var found: [String] = []
        if flags.contains("avx512_bf16") || (flags.isEmpty && libtorchAVX512BF16 == true) { found.append("avx512_bf16") }
        if flags.contains("amx_bf16") || (flags.isEmpty && libtorchAMXBF16 == true) { found.append("amx_bf16") }
        return found
    }
}

/// How the user asked for a precision: `auto` chooses by the hardware, the others are taken
/// as they are (after a check that the device can run them).
public enum PrecisionChoice: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case auto, fp32, bf16, fp16

    public var description: String { rawValue }

    /// The precision, and why, for `device`. Throws for a choice the device can't run
    /// (float16 autocast is for CUDA here; on a CPU, bfloat16 is the lower precision).
    public func resolve(on device: Device, cpu: CPUFeatures = .current,
                        cudaBF16: () -> Bool? = CUDA.supportsBF16) throws -> ResolvedPrecision {
        switch (self, device) {
        case (.fp32, _):
            return ResolvedPrecision(precision: .fp32, reason: "asked for (--precision fp32)")
        case (.fp16, .cpu):
            throw TorchError(operation: "--precision fp16",
                             message: "float16 autocast with loss scaling is for CUDA devices; on a CPU use --precision bf16 or fp32")
        case (.fp16, .cuda):
            return ResolvedPrecision(precision: .fp16, reason: "asked for (--precision fp16), with dynamic loss scaling")
        case (.bf16, .cpu):
            let native = cpu.nativeBF16
            return ResolvedPrecision(precision: .bf16, reason: native.isEmpty
                ? "asked for (--precision bf16); this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16): expect it slower than fp32"
                : "asked for (--precision bf16); the CPU has " + native.joined(separator: ", "))
        case (.bf16, .cuda):
            guard cudaBF16() != false else {
                throw TorchError(operation: "--precision bf16",
                                 message: "this CUDA device has no bfloat16 (compute capability below 8.0); use --precision fp16 or fp32")
            }
            return ResolvedPrecision(precision: .bf16, reason: "asked for (--precision bf16)")
        case (.auto, .cpu):
            let native = cpu.nativeBF16
            if native.isEmpty {
                return ResolvedPrecision(precision: .fp32, reason: "auto: this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16 flag)")
            }
            return ResolvedPrecision(precision: .bf16, reason: "auto: the CPU has " + native.joined(separator: ", "))
        case (.auto, .cuda(let index)):
            if cudaBF16() == true {
                return ResolvedPrecision(precision: .bf16, reason: "auto: cuda:\(index) has bfloat16 (compute capability 8.0 or later)")
            }
            return ResolvedPrecision(precision: .fp32, reason: "auto: cuda:\(index) has no bfloat16 (--precision fp16 runs float16 with loss scaling)")
        }
    }
}

/// A precision and the sentence that says why it was chosen, for `graft --version` and reports.
public struct ResolvedPrecision: Sendable, Equatable, Codable, CustomStringConvertible {
    public var precision: Precision
    public var reason: String

    public init(precision: Precision, reason: String) {
        self.precision = precision
        self.reason = reason
    }

    public var description: String { "\(precision) (\(reason))" }
}

extension CUDA {
    /// Whether the current CUDA device runs bfloat16 natively (compute capability 8.0 or
    /// later, the test of `torch.cuda.is_bf16_supported()`); nil without CUDA.
    public static func supportsBF16() -> Bool? {
        guard isAvailable else { return nil }
        let answer = ct_cuda_supports_bf16()
        ct_clear_error()
        return answer < 0 ? nil : answer == 1
    }
}
