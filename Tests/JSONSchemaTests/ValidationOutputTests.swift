import XCTest
@testable import JSONSchema

/// The "basic" output: every error names where in the instance and where in the schema, with a
/// message a model or a person can act on.
final class ValidationOutputTests: XCTestCase {
    func errors(_ schema: String, _ instance: String) throws -> [ValidationError] {
        try Schema(text: schema).validate(try JSONParser.parse(instance)).errors
    }

    func testMinimumErrorNamesThePathAndTheBound() throws {
        let schema = #"{"type":"object","properties":{"calls":{"type":"array","items":{"type":"object","properties":{"arguments":{"type":"object","properties":{"steps":{"type":"integer","minimum":1}}}}}}}}"#
        let e = try errors(schema, #"{"calls":[{},{},{"arguments":{"steps":0}}]}"#)
        XCTAssertEqual(e.count, 1)
        XCTAssertEqual(e[0].instanceLocation, "/calls/2/arguments/steps")
        XCTAssertEqual(e[0].keywordLocation, "/properties/calls/items/properties/arguments/properties/steps/minimum")
        XCTAssertEqual(e[0].description, "/calls/2/arguments/steps: 0 is less than the minimum 1")
    }

    func testReferencesAppearInKeywordLocationAndAbsoluteLocation() throws {
        let schema = ##"{"$id":"https://example.com/plan.json","$defs":{"name":{"type":"string","maxLength":3}},"properties":{"n":{"$ref":"#/$defs/name"}}}"##
        let e = try errors(schema, #"{"n":"toolong"}"#)
        XCTAssertEqual(e.first?.keywordLocation, "/properties/n/$ref/maxLength")
        XCTAssertEqual(e.first?.absoluteKeywordLocation, "https://example.com/plan.json#/$defs/name/maxLength")
        XCTAssertEqual(e.first?.message, "string of 7 characters is longer than the maximum length 3")
    }

    func testEveryErrorIsReportedNotJustTheFirst() throws {
        let e = try errors(#"{"required":["a","b"],"properties":{"c":{"type":"string"}},"additionalProperties":false}"#, #"{"c":1,"d":2}"#)
        let messages = Set(e.map(\.description))
        XCTAssertEqual(messages, [
            "(root): missing required property 'a'", "(root): missing required property 'b'",
            "/c: expected string, got integer", "(root): property 'd' is not allowed",
        ])
    }

    func testCombinatorsExplainThemselves() throws {
        let one = try errors(#"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#, "3")
        XCTAssertEqual(one.map(\.message), ["3 matches 2 schemas in 'oneOf' (0, 1); exactly one must match"])
        let any = try errors(#"{"anyOf":[{"type":"string"},{"type":"boolean"}]}"#, "3")
        XCTAssertEqual(any.last?.message, "3 matches none of the 2 schemas in 'anyOf'")
        XCTAssertTrue(any.contains { $0.keywordLocation == "/anyOf/0/type" }, "the branches' own errors are included")
    }

    func testBasicOutputFormat() throws {
        let out = try Schema(text: #"{"type":"string"}"#).validate(1).basicOutput
        XCTAssertEqual(JSONWriter.string(out), #"{"valid":false,"errors":[{"instanceLocation":"","keywordLocation":"/type","error":"expected string, got integer"}]}"#)
        XCTAssertEqual(JSONWriter.string(try Schema(text: "true").validate(1).basicOutput), #"{"valid":true}"#)
    }

    func testUnknownReferencesFailAtCompileTimeWithoutNetwork() {
        XCTAssertThrowsError(try Schema(text: #"{"$ref":"https://example.com/elsewhere.json"}"#)) { e in
            XCTAssertEqual(e as? SchemaError, .unresolvableReference(ref: "https://example.com/elsewhere.json", at: "#"))
            XCTAssertTrue("\(e)".contains("never fetched"))
        }
        XCTAssertThrowsError(try Schema(text: ##"{"properties":{"a":{"$ref":"#/$defs/missing"}}}"##))
    }

    func testRegisteredRemotesResolve() throws {
        let registry = SchemaRegistry()
        registry.register(try JSONParser.parse(#"{"type":"integer"}"#), at: "https://example.com/int.json")
        let s = try Schema(try JSONParser.parse(#"{"items":{"$ref":"https://example.com/int.json"}}"#), registry: registry)
        XCTAssertTrue(s.isValid([1, 2]))
        XCTAssertEqual(s.validate([1, "x"]).errors.first?.absoluteKeywordLocation, "https://example.com/int.json#/type")
    }

    func testHostileSchemasGetErrorsNotHangs() throws {
        // A $ref cycle that never consumes input.
        let loop = try Schema(text: ##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}"##)
        let r = loop.validate(1)
        XCTAssertFalse(r.valid)
        XCTAssertTrue(r.errors.contains { $0.message.contains("recursion deeper") })
        // A giant regex is refused at compile time.
        let huge = String(repeating: "a", count: ECMARegex.maxPatternLength + 1)
        XCTAssertThrowsError(try Schema(.object(JSONObject([("pattern", .string(huge))]))))
        // A catastrophically backtracking pattern gives up at ICU's time limit instead of hanging.
        let evil = try Schema(text: #"{"pattern":"(a+)+$"}"#)
        let slow = evil.validate(.string(String(repeating: "a", count: 64) + "!"))
        XCTAssertEqual(slow.errors.first?.message.contains("took too long"), true)
        // Invalid keyword values are named.
        XCTAssertThrowsError(try Schema(text: #"{"minimum":"3"}"#)) { e in
            XCTAssertEqual("\(e)", "invalid 'minimum' at '#': must be a number")
        }
    }

    func testFormatsAreAnnotationsUnlessAsserted() throws {
        let schema = try JSONParser.parse(#"{"format":"email"}"#)
        XCTAssertTrue(try Schema(schema).isValid("not an email"))
        let strict = try Schema(schema, options: .init(formatAssertion: true))
        XCTAssertEqual(strict.validate("not an email").errors.first?.message, #""not an email" is not a valid email"#)
        XCTAssertTrue(strict.isValid("a@example.com"))
    }

    func testDraft7IsChosenBySchemaKeyword() throws {
        let s = try Schema(text: #"{"$schema":"http://json-schema.org/draft-07/schema#","items":[{"type":"integer"}],"additionalItems":false}"#)
        XCTAssertTrue(s.isValid([1]))
        XCTAssertFalse(s.isValid([1, 2]))
    }

    func testRegexesFollowECMA262() throws {
        let digits = try Schema(text: #"{"pattern":"^\\d+$"}"#)
        XCTAssertTrue(digits.isValid("123"))
        XCTAssertFalse(digits.isValid("١٢٣"), "\\d is ASCII-only in ECMA-262")
        XCTAssertFalse(try Schema(text: #"{"pattern":"^a$"}"#).isValid("a\n"), "$ anchors at the very end")
        XCTAssertThrowsError(try ECMARegex("(?i)a"), "inline flags are not ECMA-262")
    }

    func testCompiledSchemasAreSharedAcrossThreads() throws {
        let s = try Schema(text: #"{"type":"array","items":{"type":"integer","minimum":0}}"#)
        let good: JSONValue = .array((0..<100).map { JSONValue($0) })
        DispatchQueue.concurrentPerform(iterations: 64) { _ in
            XCTAssertTrue(s.isValid(good))
            XCTAssertEqual(s.validate([-1]).errors.count, 1)
        }
    }
}
