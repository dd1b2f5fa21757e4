import Foundation
import Testing
import CTorch
@testable import Torch

/// Serialized: the resident-memory test must not see the allocator test's 100 MB tensor.
@Suite(.serialized) struct TorchCoreTests {
    @Test func dtypeRawValuesAreLibtorchs() {
        let names: [DType: String] = [
            .uint8: "Byte", .int8: "Char", .int16: "Short", .int32: "Int", .int64: "Long", .float16: "Half",
            .float32: "Float", .float64: "Double", .bool: "Bool", .bfloat16: "BFloat16",
        ]
        for dtype in DType.allCases {
            #expect(dtype.libtorchName == names[dtype], "\(dtype)")
            #expect(dtype.libtorchByteSize == dtype.byteSize, "\(dtype)")
            #expect(Tensor.zeros([2], dtype: dtype).dtype == dtype)
        }
    }

    @Test func deviceAndMemoryFormatRawValuesAreLibtorchs() {
        #expect(Device.libtorchName(rawType: Device.cpuDeviceType) == "cpu")
        #expect(Device.libtorchName(rawType: Device.cudaDeviceType) == "cuda")
        #expect(MemoryFormat.contiguous.libtorchName == "Contiguous")
        #expect(MemoryFormat.preserve.libtorchName == "Preserve")
        #expect(MemoryFormat.channelsLast.libtorchName == "ChannelsLast")
        #expect(Tensor.zeros([1]).device == .cpu)
        #expect(Device("cuda:1") == .cuda(1) && Device("cpu") == .cpu && Device("gpu") == nil)
    }

    @Test func cudaIsReportedClearlyWhenMissing() throws {
        if CUDA.isAvailable {
            let x = Tensor.ones([3]).to(.cuda(0))
            #expect(x.device == .cuda(0))
            #expect((x * 2).to(.cpu).toArray(Float.self) == [2, 2, 2])
        } else {
            #expect(CUDA.unavailableReason?.contains("CUDA is not available") == true)
            #expect(throws: TorchError.self) { try CUDA.requireAvailable(.cuda(0)) }
        }
    }

    /// The calling thread's intra-op threads change inside the scope only, and another
    /// thread's stay as they were meanwhile.
    @Test func threadLocalThreadsAreScopedToTheThread() throws {
        let before = Torch.numThreads
        final class Seen: @unchecked Sendable { var threads = 0; let done = DispatchSemaphore(value: 0) }
        let (inside, elsewhere) = Torch.withThreadLocalThreads(1) { () -> (Int, Int) in
            let seen = Seen()
            Thread { seen.threads = Torch.numThreads; seen.done.signal() }.start()
            seen.done.wait()
            return (Torch.numThreads, seen.threads)
        }
        #expect(inside == 1 && Torch.numThreads == before)
        #expect(elsewhere == before || before == 1, "another thread saw \(elsewhere) threads")
        // Products inside the scope are the same numbers.
        let a = Torch.withManualSeed(1) { Tensor.randn([64, 64], dtype: .float64) }
        let serial = Torch.withThreadLocalThreads(1) { a.matmul(a) }
        #expect((serial - a.matmul(a)).abs().max().double < 1e-12)
    }

    @Test func creationAndReadBack() {
        let a = Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        #expect(a.shape == [2, 3] && a.dtype == .float32 && a.count == 6)
        #expect(a.toArray(Float.self) == [1, 2, 3, 4, 5, 6])
        #expect(a.toArray(Int.self) == [1, 2, 3, 4, 5, 6])
        #expect(Tensor.full([2], 2.5).toArray(Double.self) == [2.5, 2.5])
        #expect(Tensor.arange(0, 5).toArray(Int.self) == [0, 1, 2, 3, 4])
        #expect(Tensor.arange(0, 1, step: 0.25, dtype: .float64).toArray(Double.self) == [0, 0.25, 0.5, 0.75])
        #expect(Tensor(scalar: Int64(7)).int == 7)
        #expect(Tensor(scalar: Float(1.5)).double == 1.5)
        #expect(Tensor.ones([2, 2], dtype: .bfloat16).sum().item(Float.self) == 4)
        #expect(Tensor([true, false, true]).sum().int == 2)
        #expect(Tensor([Float16(1.5), Float16(2)]).toArray(Float.self) == [1.5, 2])
        #expect(Tensor([UInt8(255), 1]).to(.int32).toArray(Int32.self) == [255, 1])
        #expect(Tensor.eye(3).sum().double == 3)
        #expect(Tensor.linspace(0, 1, steps: 3).toArray(Float.self) == [0, 0.5, 1])
    }

