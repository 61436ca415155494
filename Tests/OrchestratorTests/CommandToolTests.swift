import XCTest
import JSONSchema
import Orchestrator
@testable import Tools

final class CommandToolTests: XCTestCase {
    func spec(_ yaml: String) throws -> AtelierConfig {
        let dir = temporaryDirectory()
        let path = dir.appendingPathComponent("atelier.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try AtelierConfig.load(path: path)
    }

    func testArgvTemplatesAreFilledWithoutAShell() {
        let args: JSONValue = ["file": "a b; rm -rf /", "n": 3, "flags": ["-x", "-y"], "on": true]
        XCTAssertEqual(CommandTool.expand(["prog", "{{file}}", "--n={{n}}", "{{flags}}", "{{missing}}", "{{ on }}"], args),
                       ["prog", "a b; rm -rf /", "--n=3", "-x", "-y", "true"])
    }

    func testProgramsRunAsToolsWithJSONOrTextOutput() async throws {
        let config = try spec("""
        tools:
          - name: say
            description: Prints its words.
            inputSchema: {type: object, properties: {words: {type: string}}, required: [words]}
            command: [printf, "%s", "{{words}}"]
          - name: info
            description: Prints JSON.
            inputSchema: {type: object, properties: {n: {type: integer}}}
            outputSchema: {type: object, properties: {n: {type: integer}}, required: [n]}
            command: [sh, -c, 'printf "{\\"n\\": %s}" "$0"', "{{n}}"]
            output: json
          - name: boom
            description: Fails.
            inputSchema: {type: object}
            command: [sh, -c, "echo broken >&2; exit 3"]
          - name: slow
            description: Sleeps.
            inputSchema: {type: object}
            command: [sleep, "30"]
            timeoutMs: 100
        """)
        let r = ToolRegistry()
        try ToolCatalog.registerDefaults(in: r, config: config)
        let said = try await r.call("say", ["words": "$(whoami) `id` *"])
        XCTAssertEqual(said.text, "$(whoami) `id` *", "shell syntax reaches the program literally")
        let info = try await r.call("info", ["n": 41])
        XCTAssertEqual(info.structured?["n"], 41)
        do { _ = try await r.call("boom", [:]); XCTFail() } catch {
            XCTAssertEqual(error.description, "'sh' exited with status 3: broken\n")
        }
        let start = Date()
        do { _ = try await r.call("slow", [:], timeoutMs: 100); XCTFail() } catch {
            XCTAssertEqual(error.status, "timeout")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "the program was terminated, not waited for")
        do { _ = try await r.call("say", [:]); XCTFail() } catch {
            XCTAssertEqual(error.description, "invalid arguments for 'say': (root): missing required property 'words'")
        }
    }

    func testInvalidConfigsNameThePlaceToFix() throws {
        XCTAssertThrowsError(try spec("tools:\n  - name: bad.name\n    description: x\n    inputSchema: {type: object}\n    command: [true]\n")) { e in
            XCTAssertTrue("\(e)".contains("/tools/0/name"), "\(e)")
        }
        XCTAssertThrowsError(try spec("tools: [\n")) { e in XCTAssertTrue("\(e)".contains("not valid YAML")) }
        XCTAssertThrowsError(try spec("unknownKey: 1\n")) { e in XCTAssertTrue("\(e)".contains("'unknownKey' is not allowed"), "\(e)") }
    }
}
