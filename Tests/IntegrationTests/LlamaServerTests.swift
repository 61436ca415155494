import Foundation
import XCTest
import JSONSchema
import TestSupport

/// The planner loop against a real OpenAI-compatible server: llama.cpp (the `xllamacpp` wheel)
/// serving SmolLM2-135M-Instruct on loopback, started by the test. The bootstrap installs both.
final class LlamaServerTests: XCTestCase {
    static let model = (ProcessInfo.processInfo.environment["ATELIER_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
        ?? ((ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? NSHomeDirectory() + "/.cache") + "/atelier/models"))
        + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"

    final class LlamaServer {
        let process = Process()
        let stdin = Pipe()
        let port: Int

        init() throws {
            let python = Repository.root.appendingPathComponent(".venv/bin/python").path
            guard FileManager.default.fileExists(atPath: python), FileManager.default.fileExists(atPath: LlamaServerTests.model) else {
                throw XCTSkip("run `make test` (or tools/bootstrap.sh) first: it installs xllamacpp and the SmolLM2 GGUF")
            }
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [Repository.root.appendingPathComponent("tools/llama_server.py").path, "--model", LlamaServerTests.model,
                                 "--port", "0", "--threads", "2", "--ctx", "4096", "--quiet"]
            let out = Pipe()
            process.standardInput = stdin
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            var line = Data()
            while true {
                let d = out.fileHandleForReading.availableData
                if d.isEmpty { throw XCTSkip("llama server exited before it was ready") }
                line.append(d)
                if line.contains(0x0A) { break }
            }
            let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.hasPrefix("READY "), let p = Int(text.dropFirst(6)) else { throw XCTSkip("unexpected llama server output: \(text)") }
            port = p
        }

        var baseURL: String { "http://127.0.0.1:\(port)/v1" }

        func stop() {
            try? stdin.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    func testAskWithAResponseSchemaGetsAValidatedAnswerFromLlamaCpp() throws {
        let server = try LlamaServer()
        defer { server.stop() }
        let schema = #"{"type":"object","properties":{"city":{"type":"string","maxLength":40},"country":{"enum":["France","Germany","Italy"]}},"required":["city","country"],"additionalProperties":false}"#
        let (status, out, err) = try runAtelier(["ask", "What is the capital of France? Answer with the city and its country.", "--base-url", server.baseURL,
                                                 "--no-tools", "--response-schema", schema, "--json"])
        XCTAssertEqual(status, 0, err)
        let r = try JSONParser.parse(out)
        XCTAssertEqual(r["stopReason"], "answered", out)
        let structured = r["structured"]
        XCTAssertNotNil(structured?["city"]?.stringValue)
        XCTAssertNotNil(structured?["country"]?.stringValue)
        XCTAssertGreaterThan(r["trace"]?["usage"]?["promptTokens"]?.intValue ?? 0, 0, "usage comes from the server")
        XCTAssertEqual(r["trace"]?["model"]?.stringValue?.hasPrefix("custom/"), true)
    }

    func testAgentRunStreamsAPlainAnswerFromLlamaCpp() throws {
        let server = try LlamaServer()
        defer { server.stop() }
        let s = try ServerProcess(["serve", "--stdio"])
        s.send(#"{"jsonrpc":"2.0","id":1,"method":"agent/run","params":{"prompt":"Say hello in one short sentence.","baseURL":"\#(server.baseURL)","tools":[],"maxTurns":2,"streamDeltas":true}}"#)
        let msgs = s.read(until: 1)
        let deltas = msgs.filter { $0["params"]?["event"] == "delta" }
        let result = msgs.last?["result"]
        XCTAssertEqual(result?["stopReason"], "answered", "\(String(describing: msgs.last))")
        XCTAssertFalse(result?["answer"]?.stringValue?.isEmpty ?? true)
        XCTAssertGreaterThan(deltas.count, 1, "the answer streamed in pieces")
        XCTAssertEqual(deltas.compactMap { $0["params"]?["content"]?.stringValue }.joined(), result?["answer"]?.stringValue)
        s.closeInput()
        XCTAssertEqual(s.waitForExit(), 0)
    }
}
