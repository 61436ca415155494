import Foundation
import XCTest
import JSONSchema
import TestSupport

/// The real binary over stdio, as an editor runs it.
final class StdioServerTests: XCTestCase {
    func testServesAndKeepsStdoutForTheProtocol() throws {
        let s = try ServerProcess(["serve", "--stdio", "--debug-tools"])
        s.send(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"it","version":"1"}}}"#)
        XCTAssertEqual(s.readMessage()?["result"]?["protocolVersion"], "2025-11-25")
        s.send("{oops")
        XCTAssertEqual(s.readMessage()?["error"]?["code"], -32700)
        s.send(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"debug_sleep","arguments":{"ms":30,"steps":2},"_meta":{"progressToken":7}}}"#)
        let msgs = s.read(until: 2)
        XCTAssertEqual(msgs.filter { $0["method"] == "notifications/progress" }.count, 2)
        XCTAssertEqual(msgs.last?["result"]?["structuredContent"]?["sleptMs"], 30)
        s.closeInput()
        XCTAssertEqual(s.waitForExit(), 0)
        XCTAssertTrue(s.stderrText.contains("serving on stdio"), "logs go to stderr")
    }

    func testWorkInFlightAtEndOfInputStillFinishes() throws {
        let s = try ServerProcess(["serve", "--stdio", "--debug-tools"])
        s.send(#"{"jsonrpc":"2.0","id":"late","method":"tools/call","params":{"name":"debug_sleep","arguments":{"ms":300}}}"#)
        s.closeInput()
        XCTAssertEqual(s.readMessage()?["id"], "late")
        XCTAssertEqual(s.waitForExit(), 0)
    }

    func testStdinFromDevNullOrAFile() throws {
        let devnull = try ServerProcess(["serve", "--stdio"], stdinFrom: FileHandle(forReadingAtPath: "/dev/null"))
        XCTAssertEqual(devnull.waitForExit(), 0)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-it-\(UUID().uuidString).jsonl")
        try (#"{"jsonrpc":"2.0","id":1,"method":"ping"}"# + "\n" + #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#).write(to: file, atomically: true, encoding: .utf8)
        let fromFile = try ServerProcess(["serve", "--stdio"], stdinFrom: FileHandle(forReadingAtPath: file.path))
        var ids: [JSONValue] = []
        while let m = fromFile.readMessage() { ids.append(m["id"]!) }
        XCTAssertEqual(Set(ids), [1, 2], "the last line needs no newline")
        XCTAssertEqual(fromFile.waitForExit(), 0)
    }

    func testOversizedMessagesAreRefusedAndTheConnectionKept() throws {
        let s = try ServerProcess(["serve", "--stdio", "--max-message-bytes", "2048"])
        s.send(#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":""# + String(repeating: "x", count: 5000) + #""}}"#)
        let e = s.readMessage()
        XCTAssertEqual(e?["error"]?["code"], -32600)
        XCTAssertTrue(e?["error"]?["message"]?.stringValue?.contains("2048 bytes") ?? false)
        s.send(#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
        XCTAssertEqual(s.readMessage()?["id"], 2)
        s.closeInput()
        _ = s.waitForExit()
    }
}
