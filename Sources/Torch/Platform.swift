import CTorch

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
}
