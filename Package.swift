// swift-tools-version:6.0
import PackageDescription

// Numeric modules: optimised in every configuration, and without dynamic exclusivity checks (each
// access to a tensor's storage in a hot loop otherwise pays for a runtime check and a retain).
let optimizedAlways: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug)), .unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "Atelier",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "atelier", targets: ["atelier"]),
        .library(name: "JSONSchema", targets: ["JSONSchema"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .target(name: "JSONSchema", linkerSettings: [.linkedLibrary("_FoundationICU", .when(platforms: [.linux]))]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),
        // Numeric code is optimised even in debug builds: unoptimised it is ~30× slower, which makes
        // the test suite (real models, real ingests) slow for no benefit.
        .target(name: "Neural", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimizedAlways),
        // Hand-written SIMD kernels with run-time CPU dispatch (AVX2+FMA where present), optimised in
        // every configuration.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Text", dependencies: ["Neural", "CZlib"], swiftSettings: optimizedAlways),
        .target(name: "Diffusion", dependencies: ["Neural", "Text", "CZlib"], swiftSettings: optimizedAlways),
        .systemLibrary(name: "CTesseract", path: "Sources/CTesseract", providers: [.apt(["libtesseract-dev", "libleptonica-dev"])]),
        // Layout analysis walks every pixel of a page: optimised even in debug builds.
        .target(name: "Documents", dependencies: ["CTesseract"], swiftSettings: optimizedAlways),
        .systemLibrary(name: "CTreeSitter", path: "Sources/CTreeSitter", providers: [.apt(["libtree-sitter-dev"])]),
        .target(name: "CodeAnalysis", dependencies: ["CTreeSitter", "Storage"], swiftSettings: optimizedAlways),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "RPC", dependencies: [
            "JSONSchema",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .target(name: "MCP", dependencies: ["RPC", "JSONSchema", "Orchestrator", "Planner"]),
        .target(name: "Storage", dependencies: ["CSQLite"]),
        .target(name: "Planner", dependencies: ["JSONSchema", "Text", "Neural", "CKernels"], swiftSettings: optimizedAlways),
        .target(name: "Orchestrator", dependencies: ["JSONSchema", "Storage", "Planner"]),
        .target(name: "Retrieval", dependencies: ["Storage", "Text", "Neural", "CBLAS", "CKernels", "Documents"], swiftSettings: optimizedAlways),
        .target(name: "Tools", dependencies: ["Orchestrator", "Planner", "JSONSchema", "Retrieval", "Text", "Documents", "CodeAnalysis", "Diffusion", "Yams"]),
        .executableTarget(name: "atelier", dependencies: [
            "JSONSchema", "RPC", "MCP", "Orchestrator", "Planner", "Tools", "Neural", "Text", "Retrieval", "Documents", "CodeAnalysis", "Diffusion", "Storage",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TestSupport", dependencies: [
            "RPC", "JSONSchema",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "JSONSchemaTests", dependencies: ["JSONSchema"]),
        .testTarget(name: "NeuralTests", dependencies: ["Neural", "CKernels"], resources: [.copy("Goldens")]),
        .testTarget(name: "TextTests", dependencies: ["Text", "Neural"], resources: [.copy("Goldens")]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Text", "Neural"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DocumentsTests", dependencies: ["Documents"]),
        .testTarget(name: "CodeAnalysisTests", dependencies: ["CodeAnalysis"]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "Text", "Storage", "CKernels"]),
        .testTarget(name: "RPCTests", dependencies: ["RPC", "JSONSchema", "TestSupport"], resources: [.copy("Corpus")]),
        .testTarget(name: "MCPTests", dependencies: ["MCP", "RPC", "Orchestrator", "Tools", "TestSupport"]),
        .testTarget(name: "PlannerTests", dependencies: ["Planner", "Orchestrator", "Tools", "Text", "Neural", "JSONSchema", "TestSupport", "CKernels"],
                    resources: [.copy("Transcripts"), .copy("Goldens")]),
        .testTarget(name: "OrchestratorTests", dependencies: ["Orchestrator", "Tools", "JSONSchema", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["JSONSchema", "RPC", "TestSupport", "Storage"]),
    ]
)
