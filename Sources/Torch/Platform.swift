import CTorch
import Foundation

/// The platform seam on the Swift side: what depends on the operating system. Linux
/// (glibc, x86-64 and arm64 torch wheels) is built and tested. A macOS port (the torch
/// wheel's macOS arm64 build) touches this file, `CTorch/platform.cpp`, the linker
/// settings in Package.swift and scripts/setup.sh's loader registration; nothing above Torch.
public enum Platform {
    /// The operating system as the build sees it.
    public static var name: String {
        #if os(Linux)
        "Linux"
        #elseif os(macOS)
        "macOS"
        #else
        "unknown"
        #endif
    }

    /// The file-name suffix of shared libraries (`.so`, `.dylib`).
    public static var sharedLibrarySuffix: String {
        #if os(macOS)
        ".dylib"
        #else
        ".so"
        #endif
    }

    /// Whether ``Torch/keepFreedMemory()`` can change anything here: glibc's allocator only.
    public static var hasTunableMalloc: Bool {
        #if canImport(Glibc)
        true
        #else
        false
        #endif
    }

    /// Whether CUDA can exist on this platform at all (loaded on first use from
    /// `libtorch_cuda` beside `libtorch_cpu`); macOS's GPU is MPS instead.
    public static var mayHaveCUDA: Bool {
        #if os(macOS)
        false
        #else
        true
        #endif
    }

    /// Bytes this process can still allocate before the kernel or its container's memory
    /// limit ends it: Linux's `MemAvailable`, lowered to what a cgroup (v2 or v1) limit
    /// leaves. nil where neither can be read (then nothing is refused for memory).
    public static var availableMemoryBytes: Int? {
        #if os(Linux)
        var available: Int?
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kB = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            available = kB * 1024
        }
        func number(_ path: String) -> Int? {
            (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        var cgroupLeft: Int?
        if let limit = number("/sys/fs/cgroup/memory.max"), let used = number("/sys/fs/cgroup/memory.current") {
            cgroupLeft = limit - used
        } else if let limit = number("/sys/fs/cgroup/memory/memory.limit_in_bytes"), limit < 1 << 60,
                  let used = number("/sys/fs/cgroup/memory/memory.usage_in_bytes") {
            // v1 counts the page cache as used; its inactive part is reclaimed on demand.
            let stat = (try? String(contentsOfFile: "/sys/fs/cgroup/memory/memory.stat", encoding: .utf8)) ?? ""
            let inactive = stat.split(separator: "\n").first { $0.hasPrefix("total_inactive_file ") }
                .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            cgroupLeft = limit - used + inactive
        }
        switch (available, cgroupLeft) {
        case let (a?, c?): return max(0, min(a, c))
        case let (a?, nil): return a
        case let (nil, c?): return max(0, c)
        default: return nil
        }
        #else
        return nil
        #endif
    }
}
