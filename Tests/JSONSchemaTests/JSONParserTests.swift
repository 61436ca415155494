import XCTest
@testable import JSONSchema

final class JSONParserTests: XCTestCase {
    func testNumbersKeepTheirTextAndCompareExactly() throws {
        let v = try JSONParser.parse(#"[1.0, 12345678901234567890123456789, 0.1000000000000000055511151231257827, 1e2]"#)
        let a = v.arrayValue!.map { $0.numberValue! }
        XCTAssertEqual(a[0].text, "1.0")
        XCTAssertTrue(a[0].isInteger, "1.0 is an integer per JSON Schema")
        XCTAssertTrue(a[1].isInteger)
        XCTAssertTrue(a[3].isInteger)
        XCTAssertEqual(JSONNumber.compare(a[1], JSONNumber(text: "12345678901234567890123456788")), 1, "beyond 64 bits still ordered")
        XCTAssertNotEqual(a[2], JSONNumber(text: "0.1"), "long decimals are not rounded to doubles")
        XCTAssertEqual(JSONValue.number(JSONNumber(text: "1.0")), JSONValue.number(JSONNumber(text: "1")))
        XCTAssertTrue(JSONNumber(text: "1e308").isMultiple(of: JSONNumber(text: "0.5")))
        XCTAssertTrue(JSONNumber(text: "0.0075").isMultiple(of: JSONNumber(text: "0.0001")))
        XCTAssertFalse(JSONNumber(text: "0.00751").isMultiple(of: JSONNumber(text: "0.0001")))
    }

    func testInvalidJSONIsRejectedWithLineAndColumn() {
        let cases: [(String, Int, Int, String)] = [
            ("{\n  \"a\": 1,\n}", 3, 1, "expected a string key"),
            ("[1, 2", 1, 6, "unexpected end of input"),
            ("[01]", 1, 3, "leading zeros"),
            ("\"\\x\"", 1, 2, "invalid escape"),
            ("\"\\ud800\"", 1, 8, "lone high surrogate"),
            ("[1] x", 1, 5, "unexpected data after"),
            ("nul", 1, 1, "expected 'null'"),
        ]
        for (text, line, column, fragment) in cases {
            XCTAssertThrowsError(try JSONParser.parse(text), text) { e in
                let err = e as! JSONParseError
                XCTAssertEqual(err.line, line, text)
                XCTAssertEqual(err.column, column, text)
                XCTAssertTrue(err.message.contains(fragment), "\(text): \(err.message)")
            }
        }
    }

    func testInvalidUTF8AndControlCharactersAreRejected() {
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]))
        XCTAssertThrowsError(try JSONParser.parse("\"a\u{01}b\""))
    }

    func testNestingIsBounded() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try JSONParser.parse(deep)) { e in
            XCTAssertTrue((e as! JSONParseError).message.contains("nesting deeper"))
        }
    }

    func testEscapesAndRoundTrip() throws {
        let text = #"{"k":"a\"b\\c\n\u00e9\ud83d\ude00","z":[true,false,null,-0.5e-3]}"#
        let v = try JSONParser.parse(text)
        XCTAssertEqual(v["k"]?.stringValue, "a\"b\\c\né😀")
        XCTAssertEqual(try JSONParser.parse(JSONWriter.string(v)), v)
        XCTAssertEqual(JSONWriter.string(v), #"{"k":"a\"b\\c\né😀","z":[true,false,null,-0.5e-3]}"#)
    }

    func testObjectsKeepKeyOrder() throws {
        let v = try JSONParser.parse(#"{"b":1,"a":2,"c":3}"#)
        XCTAssertEqual(v.objectValue?.keys, ["b", "a", "c"])
    }

    func testStringsCompareByCodePoints() {
        XCTAssertNotEqual(JSONValue.string("\u{e9}"), JSONValue.string("e\u{301}"), "canonically equivalent but different code points")
    }
}
