import XCTest
import JSONSchema
import TestSupport
@testable import Planner

/// Recorded responses in xAI's and OpenAI's documented formats (see Transcripts/README.md),
/// replayed by a real HTTP server on loopback to the real client.
final class TranscriptReplayTests: XCTestCase {
    struct Scenario {
        let name: String
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        let expect: JSONValue
    }

    static func scenarios() throws -> [Scenario] {
        let dir = Bundle.module.url(forResource: "Transcripts", withExtension: nil)!
        let manifest = try JSONParser.parse([UInt8](Data(contentsOf: dir.appendingPathComponent("manifest.json"))))
        return try manifest.arrayValue!.map { e in
            Scenario(name: e["name"]!.stringValue!, status: e["status"]!.intValue!,
                     headers: e["headers"]!.objectValue!.map { ($0.key, $0.value.stringValue!) },
                     body: [UInt8](try Data(contentsOf: dir.appendingPathComponent(e["body"]!.stringValue!))),
                     expect: e["expect"]!)
        }
    }

    /// Serves the body in small pieces, so events and UTF-8 characters are split across reads.
    static func serve(_ s: Scenario, pieces: Int = 7) -> LoopbackHTTPServer.Response {
        let size = max(1, s.body.count / pieces)
        let chunks = stride(from: 0, to: s.body.count, by: size).map { Array(s.body[$0..<min(s.body.count, $0 + size)]) }
        return .init(status: s.status, headers: s.headers, chunks: chunks, chunkDelayMs: 2)
    }

    func model(_ server: LoopbackHTTPServer, retries: Int = 0, key: String? = nil) throws -> OpenAICompatibleModel {
        var c = ProviderConfig.custom(baseURL: server.baseURL, model: "test-model", apiKeyEnv: key == nil ? nil : "TEST_KEY")
        c.maxRetries = retries
        return try OpenAICompatibleModel(config: c, environment: key.map { ["TEST_KEY": $0] } ?? [:])
    }

    func testEveryRecordedScenarioIsReconstructedExactly() async throws {
        for s in try Self.scenarios() {
            let server = try LoopbackHTTPServer { _ in Self.serve(s) }
            defer { server.shutdown() }
            let deltas = DeltaLog()
            do {
                let r = try await model(server).chat(ChatRequest(messages: [.user("hi")])) { deltas.add($0) }
                let e = s.expect
                XCTAssertNil(e["error"], "\(s.name) should have failed")
                XCTAssertEqual(r.content, e["content"]?.stringValue, s.name)
                XCTAssertEqual(deltas.text, r.content, "\(s.name): streamed deltas add up to the content")
                XCTAssertEqual(r.finishReason, e["finishReason"]?.stringValue, s.name)
                let calls = e["toolCalls"]?.arrayValue ?? []
                XCTAssertEqual(r.toolCalls.count, calls.count, s.name)
                for (got, want) in zip(r.toolCalls, calls) {
                    XCTAssertEqual(got.id, want["id"]?.stringValue, s.name)
                    XCTAssertEqual(got.name, want["name"]?.stringValue, s.name)
                    XCTAssertEqual(got.arguments, want["arguments"]?.stringValue, s.name)
                }
                if let u = e["usage"] {
                    XCTAssertEqual(r.usage?.promptTokens, u["promptTokens"]?.intValue, s.name)
                    XCTAssertEqual(r.usage?.completionTokens, u["completionTokens"]?.intValue, s.name)
                    XCTAssertEqual(r.usage?.totalTokens, u["totalTokens"]?.intValue, s.name)
                    XCTAssertEqual(r.usage?.reasoningTokens, u["reasoningTokens"]?.intValue ?? 0, s.name)
                }
            } catch let error as LanguageModelError {
                guard let want = s.expect["error"] else { return XCTFail("\(s.name): \(error)") }
                switch error {
                case .http(let status, let message, _):
                    XCTAssertEqual(status, want["status"]?.intValue, s.name)
                    XCTAssertEqual(message, want["message"]?.stringValue, s.name)
                case .rateLimited(_, _, let message):
                    XCTAssertEqual(want["status"]?.intValue, 429, s.name)
                    XCTAssertEqual(message, want["message"]?.stringValue, s.name)
                default: XCTFail("\(s.name): unexpected \(error)")
                }
            }
        }
    }

