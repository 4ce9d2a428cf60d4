// swift-tools-version:6.0
// pici: a minimal CI whose jobs run as zmx sessions, built as a pipeline of small filters.
// PiciKit holds all logic and imports only Glibc, so each filter starts in a few milliseconds.
import PackageDescription

let tools = ["pici-list", "pici-group", "pici-stage", "pici-publish", "pici-run", "pici-status"]

let package = Package(
    name: "pici",
    products: tools.map { .executable(name: $0, targets: [$0]) }
        + [.library(name: "PiciKit", targets: ["PiciKit"])],
    targets: [
        .target(name: "PiciKit"),
        .testTarget(name: "PiciKitTests", dependencies: ["PiciKit"], exclude: ["Golden"]),
    ] + tools.map { .executableTarget(name: $0, dependencies: ["PiciKit"]) },
    swiftLanguageModes: [.v5]
)