    @Test func fromBlobWrapsWithoutCopyingAndReleasesOnce() throws {
        let count = 6
        nonisolated(unsafe) let memory = UnsafeMutablePointer<Float>.allocate(capacity: count)
        for i in 0..<count { memory[i] = Float(i) }
        let released = ReleaseCounter()
        do {
            let t = try Tensor.fromBlob(UnsafeMutableRawPointer(memory), shape: [2, 3], dtype: .float32) {
                released.increment()
                memory.deallocate()
            }
            memory[0] = 42  // same memory: the tensor sees the write
            #expect(t[0, 0].item(Float.self) == 42)
            let view = t.transposed(0, 1)
            _ = view
            #expect(released.value == 0)
        }
        #expect(released.value == 1)
        nonisolated(unsafe) let strided = UnsafeMutablePointer<Float>.allocate(capacity: 6)
        for i in 0..<6 { strided[i] = Float(i) }
        let columns = try Tensor.fromBlob(UnsafeMutableRawPointer(strided), shape: [3, 2], strides: [1, 3],
                                          dtype: .float32) { strided.deallocate() }
        #expect(columns.toArray(Float.self) == [0, 3, 1, 4, 2, 5])
    }

    @Test func autogradScopes() {
        let x = Tensor([2.0] as [Double]).requiresGrad()
        let y = Torch.noGrad { x * x }
        #expect(!y.requiresGrad)
        #expect(Torch.isGradEnabled)
        Torch.inferenceMode {
            #expect(Torch.isInferenceMode)
            #expect(!(x * 3).requiresGrad)
        }
        #expect(!Torch.isInferenceMode)
        let z = x * x * x
        z.backward(retainGraph: true)
        #expect(x.grad?.toArray(Double.self) == [12])
        z.backward()  // retained graph: gradients accumulate
        #expect(x.grad?.toArray(Double.self) == [24])
        x.zeroGrad()
        #expect(x.grad?.toArray(Double.self) == [0])
        x.grad = nil
        #expect(x.grad == nil)
        let v = Tensor([1.0, 2.0] as [Double]).requiresGrad()
        let w = v * v
        w.backward(gradient: Tensor([1.0, 10.0] as [Double]))
        #expect(v.grad?.toArray(Double.self) == [2, 40])
        #expect(!w.isLeaf && v.isLeaf && !w.detach().requiresGrad)
        let g = gradients(of: [(v * v * v).sum()], withRespectTo: [v])
        #expect(g[0]?.toArray(Double.self) == [3, 12])
    }

    @Test func generatorStateRestoresExactly() throws {
        let g = Generator(seed: 11)
        _ = Tensor.rand([3], generator: g)
        let state = g.state
        let first = Tensor.randn([5], generator: g).toArray(Float.self)
        try g.setState(state)
        #expect(Tensor.randn([5], generator: g).toArray(Float.self) == first)
        #expect(throws: TorchError.self) { try g.setState(Tensor.zeros([3], dtype: .uint8)) }
    }

    @Test func threadCountDefaultsToTheMachinesCores() {
        #expect(Torch.numThreads == ProcessInfo.processInfo.activeProcessorCount)
        Torch.numThreads = 1
        #expect(Torch.numThreads == 1)
        Torch.numThreads = ProcessInfo.processInfo.activeProcessorCount
    }

