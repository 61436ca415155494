import XCTest
import JSONSchema
import Orchestrator
import TestSupport
@testable import Tools

/// `schemas/` is the source of truth; the binary serves embedded copies, which must match exactly.
final class SchemaFilesTests: XCTestCase {
    func testEmbeddedSchemasMatchTheFiles() throws {
        for (folder, embedded) in [("tools", ToolCatalog.embeddedToolSchemas), ("config", ToolCatalog.embeddedConfigSchemas)] {
            let dir = Repository.root.appendingPathComponent("schemas/\(folder)")
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
            XCTAssertEqual(Set(files.map { String($0.dropLast(5)) }), Set(embedded.keys), "run `make schemas`")
            for f in files {
                let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
                XCTAssertEqual(try JSONParser.parse(text), try JSONParser.parse(embedded[String(f.dropLast(5))]!), "\(folder)/\(f) changed: run `make schemas`")
            }
        }
    }

    func testEveryToolSchemaIsAValidSchemaAndNameMatchesFile() throws {
        let meta = try Schema(.object(JSONObject([("$ref", "https://json-schema.org/draft/2020-12/schema")])))
        for (stem, text) in ToolCatalog.embeddedToolSchemas {
            let d = try ToolDescriptor(json: try JSONParser.parse(text))
            XCTAssertEqual(d.name, stem)
            XCTAssertTrue(meta.isValid(d.inputSchema), "\(stem) inputSchema")
            if let o = d.outputSchema { XCTAssertTrue(meta.isValid(o), "\(stem) outputSchema") }
        }
        XCTAssertTrue(meta.isValid(try JSONParser.parse(ToolCatalog.embeddedConfigSchemas["atelier"]!)))
    }
}
