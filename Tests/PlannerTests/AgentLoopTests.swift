import XCTest
import JSONSchema
import Orchestrator
import TestSupport
@testable import Planner

/// The planner loop against a real HTTP model server on loopback that plays a script: each model
/// turn is answered with the next response, in OpenAI's streaming format.
final class AgentLoopTests: XCTestCase {
    enum Turn {
        case calls([(String, String)])  // (tool name, raw arguments)
        case text(String)
        case usage(String, prompt: Int, completion: Int)
    }

    static func sse(_ turn: Turn) -> LoopbackHTTPServer.Response {
        var events: [JSONValue] = []
        var usage: JSONValue = .null
        switch turn {
        case .calls(let calls):
            for (i, c) in calls.enumerated() {
                let id = "call_\(i)_\(c.0)"
                events.append(["choices": [["index": 0, "delta": ["tool_calls": [["index": JSONValue(i), "id": .string(id), "type": "function", "function": ["name": .string(c.0), "arguments": ""]]]]]]])
                // Arguments in two fragments, split mid-text.
                let mid = c.1.index(c.1.startIndex, offsetBy: c.1.count / 2)
                for part in [String(c.1[..<mid]), String(c.1[mid...])] {
                    events.append(["choices": [["index": 0, "delta": ["tool_calls": [["index": JSONValue(i), "function": ["arguments": .string(part)]]]]]]])
                }
            }
            events.append(["choices": [["index": 0, "delta": [:], "finish_reason": "tool_calls"]]])
        case .text(let t):
            events.append(["choices": [["index": 0, "delta": ["role": "assistant", "content": .string(t)]]]])
            events.append(["choices": [["index": 0, "delta": [:], "finish_reason": "stop"]]])
        case .usage(let t, let p, let c):
            events.append(["choices": [["index": 0, "delta": ["content": .string(t)], "finish_reason": "stop"]]])
            usage = ["prompt_tokens": JSONValue(p), "completion_tokens": JSONValue(c), "total_tokens": JSONValue(p + c)]
        }
        if !usage.isNull { events.append(["choices": [], "usage": usage]) }
        let body = events.map { "data: \(JSONWriter.string($0))\n\n" }.joined() + "data: [DONE]\n\n"
        return .init(headers: [("content-type", "text/event-stream")], chunks: [Array(body.utf8)])
    }

    /// A server that plays `script` turn by turn (the last turn repeats).
    func scripted(_ script: [Turn]) throws -> LoopbackHTTPServer {
        let n = Counter()
        return try LoopbackHTTPServer { _ in Self.sse(script[min(n.next(), script.count - 1)]) }
    }

    func registry() throws -> ToolRegistry {
        let r = ToolRegistry(roots: [FileManager.default.temporaryDirectory])
        try r.register(SleepTool())
        try r.register(EchoTool())
        try r.register(FailTool())
        return r
    }

    func agent(_ server: LoopbackHTTPServer, _ configure: (inout AgentOptions) -> Void = { _ in }, prices: PriceTable? = nil) throws -> Agent {
        var c = ProviderConfig.custom(baseURL: server.baseURL, model: "scripted")
        c.prices = prices
        c.maxRetries = 0
        var o = AgentOptions()
        configure(&o)
        return Agent(model: try OpenAICompatibleModel(config: c, environment: [:]), registry: try registry(), options: o)
    }

    /// The messages the model received on turn `i` (0-based).
    func sent(_ server: LoopbackHTTPServer, _ i: Int) throws -> [JSONValue] {
        try JSONParser.parse(server.requests[i].body)["messages"]!.arrayValue!
    }

