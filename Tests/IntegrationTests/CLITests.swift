import Foundation
import XCTest
import JSONSchema
import TestSupport

final class CLITests: XCTestCase {
    func temp(_ name: String, _ text: String) throws -> String {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-cli-\(UUID().uuidString)-\(name)")
        try text.write(to: u, atomically: true, encoding: .utf8)
        return u.path
    }

    func testCallPrintsJSONAndFailsClearly() throws {
        let (ok, out, _) = try runAtelier(["call", "schema_validate", "--args", #"{"schema":{"type":"string"},"instance":"x"}"#])
        XCTAssertEqual(ok, 0)
        XCTAssertEqual(try JSONParser.parse(out)["valid"], true)
        let (bad, badOut, err) = try runAtelier(["call", "schema_validate", "--args", #"{"schema":{}}"#])
        XCTAssertEqual(bad, 1)
        XCTAssertTrue(badOut.isEmpty)
        XCTAssertTrue(err.contains("missing required property 'instance'"), err)
    }

    func testSchemaCheckExitCodes() throws {
        let schema = try temp("s.json", #"{"type":"object","required":["a"]}"#)
        let good = try temp("g.json", #"{"a":1}"#), bad = try temp("b.json", "{}"), broken = try temp("x.json", "{")
        XCTAssertEqual(try runAtelier(["schema", "check", schema, good]).0, 0)
        let (one, out, _) = try runAtelier(["schema", "check", schema, bad])
        XCTAssertEqual(one, 1)
        XCTAssertEqual(try JSONParser.parse(out)["errors"]?[0]?["error"], "missing required property 'a'")
        XCTAssertEqual(try runAtelier(["schema", "check", schema, broken]).0, 2)
    }

    func testSchemaCheckBatchAnswersEachLineInOrder() throws {
        let input = [
            #"{"schema":{"type":"integer"},"instance":1}"#,
            #"{"schema":{"type":"integer"},"instance":"x"}"#,
            #"{"schema":{"format":"email"},"instance":"nope","formatAssertion":true}"#,
            ##"{"schema":{"$ref":"#/nowhere"},"instance":1}"##,
            "not json",
        ].joined(separator: "\n")
        let (status, out, _) = try runAtelier(["schema", "check", "--batch"], input: input)
        XCTAssertEqual(status, 0)
        let lines = out.split(separator: "\n").map { try! JSONParser.parse(String($0)) }
        XCTAssertEqual(lines.map { $0["valid"]! }, [true, false, false, false, false])
        XCTAssertNotNil(lines[3]["unusable"])
        XCTAssertNotNil(lines[4]["unusable"])
    }

    func testPlanRunFanOutOfCommandTools() throws {
        let config = try temp("c.yaml", """
        tools:
          - name: nap
            description: Sleeps a little.
            inputSchema: {type: object}
            command: [sleep, "0.2"]
        """)
        let calls = (0..<16).map { #"{"id":"n\#($0)","name":"nap","arguments":{}}"# }.joined(separator: ",")
        let plan = try temp("p.json", #"{"calls":[\#(calls)],"maxParallel":16}"#)
        let (status, out, err) = try runAtelier(["plan", "run", plan, "--config", config])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(try JSONParser.parse(out)["results"]?.arrayValue?.filter { $0["status"] == "ok" }.count, 16)
    }

    func testTheExamplesWork() throws {
        let (status, out, err) = try runAtelier(["tools", "list", "--config", "examples/atelier.yaml"])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.contains("word_count") && out.contains("git_log"))
        let (planStatus, planOut, planErr) = try runAtelier(["plan", "run", "examples/plan.json", "--config", "examples/atelier.yaml"])
        XCTAssertEqual(planStatus, 0, planErr)
        let results = try JSONParser.parse(planOut)["results"]
        XCTAssertEqual(results?[2]?["result"]?["valid"], true, "the DAG fed fs_read's output to schema_validate")
        let (callStatus, callOut, _) = try runAtelier(["call", "git_log", "--args", #"{"count":1}"#, "--config", "examples/atelier.yaml"])
        XCTAssertEqual(callStatus, 0)
        XCTAssertEqual(try JSONParser.parse(callOut)["commits"]?.arrayValue?.count, 1)
    }

    func testToolsListJSONMatchesTheSchemaFiles() throws {
        let (status, out, _) = try runAtelier(["tools", "list", "--json"])
        XCTAssertEqual(status, 0)
        let names = try JSONParser.parse(out).arrayValue?.compactMap { $0["name"]?.stringValue }
        XCTAssertEqual(names, ["schema_validate", "fs_read", "fs_list", "rag_ingest", "rag_search", "rag_delete", "rag_collections", "code_outline", "code_symbols", "code_references", "code_dependencies", "code_metrics", "code_diagnostics", "code_query", "code_repo_map", "ocr_extract", "image_generate", "dreambooth_train", "llm_generate", "ask"])
    }
}
