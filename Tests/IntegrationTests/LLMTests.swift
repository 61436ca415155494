import Foundation
import XCTest
import JSONSchema
import TestSupport

/// The local model from a terminal (`atelier llm`) and over RPC (`llm_generate`): text, schema-constrained
/// JSON, and clear errors.
final class LLMTests: XCTestCase {
    func testTheCommandStreamsTextAndWritesJSONThatValidates() throws {
        let (rc, out, err) = try runAtelier(["llm", "What is the capital of France?", "--temperature", "0", "--max-tokens", "8"])
        XCTAssertEqual(rc, 0, err)
        XCTAssertTrue(out.hasPrefix("L'Étoile"), out)   // llama.cpp's greedy start for this prompt (PlannerTests goldens)
        XCTAssertTrue(err.contains("generated"), "timings on stderr: \(err)")
        let schema = #"{"type":"object","properties":{"city":{"type":"string","maxLength":24},"population":{"type":"integer","minimum":0}},"required":["city","population"],"additionalProperties":false}"#
        let (rc2, json, err2) = try runAtelier(["llm", "Name a city and its population as JSON.", "--schema", schema, "--json", "--seed", "4"])
        XCTAssertEqual(rc2, 0, err2)
        let report = try JSONParser.parse(json)
        let value = try JSONParser.parse(report["text"]!.stringValue!)
        XCTAssertTrue(try Schema(try JSONParser.parse(schema)).validate(value).valid, "\(value)")
        let (bad, _, why) = try runAtelier(["llm", "x", "--schema", #"{"type":"string","pattern":"(?=a)"}"#])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(why.contains("'pattern'"), why)
        let (bad2, _, why2) = try runAtelier(["llm", "x", "--top-p", "0"])
        XCTAssertNotEqual(bad2, 0)
        XCTAssertTrue(why2.contains("top_p"), why2)
    }

    func testTheToolAnswersOverStdioAndKeepsServing() throws {
        let s = try ServerProcess(["serve", "--stdio"])
        s.send(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"it","version":"1"}}}"#)
        _ = s.readMessage()
        let schema = #"{"type":"object","properties":{"colour":{"enum":["red","green","blue"]},"count":{"type":"integer","minimum":1,"maximum":9}},"required":["colour","count"],"additionalProperties":false}"#
        s.send(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"llm_generate","arguments":{"prompt":"Pick a colour and a count.","schema":"# + schema + #","seed":7}}}"#)
        let r = s.read(until: 2).last!
        XCTAssertNotEqual(r["result"]?["isError"], true, "\(r)")
        let value = r["result"]?["structuredContent"]?["value"]
        XCTAssertNotNil(value, "\(r)")
        XCTAssertTrue(try Schema(try JSONParser.parse(schema)).validate(value ?? .null).valid, "\(String(describing: value))")
        // A schema outside the subset: an error naming the keyword, and the server goes on.
        s.send(#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"llm_generate","arguments":{"prompt":"x","schema":{"type":"array","uniqueItems":true}}}}"#)
        let e = s.read(until: 3).last!
        XCTAssertEqual(e["result"]?["isError"], true)
        XCTAssertTrue("\(e)".contains("uniqueItems"), "\(e)")
        s.send(#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"llm_generate","arguments":{"prompt":"Say hi.","temperature":0,"max_tokens":4}}}"#)
        XCTAssertEqual(s.read(until: 4).last?["result"]?["structuredContent"]?["tokens"], 4)
        s.closeInput()
        XCTAssertEqual(s.waitForExit(), 0)
    }
}
