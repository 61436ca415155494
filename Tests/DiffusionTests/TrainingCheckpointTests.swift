import XCTest
import Neural
@testable import Diffusion

/// Checkpoints are whole or absent: `latest` only ever names a complete one, a write that dies half-way
/// leaves the previous one in place, and old ones are pruned to the limit.
final class TrainingCheckpointTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoints-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func state(_ step: Int) -> TrainingState {
        TrainingState(step: step, rng: NumPyRandom(seed: UInt32(step)), dataCursor: step * 2, configDigest: "abc", lastLoss: step == 2 ? nil : 0.5)
    }

    func testWriteReadPruneAndLatest() throws {
        let store = TrainingCheckpoint(outputDir: dir)
        XCTAssertNil(store.latest)
        for step in [2, 4, 6] {
            try store.write(trainable: ["w": Tensor(shape: [2], data: [Float(step), 1])], optimizer: ["m.w": Tensor(shape: [2], data: [0, 0])],
                            state: state(step), totalLimit: 2)
        }
        XCTAssertEqual(store.steps, [4, 6])
        let latest = try XCTUnwrap(store.latest)
        let read = try TrainingCheckpoint.read(latest)
        XCTAssertEqual(read.state, state(6))
        XCTAssertEqual(read.trainable["w"]?.data, [6, 1])
    }

    func testAWriteKilledHalfWayLeavesTheLastCompleteCheckpointAsLatest() throws {
        let store = TrainingCheckpoint(outputDir: dir)
        try store.write(trainable: ["w": Tensor(shape: [1], data: [1])], optimizer: [:], state: state(3), totalLimit: nil)
        // What a process killed mid-write leaves: a staging folder with part of the files.
        let staging = dir + "/checkpoints/.checkpoint-6.partial-99999"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: staging + "/trainable.safetensors"))
        XCTAssertEqual(store.latest.map { URL(fileURLWithPath: $0).lastPathComponent }, "checkpoint-3")
        XCTAssertEqual(store.steps, [3])
        // A `latest` that names a folder without its state is not trusted.
        try Data("checkpoint-9".utf8).write(to: URL(fileURLWithPath: dir + "/checkpoints/latest"))
        XCTAssertNil(store.latest)
    }

    func testADiskThatFillsDuringAWriteKeepsThePreviousCheckpoint() throws {
        let store = TrainingCheckpoint(outputDir: dir)
        try store.write(trainable: ["w": Tensor(shape: [4], data: [1, 2, 3, 4])], optimizer: [:], state: state(3), totalLimit: 1)
        // A file-size limit makes writes past 64 KiB fail as a full disk would (EFBIG instead of ENOSPC).
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        var limit = saved
        limit.rlim_cur = 64 << 10
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        let big = Tensor(shape: [100_000], data: [Float](repeating: 0.5, count: 100_000))
        XCTAssertThrowsError(try store.write(trainable: ["w": big], optimizer: [:], state: state(6), totalLimit: 1)) { error in
            XCTAssert("\(error)".contains("previous checkpoint is intact") || "\(error)".contains("checkpoint"), "\(error)")
        }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, oldHandler)
        XCTAssertEqual(store.latest.map { URL(fileURLWithPath: $0).lastPathComponent }, "checkpoint-3")
        XCTAssertEqual(try TrainingCheckpoint.read(XCTUnwrap(store.latest)).trainable["w"]?.data, [1, 2, 3, 4])
        XCTAssertEqual(store.steps, [3], "neither the partial checkpoint nor pruning touched the good one")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints").filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "the staging folder is removed")
    }

    func testTrainingImagesAreResizedAndCropped() throws {
        // 6×4 → shorter side 2: 3×2, then a 2×2 centre crop.
        let src = Tensor(shape: [3, 4, 6], data: (0..<72).map { Float($0 % 24) / 24 })
        let small = TrainingImages.resizeShorterSide(src, to: 2)
        XCTAssertEqual(small.shape, [3, 2, 3])
        let crop = TrainingImages.crop(small, resolution: 2)
        XCTAssertEqual(crop.shape, [3, 2, 2])
        let flipped = TrainingImages.crop(small, resolution: 2, flip: true)
        XCTAssertEqual(flipped.data[0], crop.data[1])
        let big = TrainingImages.resizeShorterSide(src, to: 8)
        XCTAssertEqual(big.shape, [3, 8, 12])
    }
}
