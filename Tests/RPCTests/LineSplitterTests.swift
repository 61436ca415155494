import XCTest
@testable import RPC

final class LineSplitterTests: XCTestCase {
    func lines(_ chunks: [String], max: Int = 16) -> [String] {
        var s = LineSplitter(maxBytes: max)
        var out: [String] = []
        let emit: (LineSplitter.Event) -> Void = { e in
            switch e {
            case .line(let l): out.append(String(decoding: l, as: UTF8.self))
            case .oversized: out.append("<oversized>")
            }
        }
        for c in chunks { Array(c.utf8).withUnsafeBufferPointer { s.feed($0, emit) } }
        s.finish(emit)
        return out
    }

    func testSplitsAcrossChunksAndStripsCarriageReturns() {
        XCTAssertEqual(lines(["{\"a\"", ":1}\r\n{\"b\":2}\n\n  \n{\"c\""]), ["{\"a\":1}", "{\"b\":2}", "{\"c\""])
    }

    func testOversizedLinesAreReportedOnceAndSkipped() {
        XCTAssertEqual(lines(["short\n", String(repeating: "x", count: 10), String(repeating: "y", count: 10), "zz\nnext\n"]),
                       ["short", "<oversized>", "next"])
        XCTAssertEqual(lines([String(repeating: "x", count: 40) + "\nok\n"]), ["<oversized>", "ok"])
    }
}
