import XCTest
import JSONSchema
@testable import Orchestrator

final class JobsTests: XCTestCase {
    func testJobsRunInTheBackgroundAndSurviveARestart() async throws {
        let db = temporaryDirectory().appendingPathComponent("jobs.sqlite").path
        let r = ToolRegistry()
        try r.register(WaitTool(probe: ConcurrencyProbe()))
        let jobs = try JobManager(databasePath: db, registry: r)
        let started = try jobs.start(tool: "wait", arguments: ["ms": 20, "value": "done"])
        XCTAssertEqual(started.status, "running")
        let finished = await jobs.wait(started.id)
        XCTAssertEqual(finished?.status, "succeeded")
        XCTAssertEqual(finished?.result?["value"], "done")

        let long = try jobs.start(tool: "wait", arguments: ["ms": 60000])
        let cancelMe = try jobs.start(tool: "wait", arguments: ["ms": 60000])
        XCTAssertTrue(jobs.cancel(cancelMe.id))
        let cancelled = await jobs.wait(cancelMe.id)
        XCTAssertEqual(cancelled?.status, "cancelled")

        // A new manager on the same file is a restarted server: finished jobs are still there,
        // and the job that was running is reported as interrupted rather than lost.
        let restarted = try JobManager(databasePath: db, registry: r)
        XCTAssertEqual(restarted.get(started.id)?.status, "succeeded")
        XCTAssertEqual(restarted.get(started.id)?.result?["value"], "done")
        XCTAssertEqual(restarted.get(long.id)?.status, "failed")
        XCTAssertTrue(restarted.get(long.id)?.error?.contains("interrupted") ?? false)
        XCTAssertEqual(restarted.list().count, 3)
        _ = jobs.cancel(long.id)
    }

    func testInvalidJobsAreRefusedUpFront() throws {
        let r = ToolRegistry()
        try r.register(WaitTool(probe: ConcurrencyProbe()))
        let jobs = try JobManager(databasePath: ":memory:", registry: r)
        XCTAssertThrowsError(try jobs.start(tool: "wait", arguments: ["ms": -1]))
        XCTAssertThrowsError(try jobs.start(tool: "nope", arguments: [:]))
        XCTAssertTrue(jobs.list().isEmpty)
    }
}
