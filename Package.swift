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
        // `import Graft` gives every public module below.
        .library(name: "Graft", targets: ["Graft"]),
        .library(name: "Torch", targets: ["Torch"]),
        .library(name: "Checkpoints", targets: ["Checkpoints"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Optimizers", targets: ["Optimizers"]),
        .library(name: "Vision", targets: ["Vision"]),
        .library(name: "ImageCodecs", targets: ["ImageCodecs"]),
        .library(name: "ImageData", targets: ["ImageData"]),
        .library(name: "Pretrained", targets: ["Pretrained"]),
        .library(name: "Transfer", targets: ["Transfer"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "Transferability", targets: ["Transferability"]),
        .executable(name: "graft", targets: ["GraftCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The tensor core: a C ABI over libtorch (every exception caught), and Tensor, ops,
        // autograd, RNG, devices. Linux-only pieces sit behind Torch's Platform seam.
        .systemLibrary(name: "CLibTorch", pkgConfig: "graft-libtorch"),
        .target(
            name: "CTorch",
            dependencies: ["CLibTorch"],
            cxxSettings: [.define("_GLIBCXX_USE_CXX11_ABI", to: "1")],
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        .target(name: "Torch", dependencies: ["CTorch"]),
        // safetensors and PyTorch .pth, pure Swift (no libtorch).
        .target(name: "Checkpoints"),
        // Modules, layers, losses, state dicts.
        .target(name: "NN", dependencies: ["Torch", "Checkpoints"]),
        // Optimizers and learning-rate schedules (torch.optim), over NN's parameters.
        .target(name: "Optimizers", dependencies: ["Torch", "NN"]),
        // The architectures of the model zoo (torchvision names and keys), nothing else.
        .target(name: "Vision", dependencies: ["NN"]),
        // Image file codecs: JPEG and PNG decoding (libjpeg-turbo, libpng), PNG encoding (zlib).
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CImageShim", dependencies: ["CJPEG", "CPNG"]),
        .target(name: "ImageCodecs", dependencies: ["CImageShim", "CJPEG", "CZlib"]),
        // Datasets, transforms, Preprocessing, the loader and the dataset audit.
        .target(name: "ImageData", dependencies: ["Torch", "ImageCodecs", "CZlib"]),
        // The weights store: catalogues (torchvision's, EfficientNet-Lite's), cache lookup,
        // download and SHA-256.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "Pretrained", dependencies: ["ImageData", "COpenSSL"]),
        // The training core: recipes, freezing, the trainer and its callbacks, model files,
        // checkpoints, evaluation and inference.
        .target(name: "Transfer", dependencies: ["NN", "Optimizers", "Vision", "Pretrained", "ImageData", "Checkpoints",
                                                "Transferability"]),
        // Run reports: bitmap font, canvas, plots, the HTML page, the run folder's files.
        .target(name: "Reports", dependencies: ["Transfer", "ImageData", "ImageCodecs"]),
        // How well features suit a dataset, on the features alone (float64): LogME's exact
        // evidence, LEEP and NCE from a source head, k-NN by stratified cross-validation.
        .target(name: "Transferability", dependencies: ["Torch"]),
        // The umbrella: re-exports the public modules.
        .target(
            name: "Graft",
            dependencies: ["Torch", "Checkpoints", "NN", "Optimizers", "Vision", "ImageCodecs", "ImageData",
                           "Pretrained", "Transfer", "Reports", "Transferability"]
        ),
        // The command-line tool: parses and prints, nothing else.
        .executableTarget(
            name: "GraftCLI",
            dependencies: ["Graft", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            linkerSettings: runpath
        ),
        .executableTarget(name: "graft-bench", dependencies: ["Graft"], linkerSettings: runpath),
        .testTarget(name: "TorchTests", dependencies: ["Torch"], exclude: ["Fixtures"], linkerSettings: runpath),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints"], exclude: ["Fixtures"]),
        .testTarget(name: "ImageCodecsTests", dependencies: ["ImageCodecs"], exclude: ["Fixtures"]),
        .testTarget(name: "NNTests", dependencies: ["NN"], linkerSettings: runpath),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers", "Checkpoints"], exclude: ["Fixtures"],
                    linkerSettings: runpath),
        .testTarget(name: "VisionTests", dependencies: ["Vision", "Pretrained", "ImageData", "GraftTestSupport"],
                    exclude: ["Fixtures"],
                    linkerSettings: runpath),
        .testTarget(name: "PretrainedTests", dependencies: ["Pretrained", "Vision"], linkerSettings: runpath),
        .testTarget(name: "GraftCLITests", dependencies: ["Graft", "GraftCLI", "GraftTestSupport"], linkerSettings: runpath),
        .target(name: "GraftTestSupport", dependencies: ["ImageData", "NN"], path: "Tests/Support"),
        .testTarget(name: "TransferTests", dependencies: ["Graft", "GraftTestSupport"], exclude: ["Fixtures"],
                    linkerSettings: runpath),
        .testTarget(name: "TransferabilityTests", dependencies: ["Transferability"], linkerSettings: runpath),
        .testTarget(name: "ReportsTests", dependencies: ["Graft", "GraftTestSupport"], linkerSettings: runpath),
        .testTarget(name: "ImageDataTests", dependencies: ["ImageData", "NN"], exclude: ["Fixtures"], linkerSettings: runpath),
        .testTarget(name: "DatasetTests", dependencies: ["ImageData"], exclude: ["Fixtures"], linkerSettings: runpath),
    ],
    cxxLanguageStandard: .cxx20
)
