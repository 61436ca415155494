import XCTest
import Planner
@testable import Orchestrator

/// Conversations are kept inside the model's window by dropping whole old tool results, never by
/// cutting a message in the middle; the results the model has not seen yet stay.
final class ContextWindowTests: XCTestCase {
    func conversation() -> [ChatMessage] {
        let big = String(repeating: "x", count: 30_000)
        return [
            .system("be useful"), .user("do it"),
            .assistant("", toolCalls: [ToolCall(id: "1", name: "fs_read", arguments: "{}")]), .tool(big, callId: "1", name: "fs_read"),
            .assistant("", toolCalls: [ToolCall(id: "2", name: "fs_read", arguments: "{}")]), .tool(big, callId: "2", name: "fs_read"),
        ]
    }

    func testOldResultsAreDroppedWholeAndTheLatestKept() {
        var m = conversation()
        XCTAssertTrue(ContextWindow.fit(&m, tools: [], budget: 12_000))
        XCTAssertTrue(m[3].content.hasPrefix("[dropped to fit the context window"), m[3].content)
        XCTAssertEqual(m[5].content.count, 30_000, "the newest result is what the model must read next")
        XCTAssertEqual(m.count, 6, "no message removed: every tool call keeps its answer")
    }

    func testNothingChangesWhenItFits() {
        var m = conversation()
        XCTAssertTrue(ContextWindow.fit(&m, tools: [], budget: 100_000))
        XCTAssertEqual(m, conversation())
    }

    func testReportsWhenEvenDroppingCannotFit() {
        var m = conversation()
        XCTAssertFalse(ContextWindow.fit(&m, tools: [], budget: 1_000))
    }
}
