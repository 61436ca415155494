import XCTest
import JSONSchema
@testable import RPC
import TestSupport

/// JSON-RPC 2.0 as the spec says, driven through a real connection with an in-memory sink.
final class JSONRPCTests: XCTestCase {
    func connection(_ limits: RPCLimits = .init()) -> (RPCConnection, CollectingSink, EchoHandler) {
        let sink = CollectingSink(), handler = EchoHandler()
        return (RPCConnection(handler: handler, sink: sink, limits: limits, transport: "test"), sink, handler)
    }

    func testParamsByNameAndByPosition() {
        let (c, sink, _) = connection()
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":2,"b":3}}"#)
        c.receive(#"{"jsonrpc":"2.0","id":2,"method":"add","params":[4,5]}"#)
        XCTAssertEqual(sink.response(id: 1)?["result"], 5)
        XCTAssertEqual(sink.response(id: 2)?["result"], 9)
    }

    func testIdsMayBeStringsNumbersOrNullAndAreEchoedExactly() {
        let (c, sink, _) = connection()
        c.receive(#"{"jsonrpc":"2.0","id":"x-1","method":"echo","params":[1]}"#)
        c.receive(#"{"jsonrpc":"2.0","id":1.50,"method":"echo","params":[2]}"#)
        c.receive(#"{"jsonrpc":"2.0","id":null,"method":"echo","params":[3]}"#)
        let msgs = sink.wait(for: 3)
        XCTAssertEqual(Set(msgs.map { JSONWriter.string($0["id"]!) }), [#""x-1""#, "1.50", "null"])
    }

    func testErrorCodesFollowTheSpec() {
        let (c, sink, _) = connection()
        c.receive("{not json")
        c.receive(#"{"jsonrpc":"2.0","id":7,"method":42}"#)
        c.receive(#"{"jsonrpc":"2.0","id":8,"method":"missing"}"#)
        c.receive(#"{"jsonrpc":"2.0","id":9,"method":"add","params":{"a":"x"}}"#)
        c.receive(#"{"jsonrpc":"2.0","id":10,"method":"crash"}"#)
        c.receive(#"{"jsonrpc":"2.0","id":11,"method":"echo","params":"scalar"}"#)
        c.receive(#"{"id":12,"method":"echo"}"#)
        let msgs = sink.wait(for: 7)
        func code(_ id: JSONValue) -> Int? { msgs.first { $0["id"] == id }?["error"]?["code"]?.intValue }
        XCTAssertEqual(code(.null), -32700, "a parse error answers with id null")
        XCTAssertEqual(code(7), -32600)
        XCTAssertEqual(code(8), -32601)
        XCTAssertEqual(code(9), -32602)
        XCTAssertEqual(code(10), -32603)
        XCTAssertEqual(code(11), -32600)
        XCTAssertEqual(code(12), -32600, "jsonrpc must be \"2.0\"")
    }

    func testNotificationsAreNeverAnswered() {
        let (c, sink, handler) = connection()
        c.receive(#"{"jsonrpc":"2.0","method":"note","params":{"x":1}}"#)
        c.receive(#"{"jsonrpc":"2.0","method":"missing"}"#)
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"echo"}"#)
        _ = sink.wait(for: 1)
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(sink.messages.count, 1)
        XCTAssertEqual(handler.lock.withLock { handler.notifications }, ["note", "missing"])
    }

    func testBatches() {
        let (c, sink, _) = connection()
        c.receive("[]")
        XCTAssertEqual(sink.wait(for: 1).first?["error"]?["code"], -32600, "an empty batch is one Invalid Request")
        c.receive(#"[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]"#)
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(sink.messages.count, 1, "an all-notification batch gets no reply")
        c.receive(#"[1,{"jsonrpc":"2.0","id":"s","method":"sleep","params":[30]},{"jsonrpc":"2.0","id":"e","method":"echo","params":[1]},{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":"m","method":"nope"}]"#)
        let batch = sink.wait(for: 2)[1].arrayValue ?? []
        XCTAssertEqual(batch.count, 4, "one answer per request item, none for the notification")
        XCTAssertEqual(batch[0]["error"]?["code"], -32600)
        XCTAssertEqual(batch[1]["result"], 30)
        XCTAssertEqual(batch[2]["result"], [1])
        XCTAssertEqual(batch[3]["error"]?["code"], -32601)
    }

    func testRequestsRunConcurrentlyAndMayAnswerOutOfOrder() {
        let (c, sink, _) = connection()
        c.receive(#"{"jsonrpc":"2.0","id":"slow","method":"sleep","params":[300]}"#)
        c.receive(#"{"jsonrpc":"2.0","id":"fast","method":"echo","params":[1]}"#)
        let msgs = sink.wait(for: 2)
        XCTAssertEqual(msgs.map { $0["id"] }, ["fast", "slow"])
    }

    func testCancelledRequestsStopAndSendNothing() {
        let (c, sink, handler) = connection()
        c.receive(#"{"jsonrpc":"2.0","id":5,"method":"sleep","params":[10000]}"#)
        Thread.sleep(forTimeInterval: 0.05)
        c.receive(#"{"jsonrpc":"2.0","method":"cancel","params":{"id":5}}"#)
        c.receive(#"{"jsonrpc":"2.0","id":6,"method":"echo","params":[6]}"#)
        XCTAssertNotNil(sink.response(id: 6))
        let deadline = Date().addingTimeInterval(5)
        while handler.lock.withLock({ handler.cancelledSleeps }) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(handler.lock.withLock { handler.cancelledSleeps }, 1)
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertNil(sink.messages.first { $0["id"] == 5 }, "a cancelled request gets no response")
        XCTAssertEqual(c.inFlightCount, 0)
    }

    func testTooManyInFlightRequestsGetABusyError() {
        let (c, sink, _) = connection(RPCLimits(maxInFlight: 2))
        for i in 0..<3 { c.receive(#"{"jsonrpc":"2.0","id":\#(i),"method":"sleep","params":[200]}"#) }
        let busy = sink.response(id: 2)
        XCTAssertEqual(busy?["error"]?["code"], -31001)
        XCTAssertTrue(busy?["error"]?["message"]?.stringValue?.contains("busy") ?? false)
        XCTAssertEqual(sink.response(id: 0)?["result"], 200)
        c.receive(#"{"jsonrpc":"2.0","id":3,"method":"echo","params":[3]}"#)
        XCTAssertEqual(sink.response(id: 3)?["result"], [3], "the connection serves again once work finishes")
    }

    func testResponsesFromTheClientAreIgnored() {
        let (c, sink, _) = connection()
        c.receive(#"{"jsonrpc":"2.0","id":1,"result":{}}"#)
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertTrue(sink.messages.isEmpty)
    }

    func testCloseWaitsForInFlightWorkWithinTheGracePeriod() {
        let (c, sink, _) = connection()
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"sleep","params":[100]}"#)
        c.close(grace: 5)
        XCTAssertEqual(sink.messages.first?["result"], 100)
    }
}
