import XCTest
import JSONSchema
import Orchestrator
@testable import Tools

final class FileSystemToolTests: XCTestCase {
    var root: URL!
    var outside: URL!
    var registry: ToolRegistry!

    override func setUpWithError() throws {
        root = temporaryDirectory()
        outside = temporaryDirectory()
        try "hello\n".write(to: root.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try "deep".write(to: root.appendingPathComponent("sub/b.txt"), atomically: true, encoding: .utf8)
        try "secret".write(to: outside.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("escape"), withDestinationURL: outside.appendingPathComponent("secret.txt"))
        registry = ToolRegistry(roots: [root])
        try ToolCatalog.registerDefaults(in: registry, config: nil)
    }

    func testReadsAndListsInsideTheRoots() async throws {
        let read = try await registry.call("fs_read", ["path": "a.txt"])
        XCTAssertEqual(read.structured?["content"], "hello\n")
        XCTAssertEqual(read.structured?["truncated"], false)
        let part = try await registry.call("fs_read", ["path": "a.txt", "offset": 1, "maxBytes": 2])
        XCTAssertEqual(part.structured?["content"], "el")
        XCTAssertEqual(part.structured?["truncated"], true)
        let list = try await registry.call("fs_list", ["recursive": true])
        let paths = list.structured?["entries"]?.arrayValue?.compactMap { $0["path"]?.stringValue }
        XCTAssertEqual(Set(paths ?? []), ["a.txt", "sub", "escape", "sub/b.txt"])
    }

    func testEscapesAreRefused() async throws {
        for path in ["../" + outside.lastPathComponent + "/secret.txt", outside.appendingPathComponent("secret.txt").path, "escape", "sub/../../x"] {
            do {
                _ = try await registry.call("fs_read", ["path": .string(path)])
                XCTFail("\(path) should be refused")
            } catch {
                XCTAssertTrue(error.description.contains("outside the allowed roots"), "\(path): \(error)")
            }
        }
    }
}
