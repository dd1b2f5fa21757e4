// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets for the parsers that read untrusted bytes. Built and run by
// `scripts/fuzz.sh` (from the repository root):
//   swift build -c release --sanitize=fuzzer --sanitize=address \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// (the combined -Xswiftc flag: swiftc keeps only its last -sanitize=, see scripts/fuzz.sh).
// libFuzzer supplies `main`; each target defines `LLVMFuzzerTestOneInput`.
let package = Package(
    name: "GraftFuzz",
    dependencies: [
        .package(name: "Graft", path: ".."),
    ],
    targets: [
        // Checkpoint bytes through CheckpointFile.read's dispatch: safetensors, zip and legacy .pth.
        .executableTarget(
            name: "fuzz-checkpoints",
            dependencies: [.product(name: "Checkpoints", package: "Graft")]
        ),
        // Image bytes through ImageDecoder.probe and .decode (JPEG and PNG).
        .executableTarget(
            name: "fuzz-images",
            dependencies: [.product(name: "ImageCodecs", package: "Graft")]
        ),
    ]
)