    func testRateLimitIsRetriedAfterTheServersRetryAfter() async throws {
        let all = try Self.scenarios()
        let limited = all.first { $0.name == "error_429" }!, ok = all.first { $0.name == "openai_text_stream" }!
        let count = Counter()
        let server = try LoopbackHTTPServer { _ in count.next() == 0 ? Self.serve(limited) : Self.serve(ok) }
        defer { server.shutdown() }
        let start = Date()
        let r = try await model(server, retries: 2).chat(ChatRequest(messages: [.user("hi")])) { _ in }
        XCTAssertEqual(r.content, ok.expect["content"]?.stringValue)
        XCTAssertEqual(server.requests.count, 2)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.9, "waited for retry-after: 1")
    }

    func testServerErrorsAreRetriedWithBackoffThenReported() async throws {
        let server = try LoopbackHTTPServer { _ in .init(status: 503, contentType: "application/json", body: #"{"error":{"message":"overloaded"}}"#) }
        defer { server.shutdown() }
        do {
            _ = try await model(server, retries: 2).chat(ChatRequest(messages: [.user("hi")])) { _ in }
            XCTFail("expected an error")
        } catch let LanguageModelError.http(status, message, _) {
            XCTAssertEqual(status, 503)
            XCTAssertEqual(message, "overloaded")
        }
        XCTAssertEqual(server.requests.count, 3, "one try and two retries")
    }

    func testRequestCarriesToolsChoiceSchemaAndKeyButErrorsNeverTheKey() async throws {
        let secret = "xai-SECRET-0123456789"
        let server = try LoopbackHTTPServer { r in
            // A server that echoes the key in its error must not leak it into our error text.
            .init(status: 401, contentType: "application/json", body: #"{"error":"bad key \#(r.headers["authorization"] ?? "")"}"#)
        }
        defer { server.shutdown() }
        let tool = ToolSpec(name: "rag_search", description: "search", parameters: ["type": "object", "properties": ["query": ["type": "string", "x-grounding": "request"]]])
        let schema: JSONValue = ["type": "object", "properties": ["answer": ["type": "string"]], "required": ["answer"], "additionalProperties": false]
        do {
            _ = try await model(server, key: secret).chat(ChatRequest(messages: [.user("hi")], tools: [tool], toolChoice: .function("rag_search"), responseSchema: schema)) { _ in }
            XCTFail("expected 401")
        } catch {
            XCTAssertFalse("\(error)".contains(secret), "\(error)")
            XCTAssertTrue("\(error)".contains("check the API key"), "\(error)")
        }
        let sent = try JSONParser.parse(server.requests[0].body)
        XCTAssertEqual(server.requests[0].headers["authorization"], "Bearer \(secret)")
        XCTAssertEqual(sent["model"], "test-model")
        XCTAssertEqual(sent["stream"], true)
        XCTAssertEqual(sent["stream_options"]?["include_usage"], true)
        XCTAssertEqual(sent["parallel_tool_calls"], true)
        XCTAssertEqual(sent["tool_choice"]?["function"]?["name"], "rag_search")
        XCTAssertEqual(sent["tools"]?[0]?["function"]?["name"], "rag_search")
        XCTAssertNil(sent["tools"]?[0]?["function"]?["parameters"]?["properties"]?["query"]?["x-grounding"], "our annotations stay ours")
        XCTAssertEqual(sent["response_format"]?["json_schema"]?["strict"], true)
        XCTAssertEqual(sent["response_format"]?["json_schema"]?["schema"], schema)
    }

    func testMissingKeyForAPresetSaysWhichVariableToSet() {
        XCTAssertThrowsError(try OpenAICompatibleModel(config: .xai, environment: [:])) { e in
            XCTAssertTrue("\(e)".contains("XAI_API_KEY"), "\(e)")
        }
    }

    func testCancellingMidStreamEndsTheCallPromptly() async throws {
        let first = Array(#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#.utf8) + Array("\n\n".utf8)
        let server = try LoopbackHTTPServer { _ in .init(headers: [("content-type", "text/event-stream")], chunks: [first], hang: true) }
        defer { server.shutdown() }
        let m = try model(server)
        let started = Expectation()
        let task = Task { try await m.chat(ChatRequest(messages: [.user("hi")])) { _ in started.fulfil() } }
        await started.wait()
        let t0 = Date()
        task.cancel()
        do { _ = try await task.value; XCTFail("expected cancellation") } catch {
            guard case LanguageModelError.cancelled = error else { return XCTFail("\(error)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(t0), 5)
    }

    func testXAIPricesDoubleAboveTheLongContextThreshold() {
        let p = ProviderConfig.xai.prices!
        XCTAssertEqual(p.cost(Usage(promptTokens: 1_000_000, completionTokens: 0)), 6, accuracy: 1e-9)  // > 128k: doubled
        XCTAssertEqual(p.cost(Usage(promptTokens: 100_000, completionTokens: 10_000)), 0.3 + 0.15, accuracy: 1e-9)
        // Reasoning tokens (in xAI's total, not its completion count) are billed as output.
        XCTAssertEqual(p.cost(Usage(promptTokens: 0, completionTokens: 10, reasoningTokens: 90, totalTokens: 100)), 100 * 15 / 1e6, accuracy: 1e-12)
    }
}

final class DeltaLog: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func add(_ d: ChatDelta) { if case .content(let s) = d { lock.withLock { parts.append(s) } } }
    var text: String { lock.withLock { parts.joined() } }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int { lock.withLock { defer { n += 1 }; return n } }
}

/// A one-shot signal between a callback and a test.
final class Expectation: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    func fulfil() {
        let w: [CheckedContinuation<Void, Never>] = lock.withLock {
            if done { return [] }
            done = true
            defer { waiters = [] }
            return waiters
        }
        w.forEach { $0.resume() }
    }
    func wait() async {
        await withCheckedContinuation { k in
            let now = lock.withLock { () -> Bool in if done { return true }; waiters.append(k); return false }
            if now { k.resume() }
        }
    }
}