    func testParallelCallsOverlapAndTheirResultsReturnToTheModel() async throws {
        let server = try scripted([.calls([("sleep", #"{"ms":400}"#), ("sleep", #"{"ms":400}"#)]), .text("Both done.")])
        defer { server.shutdown() }
        let events = EventLog()
        let r = try await agent(server).run(prompt: "wait twice") { events.add($0) }
        XCTAssertEqual(r.stopReason, .answered)
        XCTAssertEqual(r.answer, "Both done.")
        let calls = r.trace.turns[0].calls
        XCTAssertEqual(calls.map(\.status), ["ok", "ok"])
        let (a, b) = (calls[0], calls[1])
        XCTAssertLessThan(max(a.startedMs, b.startedMs), min(a.startedMs + a.durationMs, b.startedMs + b.durationMs), "the calls ran at the same time")
        let second = try sent(server, 1)
        let toolMessages = second.filter { $0["role"] == "tool" }
        XCTAssertEqual(toolMessages.compactMap { $0["tool_call_id"]?.stringValue }, ["call_0_sleep", "call_1_sleep"])
        XCTAssertTrue(toolMessages[0]["content"]!.stringValue!.hasPrefix("<tool_result name=\"sleep\" status=\"ok\">"), "results are fenced as data")
        XCTAssertEqual(second.first { $0["role"] == "assistant" }?["tool_calls"]?.arrayValue?.count, 2)
        XCTAssertEqual(events.kinds.filter { $0 == "call_started" }.count, 2)
        XCTAssertTrue(events.kinds.contains("plan"))
    }

    func testAFailingCallDoesNotSinkTheOthers() async throws {
        let server = try scripted([.calls([("fail", "{}"), ("echo", #"{"text":"still here"}"#)]), .text("One failed.")])
        defer { server.shutdown() }
        let r = try await agent(server).run(prompt: "go")
        XCTAssertEqual(r.trace.turns[0].calls.map(\.status), ["error", "ok"])
        XCTAssertEqual(r.trace.turns[0].calls[1].result, ["echo": "still here"])
        XCTAssertEqual(r.stopReason, .answered)
    }

    func testTheModelCorrectsItselfAfterAValidationError() async throws {
        let server = try scripted([.calls([("echo", #"{"text":5}"#)]), .calls([("echo", #"{"text":"five"}"#)]), .text("ok")])
        defer { server.shutdown() }
        let r = try await agent(server).run(prompt: "echo five")
        XCTAssertEqual(r.trace.turns.map { $0.calls.first?.status }, ["invalid", "ok", nil])
        let feedback = try sent(server, 1).last!["content"]!.stringValue!
        XCTAssertTrue(feedback.contains("/text"), "the error names the argument by JSON pointer: \(feedback)")
        XCTAssertEqual(r.stopReason, .answered)
    }

    func testArgumentsThatAreNotJSONAreReportedToTheModel() async throws {
        let server = try scripted([.calls([("echo", #"{"text": "unterminated"#)]), .text("sorry")])
        defer { server.shutdown() }
        let r = try await agent(server).run(prompt: "x")
        XCTAssertEqual(r.trace.turns[0].calls[0].status, "invalid")
        XCTAssertTrue(r.trace.turns[0].calls[0].error!.contains("not valid JSON"))
    }

    func testTurnLimitEndsTheRunWithItsReason() async throws {
        let server = try scripted([.calls([("echo", #"{"text":"again"}"#)])])
        defer { server.shutdown() }
        let r = try await agent(server) { $0.maxTurns = 3 }.run(prompt: "loop")
        XCTAssertEqual(r.stopReason, .maxTurns)
        XCTAssertEqual(r.trace.turns.count, 3)
        XCTAssertTrue(r.answer.contains("3 model turns"), r.answer)
    }

    func testToolCallBudgetRunsWhatFitsAndStops() async throws {
        let server = try scripted([.calls([("echo", #"{"text":"a"}"#), ("echo", #"{"text":"b"}"#), ("echo", #"{"text":"c"}"#)])])
        defer { server.shutdown() }
        let r = try await agent(server) { $0.maxToolCalls = 2 }.run(prompt: "x")
        XCTAssertEqual(r.stopReason, .maxToolCalls)
        XCTAssertEqual(r.trace.turns[0].calls.count, 2)
    }

    func testTokenBudget() async throws {
        let server = try scripted([.usage("thinking…", prompt: 900, completion: 200), .text("never")])
        defer { server.shutdown() }
        // A text answer ends the run, so use a tool turn to continue: budget applies after each turn.
        let r = try await agent(server) { $0.maxTokens = 1000 }.run(prompt: "x")
        XCTAssertEqual(r.trace.usage.totalTokens, 1100)
        XCTAssertEqual(r.stopReason, .answered, "an answer within the turn that crossed the budget is still returned")
        let server2 = try scripted([.calls([("echo", #"{"text":"a"}"#)])])
        defer { server2.shutdown() }
        let r2 = try await agent(server2) { $0.maxTokens = 10 }.run(prompt: "x")
        XCTAssertEqual(r2.stopReason, .tokenBudget)
    }

    func testCostBudgetStopsBeforeSpendingMore() async throws {
        let server = try scripted([.calls([("echo", #"{"text":"a"}"#)])])
        defer { server.shutdown() }
        let expensive = PriceTable(inputPerMillion: 1_000_000, outputPerMillion: 1_000_000)
        let r = try await agent(server, { $0.maxCostUSD = 0.01 }, prices: expensive).run(prompt: "x")
        XCTAssertEqual(r.stopReason, .costBudget)
        XCTAssertEqual(server.requests.count, 0, "the first turn alone would exceed the budget")
    }

    func testPerCallTimeoutAndOverallDeadline() async throws {
        let server = try scripted([.calls([("sleep", #"{"ms":3000}"#)]), .text("gave up")])
        defer { server.shutdown() }
        let r = try await agent(server) { $0.callTimeoutMs = 100 }.run(prompt: "x")
        XCTAssertEqual(r.trace.turns[0].calls[0].status, "timeout")
        XCTAssertEqual(r.stopReason, .answered)

        let server2 = try scripted([.calls([("sleep", #"{"ms":5000}"#)]), .text("late")])
        defer { server2.shutdown() }
        let t0 = Date()
        let r2 = try await agent(server2) { $0.deadline = Date().addingTimeInterval(0.3) }.run(prompt: "x")
        XCTAssertEqual(r2.stopReason, .deadline)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 3)
    }

    func testCancellingTheRunMidStream() async throws {
        let first = Array(#"data: {"choices":[{"index":0,"delta":{"content":"Let me"}}]}"#.utf8) + Array("\n\n".utf8)
        let server = try LoopbackHTTPServer { _ in .init(headers: [("content-type", "text/event-stream")], chunks: [first], hang: true) }
        defer { server.shutdown() }
        let a = try agent(server)
        let streaming = Expectation()
        let task = Task { await a.run(prompt: "x") { if case .delta = $0 { streaming.fulfil() } } }
        await streaming.wait()
        task.cancel()
        let r = await task.value
        XCTAssertEqual(r.stopReason, .cancelled)
    }

    func testResponseSchemaIsRepairedUntilTheAnswerValidates() async throws {
        let server = try scripted([.text("The answer is 42"), .text("```json\n{\"answer\": 42}\n```")])
        defer { server.shutdown() }
        let schema: JSONValue = ["type": "object", "properties": ["answer": ["type": "integer"]], "required": ["answer"], "additionalProperties": false]
        let r = try await agent(server) { $0.responseSchema = schema }.run(prompt: "x")
        XCTAssertEqual(r.stopReason, .answered)
        XCTAssertEqual(r.structured, ["answer": 42])
        XCTAssertTrue(try sent(server, 1).last!["content"]!.stringValue!.contains("not JSON"))

        let stubborn = try scripted([.text("no")])
        defer { stubborn.shutdown() }
        let r2 = try await agent(stubborn) { $0.responseSchema = schema; $0.maxRepairs = 1 }.run(prompt: "x")
        XCTAssertEqual(r2.stopReason, .invalidAnswer)
    }

    func testLargeResultsAreTruncatedWithAHandleTheModelCanPage() async throws {
        let big = String(repeating: "0123456789", count: 50)
        let server = try scripted([.calls([("echo", "{\"text\":\"\(big)\"}")]), .calls([("result_page", #"{"handle":"r_call_0_echo","offset":100,"length":20}"#)]), .text("read it")])
        defer { server.shutdown() }
        let r = try await agent(server) { $0.maxResultChars = 100 }.run(prompt: "x")
        let firstResult = try sent(server, 1).last!["content"]!.stringValue!
        XCTAssertTrue(firstResult.contains("r_call_0_echo"), firstResult)
        let offered = try JSONParser.parse(server.requests[1].body)["tools"]!.arrayValue!.compactMap { $0["function"]?["name"]?.stringValue }
        XCTAssertTrue(offered.contains("result_page"))
        XCTAssertEqual(r.trace.turns[1].calls[0].status, "ok")
        XCTAssertTrue(try sent(server, 2).last!["content"]!.stringValue!.contains("0123456789012345678"))
    }

    func testDryRunReturnsThePlanWithoutRunningIt() async throws {
        let server = try scripted([.calls([("fail", "{}"), ("echo", #"{"text":1}"#)])])
        defer { server.shutdown() }
        let r = try await agent(server) { $0.dryRun = true }.run(prompt: "x")
        XCTAssertEqual(r.stopReason, .dryRun)
        XCTAssertEqual(r.trace.turns[0].calls.map(\.status), ["planned", "invalid"])
    }

    func testAllowListLimitsTheToolsOffered() async throws {
        let server = try scripted([.calls([("fail", "{}")]), .text("ok")])
        defer { server.shutdown() }
        let r = try await agent(server) { $0.allowedTools = ["echo"] }.run(prompt: "x")
        let offered = try JSONParser.parse(server.requests[0].body)["tools"]!.arrayValue!.compactMap { $0["function"]?["name"]?.stringValue }
        XCTAssertEqual(offered, ["echo"])
        XCTAssertEqual(r.trace.turns[0].calls[0].status, "invalid", "a tool outside the allow-list is refused")
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [AgentEvent] = []
    func add(_ e: AgentEvent) { lock.withLock { events.append(e) } }
    var kinds: [String] { lock.withLock { events.compactMap { $0.json["event"]?.stringValue } } }
}

struct SleepTool: Tool {
    let descriptor = try! ToolDescriptor(json: ["name": "sleep", "description": "waits", "inputSchema": ["type": "object", "properties": ["ms": ["type": "integer", "minimum": 0]], "required": ["ms"]]])
    func run(_ a: JSONValue, context: ToolContext) async throws -> ToolOutput {
        try await Task.sleep(nanoseconds: UInt64(a["ms"]!.intValue!) * 1_000_000)
        return ToolOutput(text: "slept")
    }
}

struct EchoTool: Tool {
    let descriptor = try! ToolDescriptor(json: ["name": "echo", "description": "echoes text", "inputSchema": ["type": "object", "properties": ["text": ["type": "string"]], "required": ["text"], "additionalProperties": false]])
    func run(_ a: JSONValue, context: ToolContext) async throws -> ToolOutput {
        ToolOutput(structured: ["echo": a["text"]!], text: a["text"]!.stringValue!)
    }
}

struct FailTool: Tool {
    let descriptor = try! ToolDescriptor(json: ["name": "fail", "description": "always fails", "inputSchema": ["type": "object"]])
    func run(_ a: JSONValue, context: ToolContext) async throws -> ToolOutput { throw ToolError.failed("the disk is on fire") }
}
