// swift-tools-version: 6.0
// A package that uses Graft as a dependency, as an application would: no unsafe flags and
// no LD_LIBRARY_PATH. `scripts/setup.sh` installs libtorch and its pkg-config file and,
// as root, registers libtorch's lib folder with the dynamic linker (see README-section.md).
import PackageDescription

let package = Package(
    name: "Consumer",
    dependencies: [
        // An application would write `.package(url: "https://github.com/<owner>/graft", branch: "main")`.
        .package(name: "Graft", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "consumer",
            dependencies: [.product(name: "Graft", package: "Graft")]
        ),
    ]
)
