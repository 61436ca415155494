import XCTest
import JSONSchema
import Text
@testable import Planner

/// Constrained decoding: a JSON Schema compiled to a grammar, read byte by byte, and the vocabulary
/// masked at every step — whatever the model picks, the output parses and validates.
final class ConstrainedDecodingTests: XCTestCase {
    static let vocabulary: TokenVocabulary = TokenVocabulary(tokenizer: try! LlamaParityTests.model().tokenizer)

    func schema(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    /// Whether the matcher takes `text` whole and may stop there.
    func complete(_ s: String, _ text: String, grounding: [String: JSONMatcher.Sources] = [:]) throws -> Bool {
        var m = JSONMatcher(grammar: try JSONGrammar(schema: try schema(s)), grounding: grounding)
        return m.feed(Array(text.utf8)) && m.isComplete
    }

    /// Whether `text` can still be continued into a valid value.
    func viable(_ s: String, _ text: String) throws -> Bool {
        var m = JSONMatcher(grammar: try JSONGrammar(schema: try schema(s)))
        return m.feed(Array(text.utf8))
    }

    // MARK: The grammar

    let person = """
    {"type": "object", "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 8},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "role": {"enum": ["admin", "user"]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2}},
     "required": ["name", "age"], "additionalProperties": false}
    """

    func testObjectsFollowTheSchemasPropertiesRequiredOnesIncluded() throws {
        XCTAssertTrue(try complete(person, #"{"name":"Ada","age":36}"#))
        XCTAssertTrue(try complete(person, #"{"name":"Ada","age":36,"role":"user","tags":["x","y"]}"#))
        XCTAssertTrue(try complete(person, #"{"name":"Ada","age":36,"tags":[]}"#))   // an optional one skipped
        XCTAssertFalse(try complete(person, #"{"name":"Ada"}"#))                     // age is required
        XCTAssertFalse(try viable(person, #"{"age":"#))                              // name may not be skipped
        XCTAssertFalse(try viable(person, #"{"name":"Ada","nick"#))                  // no such property
        XCTAssertFalse(try viable(person, #"{"name":"Ada","age":36,"tags":["a","b","#)) // maxItems 2
        XCTAssertFalse(try viable(person, #"{"name":"""#))                           // minLength 1
        XCTAssertFalse(try viable(person, #"{"name":"Adalovela"#))                   // maxLength 8
        XCTAssertFalse(try viable(person, #"{"name":"A","age":121"#))
        XCTAssertFalse(try viable(person, #"{"name":"A","age":-"#))
        XCTAssertTrue(try viable(person, #"{"name":"A","age":12"#))                  // 120 is still reachable
        XCTAssertFalse(try viable(person, #"{"name":"A","age":1.5"#))                // an integer
        XCTAssertFalse(try viable(person, #"{"name":"A","age":36,"role":"root"#))
        XCTAssertFalse(try viable(person, #"{ "name""#))                             // compact JSON only
    }

    func testNumbersStayWithinTheirBoundsAndMultiples() throws {
        let s = #"{"type": "integer", "minimum": 8, "maximum": 4096, "multipleOf": 8}"#
        XCTAssertTrue(try complete(s, "512"))
        XCTAssertFalse(try complete(s, "500"))
        XCTAssertTrue(try viable(s, "50"))            // 504
        XCTAssertFalse(try viable(s, "5000"))
        XCTAssertFalse(try complete(s, "0"))
        let f = #"{"type": "number", "exclusiveMinimum": 0, "maximum": 1}"#
        XCTAssertTrue(try complete(f, "0.25"))
        XCTAssertFalse(try complete(f, "0"))
        XCTAssertTrue(try viable(f, "0."))
        XCTAssertFalse(try viable(f, "1.5"))
        XCTAssertTrue(try complete(f, "1"))
        XCTAssertFalse(try viable(f, "2"))
    }

    func testStringsEscapesPatternsAndUnicode() throws {
        let p = #"{"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}"#
        XCTAssertTrue(try complete(p, #""XAI_API_KEY""#))
        XCTAssertFalse(try viable(p, #""9"#))
        let url = #"{"type": "string", "pattern": "^https?://"}"#
        XCTAssertTrue(try complete(url, #""http://x/v1""#))
        XCTAssertFalse(try viable(url, #""ftp"#))
        XCTAssertFalse(try complete(url, #""http""#))
        let pages = #"{"type": "string", "pattern": "^\\s*[1-9][0-9]*(\\s*-\\s*[1-9][0-9]*)?(\\s*,\\s*[1-9][0-9]*(\\s*-\\s*[1-9][0-9]*)?)*\\s*$"}"#
        XCTAssertTrue(try complete(pages, #""1-3, 7""#))
        XCTAssertFalse(try viable(pages, #""0"#))
        let any = #"{"type": "string", "maxLength": 3}"#
        XCTAssertTrue(try complete(any, #""é\n\u00e9""#))     // three characters
        XCTAssertFalse(try viable(any, "\"a\u{1}"))             // a raw control character
        XCTAssertFalse(try viable(any, #""\x"#))                // not a JSON escape
    }

    func testAnyOfNullableTypesConstAndRefs() throws {
        let s = """
        {"$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}, "required": ["x", "y"], "additionalProperties": false}},
         "type": "object", "properties": {
            "at": {"$ref": "#/$defs/point"},
            "pages": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]},
            "note": {"type": ["string", "null"]},
            "kind": {"const": "box"}},
         "required": ["at", "kind"], "additionalProperties": false}
        """
        XCTAssertTrue(try complete(s, #"{"at":{"x":1,"y":-2.5},"pages":[1,2],"note":null,"kind":"box"}"#))
        XCTAssertTrue(try complete(s, #"{"at":{"x":0,"y":0},"pages":3,"note":"hi","kind":"box"}"#))
        XCTAssertFalse(try viable(s, #"{"at":{"x":1,"y":2},"pages":[]"#))
        XCTAssertFalse(try viable(s, #"{"at":{"x":1,"y":2},"kind":"boy"#))
        // A recursive schema.
        let tree = ##"{"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}, "maxItems": 2}}, "additionalProperties": false}"##
        XCTAssertTrue(try complete(tree, #"{"kids":[{"kids":[{}]},{}]}"#))
        // A free-form object (no declared properties): any keys and values.
        XCTAssertTrue(try complete(#"{"type": "object"}"#, #"{"a":[1,{"b":null}],"c":"d"}"#))
    }

    func testSchemasOutsideTheSubsetAreRefusedNamingTheKeyword() {
        func refusal(_ s: String) -> String {
            do { _ = try JSONGrammar(schema: try JSONParser.parse(s)); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(refusal(#"{"type": "string", "pattern": "(?=a)b"}"#).contains("'pattern'"))
        XCTAssertTrue(refusal(#"{"type": "string", "pattern": "(a)\\1"}"#).contains("'pattern'"))
        XCTAssertTrue(refusal(#"{"type": "array", "uniqueItems": true}"#).contains("'uniqueItems'"))
        XCTAssertTrue(refusal(#"{"properties": {"a": {"not": {"type": "string"}}}}"#).contains("'not' at #/properties/a"))
        XCTAssertTrue(refusal(#"{"oneOf": [{"type": "integer"}, {"type": "number"}]}"#).contains("'oneOf'"))
        XCTAssertTrue(refusal(#"{"type": "number", "multipleOf": 0.5}"#).contains("'multipleOf'"))
        XCTAssertTrue(refusal(#"{"$ref": "other.json#/a"}"#).contains("'$ref'"))
        XCTAssertEqual(refusal(#"{"type": "string", "format": "uri", "description": "annotations are fine"}"#), "")
    }

    func testEveryToolSchemaCompiles() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../schemas/tools").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        XCTAssertGreaterThan(files.count, 10)
        for f in files {
            let tool = try JSONParser.parse([UInt8](Data(contentsOf: dir.appendingPathComponent(f))))
            XCTAssertNoThrow(try JSONGrammar(schema: tool["inputSchema"]!), f)
        }
    }

    // MARK: Grounded strings

    func testGroundedStringsAreSpansOfTheRequestOrWholeKnownValues() throws {
        let s = #"{"type": "object", "properties": {"path": {"type": "string", "x-grounding": "file"}, "query": {"type": "string", "x-grounding": "request"}}, "required": ["path", "query"], "additionalProperties": false}"#
        let g: [String: JSONMatcher.Sources] = ["file": .init(values: ["lib/network/client.go", "README.md"]),
                                                "request": .init(spans: ["where is the retry timeout set in lib/network/client.go?"])]
        XCTAssertTrue(try complete(s, #"{"path":"lib/network/client.go","query":"retry timeout"}"#, grounding: g))
        XCTAssertFalse(try complete(s, #"{"path":"lib/network/client","query":"retry"}"#, grounding: g))   // not a whole path
        var m = JSONMatcher(grammar: try JSONGrammar(schema: try schema(s)), grounding: g)
        XCTAssertFalse(m.feed(Array(#"{"path":"https://example.com"#.utf8)))                              // invented
        var q = JSONMatcher(grammar: try JSONGrammar(schema: try schema(s)), grounding: g)
        XCTAssertFalse(q.feed(Array(#"{"path":"README.md","query":"retry delay"#.utf8)))                   // not in the request
    }

    // MARK: Masks over the real vocabulary

    func testTheMaskAdmitsExactlyTheTokensTheMatcherTakes() throws {
        let c = try JSONConstraint(schema: try schema(person), vocabulary: Self.vocabulary)
        let t = try LlamaParityTests.model().tokenizer
        for tok in t.encode(#"{"name":"Ada"#) { try c.accept(tok) }
        let mask = c.mask()
        for id in 0..<Self.vocabulary.count {
            XCTAssertEqual(mask[id], c.allows(id), "token \(id) \(t.tokens[id].debugDescription)")
        }
        XCTAssertTrue(mask[t.encode("\",").first!] || mask[t.encode("\"").first!])
        XCTAssertFalse(mask[t.encode("\n").first!])   // a raw control character inside a string
    }

    /// The property: for many schemas — these and every tool's input schema — whatever a "model" picks
    /// among the allowed tokens, the output parses and validates. Each walk draws at random (seeded)
    /// from the mask, preferring closing tokens after a while so that it ends.
    func testRandomWalksThroughTheMaskAlwaysValidate() throws {
        let texts = [person,
                       #"{"type": "array", "items": {"type": "integer", "minimum": -5, "maximum": 5}, "minItems": 1, "maxItems": 4}"#,
                       #"{"type": "object", "properties": {"ok": {"type": "boolean"}, "score": {"type": "number", "minimum": 0, "maximum": 1}}, "required": ["ok", "score"], "additionalProperties": false}"#,
                       #"{"anyOf": [{"type": "string", "pattern": "^[a-z]{2,4}$"}, {"type": "null"}]}"#,
                       #"{"type": "object", "properties": {"pages": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[1-9][0-9]*(-[1-9][0-9]*)?$"}]}, "lang": {"enum": ["eng", "deu", "fra"]}}, "required": ["lang"], "additionalProperties": false}"#,
                       #"{"type": "object", "additionalProperties": {"type": "integer"}}"#]
        var schemas: [(JSONValue, Int)] = []
        for t in texts { schemas.append((try schema(t), 8)) }
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../schemas/tools").standardized
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where f.hasSuffix(".json") {
            schemas.append((try JSONParser.parse([UInt8](Data(contentsOf: dir.appendingPathComponent(f))))["inputSchema"]!, 3))
        }
        var rng = SplitMix64(seed: 42)
        var walks = 0, expected = 0
        for (json, n) in schemas {
            let validator = try Schema(json)
            expected += n
            for _ in 0..<n {
                let c = try JSONConstraint(schema: json, vocabulary: Self.vocabulary)
                var steps = 0
                while !c.mustEnd, steps < 400 {
                    if c.canEnd, steps > 24 || rng.next() % 8 == 0 { break }
                    let mask = c.mask()
                    var allowed = mask.indices.filter { mask[$0] }
                    if allowed.isEmpty {
                        XCTAssertTrue(c.canEnd, "a dead end after \(String(decoding: c.text, as: UTF8.self).debugDescription)")
                        break
                    }
                    if steps > 16 {
                        let closing = allowed.filter { Self.vocabulary.bytes[$0].contains { [34, 93, 125].contains($0) } }
                        if !closing.isEmpty { allowed = closing }
                    }
                    try c.accept(allowed[Int(rng.next() % UInt64(allowed.count))])
                    steps += 1
                }
                let text = String(decoding: c.text, as: UTF8.self)
                XCTAssertTrue(c.canEnd, "unfinished: \(text.debugDescription)")
                guard let value = try? JSONParser.parse(text) else { XCTFail("does not parse: \(text.debugDescription)"); continue }
                let r = validator.validate(value)
                XCTAssertTrue(r.valid, "\(text): \(r.summary)")
                walks += 1
            }
        }
        XCTAssertEqual(walks, expected)
    }

    func testTheModelWritesValidJSONUnderTheConstraint() throws {
        let m = try LlamaParityTests.model()
        let s = try schema(person)
        let prompt = m.tokenizer.encode(try m.template().render([.init(role: "user", content: "Describe a user called Ada, aged 36, as JSON.")]))
        var o = SamplingOptions(); o.seed = 1
        let g = try m.generate(prompt: prompt, maxTokens: 60, sampling: o, constraint: try JSONConstraint(schema: s, vocabulary: Self.vocabulary),
                               cache: m.makeCache(capacity: 256))
        XCTAssertTrue([.constraint, .endOfGeneration].contains(g.stop), "\(g.stop): \(g.text)")
        let r = try Schema(s).validate(try JSONParser.parse(g.text))
        XCTAssertTrue(r.valid, "\(g.text): \(r.summary)")
    }
}
