// swift-tools-version: 6.0
import Foundation
import PackageDescription

// libtorch is found through the pkg-config file `graft-libtorch.pc` that
// `scripts/setup.sh` writes. Executables and test bundles get a RUNPATH to its
// lib folder so they run without LD_LIBRARY_PATH; library targets carry no
// unsafe flags, so other packages can depend on Graft by version.
let libtorchLib: String = {
    let env = ProcessInfo.processInfo.environment
    if let root = env["LIBTORCH"], !root.isEmpty { return root + "/lib" }
    let cache = env["GRAFT_CACHE"] ?? (NSHomeDirectory() + "/.cache/graft")
    if let root = try? String(contentsOfFile: cache + "/libtorch.path", encoding: .utf8) {
        return root.trimmingCharacters(in: .whitespacesAndNewlines) + "/lib"
    }
    return cache + "/libtorch-2.15.0/lib"
}()
let runpath: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", libtorchLib])]

let package = Package(
    name: "Graft",
    products: [
        .library(name: "Torch", targets: ["Torch"]),
        .library(name: "Checkpoints", targets: ["Checkpoints"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Vision", targets: ["Vision"]),
        .library(name: "ImageCodecs", targets: ["ImageCodecs"]),
        .library(name: "ImageData", targets: ["ImageData"]),
        .library(name: "Transfer", targets: ["Transfer"]),
        .executable(name: "graft", targets: ["graft"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibTorch", pkgConfig: "graft-libtorch"),
        .target(
            name: "CTorch",
            dependencies: ["CLibTorch"],
            cxxSettings: [.define("_GLIBCXX_USE_CXX11_ABI", to: "1")],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .target(name: "Torch", dependencies: ["CTorch"]),
        .target(name: "Checkpoints"),
        .target(name: "NN", dependencies: ["Torch", "Checkpoints"]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "Vision", dependencies: ["NN", "COpenSSL"]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .target(name: "CImageShim", dependencies: ["CJPEG", "CPNG"]),
        .target(name: "ImageCodecs", dependencies: ["CImageShim", "CJPEG"]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "ImageData", dependencies: ["Torch", "ImageCodecs", "CZlib"]),
        .target(name: "Transfer", dependencies: ["NN", "Vision", "ImageData", "Checkpoints", "CZlib"]),
        .executableTarget(
            name: "graft",
            dependencies: [
                "Torch", "Checkpoints", "NN", "Vision", "ImageData", "ImageCodecs", "Transfer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: runpath
        ),
        .executableTarget(
            name: "graft-bench",
            dependencies: ["Torch", "NN", "Vision", "ImageData", "Transfer"],
            linkerSettings: runpath
        ),
        .testTarget(name: "TorchTests", dependencies: ["Torch"], exclude: ["Fixtures"], linkerSettings: runpath),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints"], exclude: ["Fixtures"]),
        .testTarget(name: "ImageCodecsTests", dependencies: ["ImageCodecs"], exclude: ["Fixtures"]),
        .testTarget(name: "NNTests", dependencies: ["NN"], linkerSettings: runpath),
        .testTarget(name: "VisionTests", dependencies: ["Vision"], exclude: ["Fixtures"], linkerSettings: runpath),
        .testTarget(name: "GraftCLITests", dependencies: ["Transfer", "graft"], linkerSettings: runpath),
        .testTarget(name: "TransferTests", dependencies: ["Transfer", "NN", "Vision", "ImageData", "ImageCodecs"], exclude: ["Fixtures"], linkerSettings: runpath),
        .testTarget(name: "ImageDataTests", dependencies: ["ImageData", "NN"], exclude: ["Fixtures"], linkerSettings: runpath),
        .testTarget(name: "DatasetTests", dependencies: ["ImageData"], exclude: ["Fixtures"], linkerSettings: runpath),
    ],
    cxxLanguageStandard: .cxx20
)
