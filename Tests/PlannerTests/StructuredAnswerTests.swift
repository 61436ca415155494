import XCTest
import JSONSchema
@testable import Planner

/// The offline planner's structured answers: a response schema is filled from the tool results'
/// data and the written answer, validated, and never invented.
final class StructuredAnswerTests: XCTestCase {
    /// `rag_search`'s data for two hits in one document and one in another.
    let hits: JSONValue = try! JSONParser.parse("""
    {"hits": [
      {"path": "docs/handbook.md", "score": 0.9, "text": "Employees get 25 vacation days.", "snippet": "25 ⟦vacation⟧ days",
       "citation": {"document": "docs/handbook.md", "page": null, "start": 12, "end": 43, "heading": "Vacation", "chunk": 1}},
      {"path": "docs/handbook.md", "score": 0.5, "text": "Unused days carry over.", "snippet": "carry over",
       "citation": {"document": "docs/handbook.md", "page": null, "start": 44, "end": 67, "heading": "Vacation", "chunk": 2}},
      {"path": "docs/deploy.md", "score": 0.1, "text": "Deploy with make.", "snippet": "Deploy",
       "citation": {"document": "docs/deploy.md", "page": 3, "start": 0, "end": 17, "heading": null, "chunk": 3}}
    ]}
    """)
    let text = "rag_search:\n[1] docs/handbook.md: Employees get 25 vacation days."

    func answer(_ schema: String) throws -> JSONValue {
        try StructuredAnswer(text: text, results: [hits], schema: try JSONParser.parse(schema)).build()
    }

    func testTheAnswerAndItsSourcesComeFromTheTextAndTheResults() throws {
        let v = try answer("""
        {"type": "object", "additionalProperties": false, "required": ["answer", "sources"],
         "properties": {"answer": {"type": "string"}, "sources": {"type": "array", "items": {"type": "string"}, "minItems": 1}}}
        """)
        XCTAssertEqual(v["answer"]?.stringValue, text)
        XCTAssertEqual(v["sources"], ["docs/handbook.md", "docs/deploy.md"], "one entry per document, in rank order")
    }

    func testArraysOfObjectsAreReadRowByRow() throws {
        let v = try answer("""
        {"type": "object", "required": ["citations", "count"],
         "properties": {"count": {"type": "integer"},
                        "citations": {"type": "array", "items": {"$ref": "#/$defs/cite"}}},
         "$defs": {"cite": {"type": "object", "required": ["path", "start", "end"], "additionalProperties": false,
                            "properties": {"path": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"},
                                           "heading": {"type": "string"}}}}}
        """)
        XCTAssertEqual(v["count"], 3)
        let cites = try XCTUnwrap(v["citations"]?.arrayValue)
        XCTAssertEqual(cites.count, 3)
        XCTAssertEqual(cites[0], ["path": "docs/handbook.md", "start": 12, "end": 43, "heading": "Vacation"])
        XCTAssertEqual(cites[2], ["path": "docs/deploy.md", "start": 0, "end": 17], "a null heading is left out, not made up")
    }

    func testLimitsOfTheSchemaAreKept() throws {
        let v = try answer("""
        {"type": "object", "required": ["summary", "top"],
         "properties": {"summary": {"type": "string", "maxLength": 10},
                        "top": {"type": "array", "items": {"type": "number"}, "maxItems": 2}, "scores": {"type": "array"}}}
        """)
        XCTAssertEqual(v["summary"]?.stringValue, String(text.prefix(10)))
        XCTAssertEqual(v["top"], [], "no result has a 'top': an empty list, not numbers from elsewhere")
        XCTAssertEqual(v["scores"], [0.9, 0.5, 0.1])
    }

    func testAnEnumTakesTheOptionTheAnswerMentions() throws {
        let v = try StructuredAnswer(text: "The build passed.", results: [], schema: try JSONParser.parse("""
        {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["failed", "passed"]}}}
        """)).build()
        XCTAssertEqual(v["status"], "passed")
    }

    func testARequiredValueWithNoSourceIsAnErrorThatNamesIt() {
        XCTAssertThrowsError(try answer("""
        {"type": "object", "required": ["answer", "confidence"],
         "properties": {"answer": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}}}
        """)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("/confidence") && message.contains("number") && message.contains("remote provider"), message)
        }
    }

    func testTheOfflinePlannerAnswersWithTheJSONAfterItsCallsRan() async throws {
        let planner = OfflinePlanner(embed: { texts in texts.map { _ in [Float](repeating: 0, count: 4) } }, roots: [])
        let schema: JSONValue = ["type": "object", "required": ["answer", "sources"],
                                 "properties": ["answer": ["type": "string"], "sources": ["type": "array", "items": ["type": "string"]]]]
        let r = try await planner.chat(ChatRequest(messages: [
            .user("search the docs for vacation"), .assistant("", toolCalls: [ToolCall(id: "1", name: "rag_search", arguments: "{}")]),
            .tool("<tool_result name=\"rag_search\" status=\"ok\">\n[1] docs/handbook.md: 25 days\n</tool_result>", callId: "1", name: "rag_search", data: hits),
        ], tools: [], responseSchema: schema)) { _ in }
        let v = try JSONParser.parse(r.content)
        XCTAssertEqual(v["sources"], ["docs/handbook.md", "docs/deploy.md"])
        XCTAssertTrue(try Schema(schema).validate(v).valid)
    }
}