    #if os(Linux)
    /// The malloc setting applies on glibc and can be opted out of; its effect (no page faults
    /// when a large freed buffer is allocated again) is checked through `graft-bench faults`
    /// in GraftCLITests, on a main thread as in the tool.
    @Test func keepFreedMemoryAppliesUnlessOptedOut() {
        setenv("GRAFT_KEEP_FREED_MEMORY", "0", 1)
        #expect(!Torch.keepFreedMemory())
        unsetenv("GRAFT_KEEP_FREED_MEMORY")
        #expect(Torch.keepFreedMemory())
        // From here on this process allocates through the reusing allocator: storage is
        // aligned as libtorch's own (64 bytes, what its vectorised kernels assume), holds
        // what is written, and empty tensors work.
        for count in [1, 3, 17, 1000, 1 << 20, 25 << 20] {
            let t = Tensor.full([count], 2)
            #expect(Int(bitPattern: ct_data_ptr(t.handle)) % 64 == 0, "\(count) elements")
            #expect(t.sum(dtype: .float64).item(Double.self) == Double(2 * count))
        }
        #expect(Tensor.zeros([0, 4]).shape == [0, 4])
        #expect((Tensor.ones([0]) + 1).count == 0)
        // More than any machine has: an error that says so, not a crash.
        do {
            _ = try withTorchErrors { Tensor.zeros([1 << 42]) }
            Issue.record("expected an error")
        } catch let error as TorchError {
            #expect(error.message.contains("failed to allocate"), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
    #endif

    @Test func opErrorsThrowInsideTheScope() throws {
        let a = Tensor.ones([2, 3]), b = Tensor.ones([4, 5])
        do {
            _ = try withTorchErrors { a.matmul(b) + 1 }
            Issue.record("expected an error")
        } catch let error as TorchError {
            #expect(error.operation == "matmul")
            #expect(error.message.contains("cannot be multiplied"))
            #expect(!error.message.contains("frame #"))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: TorchError.self) { try withTorchErrors { _ = Functional.conv2d(a, weight: b) } }
        #expect(try withTorchErrors { (a + 1).sum().double } == 12)
    }

    @Test func opErrorsTrapWithTheOpNameOutsideAScope() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor.ones([2, 3]).matmul(Tensor.ones([4, 5]))
        }
    }

    @Test func loadingErrorsAlwaysThrow() throws {
        #expect(throws: TorchError.self) {
            try Tensor.ones([2]).copyBytes(to: UnsafeMutableRawBufferPointer.allocate(byteCount: 3, alignment: 8))
        }
    }

    @Test func droppingTenThousandTensorsKeepsResidentMemoryFlat() {
        func churn(_ n: Int) {
            for i in 0..<n {
                let t = Tensor.full([1024], Double(i))
                let u = (t * 2 + 1).sum()
                precondition(u.count == 1)
            }
        }
        churn(1_000)  // warm up allocator caches
        let before = residentBytes()
        churn(10_000)  // 10,000 × three 4 KiB tensors: 120 MB if any leaked
        let growth = residentBytes() - before
        #expect(growth < 8 << 20, "resident set grew by \(growth >> 10) KiB")
    }
}

final class ReleaseCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Metadata of an undefined tensor (an op failed inside `withTorchErrors`) is an error
/// like any op's, never a made-up value or a trap.
@Suite struct MetadataErrorTests {
    @Test func undefinedTensorsMetadataThrowsInsideTheScope() throws {
        #expect(throws: TorchError.self) { try withTorchErrors { _ = Tensor.undefined().shape } }
        #expect(throws: TorchError.self) { try withTorchErrors { _ = Tensor.undefined().dtype } }
        #expect(throws: TorchError.self) { try withTorchErrors { _ = Tensor.undefined().count } }
        #expect(throws: TorchError.self) { try withTorchErrors { _ = Tensor.zeros([2, 3]).size(2) } }
        #expect(try withTorchErrors { Tensor.zeros([2, 3]).size(-1) } == 3)
    }

    @Test func interpolateWithoutSizeOrScaleIsAnError() throws {
        #expect {
            try withTorchErrors { _ = Functional.interpolate(Tensor.zeros([1, 1, 4, 4])) }
        } throws: { error in "\(error)".contains("output size or a scale factor") }
    }
}
