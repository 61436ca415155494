import Foundation
import XCTest
import JSONSchema
import TestSupport

/// `atelier ask` and `agent/run` end to end with the real binary: offline with the router planner,
/// and against a real llama.cpp server (xllamacpp serving SmolLM2) on loopback.
final class AgentTests: XCTestCase {
    /// A workspace with documents and a config whose roots and retrieval store are inside it.
    func workspace() throws -> (dir: URL, config: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-agent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("docs"), withIntermediateDirectories: true)
        try "# Handbook\n\n## Vacation\nEmployees get 25 vacation days per year; unused days carry over until March.\n\n## Expenses\nSubmit receipts within 30 days.\n"
            .write(to: dir.appendingPathComponent("docs/handbook.md"), atomically: true, encoding: .utf8)
        try "Deploy with `make release`, then restart the service.\n".write(to: dir.appendingPathComponent("docs/deploy.md"), atomically: true, encoding: .utf8)
        let config = dir.appendingPathComponent("atelier.yaml")
        try "roots: [\(dir.path)]\nragDatabase: rag.sqlite\n".write(to: config, atomically: true, encoding: .utf8)
        return (dir, config.path)
    }

    func testAskOfflineIndexesThenAnswersWithCitations() throws {
        let (_, config) = try workspace()
        let (status, out, err) = try runAtelier(["ask", "index ./docs then search it for how many vacation days employees get", "--config", config, "--json"])
        XCTAssertEqual(status, 0, err)
        let r = try JSONParser.parse(out)
        XCTAssertEqual(r["stopReason"], "answered")
        let turns = r["trace"]?["turns"]?.arrayValue ?? []
        XCTAssertEqual(turns.compactMap { $0["calls"]?[0]?["name"]?.stringValue }, ["rag_ingest", "rag_search"])
        XCTAssertEqual(turns[0]["calls"]?[0]?["status"], "ok")
        XCTAssertEqual(turns[1]["calls"]?[0]?["arguments"]?["query"], "how many vacation days employees get")
        let answer = r["answer"]?.stringValue ?? ""
        XCTAssertTrue(answer.contains("handbook.md") && answer.contains("25 vacation days"), answer)
        XCTAssertNotNil(turns[1]["calls"]?[0]?["durationMs"]?.doubleValue)
    }

    func testAskOfflineWritesAnAnswerThatValidatesAgainstTheResponseSchema() throws {
        let (_, config) = try workspace()
        let schema = #"{"type":"object","additionalProperties":false,"required":["answer","sources"],"properties":{"answer":{"type":"string"},"sources":{"type":"array","items":{"type":"string"},"minItems":1}}}"#
        let (status, out, err) = try runAtelier(["ask", "index ./docs then search it for how many vacation days employees get",
                                                 "--config", config, "--response-schema", schema, "--json"])
        XCTAssertEqual(status, 0, err)
        let r = try JSONParser.parse(out)
        XCTAssertEqual(r["stopReason"], "answered", out)
        let structured = try XCTUnwrap(r["structured"])
        XCTAssertTrue(try Schema(JSONParser.parse(schema)).validate(structured).valid)
        XCTAssertTrue(structured["sources"]?[0]?.stringValue?.hasSuffix("handbook.md") == true, "\(structured)")
        XCTAssertTrue(structured["answer"]?.stringValue?.contains("25 vacation days") == true, "\(structured)")

        // A field no tool returns is refused with its name, not made up.
        let strict = #"{"type":"object","required":["confidence"],"properties":{"confidence":{"type":"number"}}}"#
        let (_, out2, _) = try runAtelier(["ask", "search the docs for vacation days", "--config", config, "--response-schema", strict, "--json"])
        let r2 = try JSONParser.parse(out2)
        XCTAssertNotEqual(r2["stopReason"], "answered")
        XCTAssertTrue(r2["error"]?.stringValue?.contains("/confidence") == true, out2)
    }

    func testAskDryRunPlansWithoutRunning() throws {
        let (dir, config) = try workspace()
        let (status, out, err) = try runAtelier(["ask", "index the folder docs", "--config", config, "--dry-run", "--json"])
        XCTAssertEqual(status, 0, err)
        let r = try JSONParser.parse(out)
        XCTAssertEqual(r["stopReason"], "dry_run")
        XCTAssertEqual(r["trace"]?["turns"]?[0]?["calls"]?[0]?["status"], "planned")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("rag.sqlite").path), "nothing ran")
    }

    func testARemoteProviderWithoutAKeySaysWhatToSet() throws {
        let (status, out, err) = try runAtelier(["ask", "hi", "--provider", "xai"], removing: ["XAI_API_KEY"])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(out.isEmpty)
        XCTAssertTrue(err.contains("XAI_API_KEY"), err)
    }

    func testAgentRunOverStdioStreamsEventsAndReturnsTheTrace() throws {
        let (_, config) = try workspace()
        let s = try ServerProcess(["serve", "--stdio", "--config", config])
        s.send(#"{"jsonrpc":"2.0","id":1,"method":"agent/run","params":{"prompt":"read docs/deploy.md","_meta":{"progressToken":"p"}}}"#)
        let msgs = s.read(until: 1)
        let events = msgs.filter { $0["method"] == "agent/event" }.compactMap { $0["params"]?["event"]?.stringValue }
        XCTAssertTrue(events.contains("plan") && events.contains("call_started") && events.contains("call_finished"), "\(events)")
        XCTAssertFalse(msgs.filter { $0["method"] == "notifications/progress" }.isEmpty)
        let result = msgs.last?["result"]
        XCTAssertEqual(result?["stopReason"], "answered")
        XCTAssertTrue(result?["answer"]?.stringValue?.contains("make release") ?? false, "\(String(describing: result))")
        s.send(#"{"jsonrpc":"2.0","id":2,"method":"agent/run","params":{"prompt":"x","maxTurns":0}}"#)
        XCTAssertEqual(s.read(until: 2).last?["error"]?["code"], -32602)
        s.send(#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ask","arguments":{"prompt":"read docs/deploy.md"}}}"#)
        let ask = s.read(until: 3).last?["result"]
        XCTAssertEqual(ask?["isError"], false)
        XCTAssertEqual(ask?["structuredContent"]?["trace"]?["turns"]?[0]?["calls"]?[0]?["name"], "fs_read")
        s.closeInput()
        XCTAssertEqual(s.waitForExit(), 0)
    }
}
