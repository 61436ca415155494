import XCTest
@testable import Planner

final class SSEParserTests: XCTestCase {
    let stream = ": keep-alive\r\ndata: {\"a\":1}\r\n\r\nevent: note\ndata: line one\ndata: line two\n\nid: 7\nretry: 10\ndata: [DONE]\n\n"

    func testEventsSurviveBeingSplitAtEveryByte() {
        var whole = SSEParser()
        let expected = whole.feed(Array(stream.utf8)) + whole.finish()
        XCTAssertEqual(expected, [
            .init(event: nil, data: "{\"a\":1}"),
            .init(event: "note", data: "line one\nline two"),
            .init(event: nil, data: "[DONE]"),
        ])
        var bytewise = SSEParser()
        var got: [SSEParser.Event] = []
        for b in Array(stream.utf8) { got += bytewise.feed([b]) }
        got += bytewise.finish()
        XCTAssertEqual(got, expected)
    }

    func testMultiByteCharactersSplitAcrossChunksAreKept() {
        let bytes = Array("data: café ☕\n\n".utf8)
        var p = SSEParser()
        var got = p.feed(bytes[0..<9])
        got += p.feed(bytes[9...])
        XCTAssertEqual(got.map(\.data), ["café ☕"])
    }

    func testAnEventNotClosedByABlankLineIsDeliveredAtTheEnd() {
        var p = SSEParser()
        XCTAssertEqual(p.feed(Array("data: tail".utf8)), [])
        XCTAssertEqual(p.finish().map(\.data), ["tail"])
    }
}
