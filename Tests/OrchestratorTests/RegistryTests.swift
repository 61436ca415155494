import XCTest
import JSONSchema
@testable import Orchestrator

final class RegistryTests: XCTestCase {
    func testArgumentsAreValidatedBeforeTheToolRuns() async throws {
        let probe = ConcurrencyProbe()
        let r = ToolRegistry()
        try r.register(WaitTool(probe: probe))
        do {
            _ = try await r.call("wait", ["ms": "soon"])
            XCTFail("expected a validation error")
        } catch {
            guard case .invalidArguments(_, let errs) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(errs.map(\.description), ["/ms: expected integer, got string"])
        }
        XCTAssertEqual(probe.peak, 0, "the tool never ran")
    }

    func testStructuredOutputIsValidatedAfter() async throws {
        let r = ToolRegistry()
        try r.register(LiarTool())
        _ = try await r.call("liar", ["n": 1])
        do {
            _ = try await r.call("liar", ["n": "one"])
            XCTFail("expected an output error")
        } catch {
            XCTAssertEqual(error.description, "tool 'liar' produced output that does not match its outputSchema: /n: expected integer, got string")
        }
    }

    func testDeadlinesAndUnknownTools() async throws {
        let r = ToolRegistry()
        try r.register(WaitTool(probe: ConcurrencyProbe()))
        do { _ = try await r.call("wait", ["ms": 5000], timeoutMs: 50); XCTFail() } catch {
            XCTAssertEqual(error.status, "timeout")
            XCTAssertEqual(error.description, "tool 'wait' did not finish within its deadline of 50 ms")
        }
        do { _ = try await r.call("wiat", [:]); XCTFail() } catch {
            XCTAssertEqual(error.description, "unknown tool 'wiat'")
        }
    }

    func testNamesMustBeValidForMCPAndOpenAI() throws {
        XCTAssertTrue(ToolDescriptor.isValidName("rag_search-2"))
        XCTAssertFalse(ToolDescriptor.isValidName("rag.search"))
        XCTAssertFalse(ToolDescriptor.isValidName(String(repeating: "a", count: 65)))
        XCTAssertThrowsError(try ToolDescriptor(json: ["name": "a.b", "description": "x", "inputSchema": ["type": "object"]]))
        let r = ToolRegistry()
        try r.register(LiarTool())
        XCTAssertThrowsError(try r.register(LiarTool()), "duplicate names are refused")
    }
}
