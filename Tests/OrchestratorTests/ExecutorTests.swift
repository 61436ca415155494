import XCTest
import JSONSchema
@testable import Orchestrator

final class ExecutorTests: XCTestCase {
    func registry(_ probe: ConcurrencyProbe) throws -> ToolRegistry {
        let r = ToolRegistry()
        try r.register(WaitTool(probe: probe))
        return r
    }

    func plan(_ text: String) throws -> Plan { try Plan(json: try JSONParser.parse(text)) }

    func testIndependentCallsRunConcurrentlyUpToMaxParallel() async throws {
        let probe = ConcurrencyProbe()
        let calls = (0..<8).map { #"{"id":"c\#($0)","name":"wait","arguments":{"ms":100,"value":\#($0)}}"# }.joined(separator: ",")
        let results = await Executor(registry: try registry(probe)).run(try plan(#"{"calls":[\#(calls)],"maxParallel":4}"#))
        XCTAssertEqual(results.map(\.id), (0..<8).map { "c\($0)" }, "results come back in call order")
        XCTAssertTrue(results.allSatisfy { $0.status == "ok" })
        XCTAssertEqual(probe.peak, 4)
    }

    func testOneFailureNeverFailsTheOthers() async throws {
        let results = await Executor(registry: try registry(ConcurrencyProbe())).run(try plan(#"""
        {"calls":[{"id":"a","name":"wait","arguments":{"fail":true}},{"id":"b","name":"wait","arguments":{"value":2}},
                  {"id":"c","name":"nope","arguments":{}},{"id":"d","name":"wait","arguments":{"ms":"x"}},
                  {"id":"e","name":"wait","arguments":{"ms":3000}}],"timeoutMs":100}
        """#))
        XCTAssertEqual(results.map(\.status), ["error", "ok", "error", "error", "timeout"])
        XCTAssertEqual(results[0].error, "asked to fail")
        XCTAssertEqual(results[1].output?.structured?["value"], 2)
        XCTAssertEqual(results[3].error, "invalid arguments for 'wait': /ms: expected integer, got string")
    }

    func testOutputsFlowAlongTheDAG() async throws {
        let probe = ConcurrencyProbe()
        let results = await Executor(registry: try registry(probe)).run(try plan(#"""
        {"calls":[
          {"id":"sum","name":"wait","arguments":{"value":[{"$from":"x","pointer":"/value"},{"$from":"y","pointer":"/value/k"}]}},
          {"id":"x","name":"wait","arguments":{"ms":50,"value":1}},
          {"id":"y","name":"wait","arguments":{"ms":50,"value":{"k":"two"}}},
          {"id":"bad","name":"wait","arguments":{"fail":true}},
          {"id":"after-bad","name":"wait","arguments":{"value":{"$from":"bad"}}}]}
        """#))
        XCTAssertEqual(results[0].output?.structured?["value"], [1, "two"])
        XCTAssertGreaterThanOrEqual(probe.peak, 2, "independent branches x and y ran in parallel")
        XCTAssertEqual(results[4].status, "skipped")
        XCTAssertEqual(results[4].error, "skipped: call 'bad' it depends on ended with status 'error'")
    }

    func testBadPlansAreRejectedBeforeAnythingRuns() throws {
        XCTAssertThrowsError(try plan(#"{"calls":[{"id":"a","name":"wait","arguments":{"value":{"$from":"b"}}},{"id":"b","name":"wait","arguments":{"value":{"$from":"a"}}}]}"#)) {
            XCTAssertEqual("\($0)", "the calls 'a' → 'b' → 'a' depend on each other in a cycle")
        }
        XCTAssertThrowsError(try plan(#"{"calls":[{"id":"a","name":"wait","arguments":{"value":{"$from":"ghost"}}}]}"#)) {
            XCTAssertEqual("\($0)", "call 'a' uses the output of 'ghost', which is not a call in this plan")
        }
        XCTAssertThrowsError(try plan(#"{"calls":[{"id":"a","name":"wait"},{"id":"a","name":"wait"}]}"#))
        XCTAssertThrowsError(try plan(#"{"calls":[{"id":"a","name":"wait","arguments":{"value":{"$from":"a"}}}]}"#), "a self-reference is a cycle")
        XCTAssertThrowsError(try plan(#"{"calls":[],"maxParallel":0}"#))
    }

    func testCancellingThePlanCancelsItsCalls() async throws {
        let probe = ConcurrencyProbe()
        let ex = Executor(registry: try registry(probe))
        let p = try plan(#"{"calls":[{"id":"a","name":"wait","arguments":{"ms":10000}},{"id":"b","name":"wait","arguments":{"ms":10000}}]}"#)
        let task = Task { await ex.run(p) }
        try await Task.sleep(nanoseconds: 50_000_000)
        task.cancel()
        let results = await task.value
        XCTAssertEqual(results.map(\.status), ["cancelled", "cancelled"])
    }
}
