import Foundation
import XCTest
@testable import JSONSchema

/// Runs every test of the official JSON-Schema-Test-Suite for the dialects we claim.
/// The required tests must all pass; optional format tests run with format assertion on,
/// for every format `FormatChecker` claims (plus "regex").
final class OfficialSuiteTests: XCTestCase {
    struct Outcome {
        var passed = 0
        var failures: [String] = []
    }

    static let registry: SchemaRegistry = {
        let r = SchemaRegistry()
        try! r.registerDirectory(TestSuiteLocation.root.appendingPathComponent("remotes").path, baseURI: "http://localhost:1234/")
        return r
    }()

    func run(files: [URL], dialect: Dialect, formatAssertion: Bool = false, only formats: Set<String>? = nil) throws -> Outcome {
        var out = Outcome()
        for file in files.sorted(by: { $0.path < $1.path }) {
            let groups = try JSONParser.parse(Array(Data(contentsOf: file)))
            for group in groups.arrayValue ?? [] {
                let schemaJSON = group["schema"]!
                if let formats, let f = schemaJSON["format"]?.stringValue, !formats.contains(f) { continue }
                let where_ = "\(file.lastPathComponent): \(group["description"]?.stringValue ?? "")"
                let schema: Schema
                do {
                    schema = try Schema(schemaJSON, registry: Self.registry,
                                        options: ValidationOptions(formatAssertion: formatAssertion, defaultDialect: dialect))
                } catch {
                    out.failures.append("\(where_): schema did not compile: \(error)")
                    continue
                }
                for test in group["tests"]?.arrayValue ?? [] {
                    let expected = test["valid"]?.boolValue ?? false
                    let data = test["data"] ?? .null
                    let full = schema.validate(data)
                    let quick = schema.isValid(data)
                    if full.valid == expected && quick == expected && (expected || !full.errors.isEmpty) {
                        out.passed += 1
                    } else {
                        out.failures.append("\(where_) / \(test["description"]?.stringValue ?? ""): expected \(expected), got \(full.valid)/\(quick) \(full.summary)")
                    }
                }
            }
        }
        return out
    }

    func files(_ draft: String, _ sub: String = "") throws -> [URL] {
        let dir = TestSuiteLocation.root.appendingPathComponent("tests/\(draft)\(sub)")
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).filter { $0.pathExtension == "json" }
    }

    func report(_ name: String, _ o: Outcome) {
        print("\(name): \(o.passed) passed, \(o.failures.count) failed")
        for f in o.failures { print("  FAIL \(f)") }
        XCTAssertEqual(o.failures.count, 0, "\(name): \(o.failures.count) failures")
    }

    func testDraft2020_12Required() throws {
        let o = try run(files: files("draft2020-12"), dialect: .draft2020_12)
        report("draft2020-12 required", o)
        XCTAssertEqual(o.passed, 1299)
    }

    func testDraft7Required() throws {
        let o = try run(files: files("draft7"), dialect: .draft7)
        report("draft7 required", o)
        XCTAssertEqual(o.passed, 927)
    }

    func testFormatsAsAssertions() throws {
        let claimed = FormatChecker.known.union(["regex"])
        report("draft2020-12 optional/format", try run(files: files("draft2020-12", "/optional/format"), dialect: .draft2020_12, formatAssertion: true, only: claimed))
        report("draft7 optional/format", try run(files: files("draft7", "/optional/format"), dialect: .draft7, formatAssertion: true, only: claimed))
    }

    func testOptionalBehaviour() throws {
        // Optional tests for behaviour we claim: big numbers, float overflow, ECMA-262 regexes, non-BMP regexes,
        // format-assertion vocabulary, unknown keywords, anchors and ids.
        let names = ["bignum.json", "float-overflow.json", "ecmascript-regex.json", "non-bmp-regex.json",
                     "format-assertion.json", "unknownKeyword.json", "anchor.json", "id.json", "refOfUnknownKeyword.json",
                     "dynamicRef.json", "no-schema.json", "dependencies-compatibility.json", "cross-draft.json"]
        for draft in ["draft2020-12", "draft7"] {
            let fs = try files(draft, "/optional").filter { names.contains($0.lastPathComponent) }
            report("\(draft) optional", try run(files: fs, dialect: draft == "draft7" ? .draft7 : .draft2020_12))
        }
    }
}
