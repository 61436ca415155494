@testable import CodeAnalysis
import XCTest

/// The repository index: incremental updates, symbol search, references, dependencies, repository
/// map, and bad input that is skipped with a reason.
final class IndexTests: XCTestCase {
    var s: Scratch!
    var index: SymbolIndex!

    override func setUpWithError() throws {
        s = try Scratch()
        try s.write("app/__init__.py", "")
        try s.write("app/models.py", "class User:\n    def find_user(self, name):\n        return name\n\ndef compute_total(xs):\n    return sum(xs)\n")
        try s.write("app/services/billing.py", "from ..models import User, compute_total\nimport json\n\ndef bill(u):\n    return compute_total([1]) if User else 0\n")
        try s.write("web/src/main.js", "import { h } from './util.js'\nexport function render() { return h() }\n")
        try s.write("web/src/util.js", "export function h() { return 1 }\n")
        try s.write("include/vec.h", "float vec3_normalize(float *v);\n")
        try s.write("src/vec.c", "#include \"vec.h\"\nfloat vec3_normalize(float *v) { return v[0]; }\nfloat use(float *v) { return vec3_normalize(v); }\n")
        index = try SymbolIndex(root: s.root.path, path: s.root.appendingPathComponent(".idx.sqlite").path)
    }

    func testIndexIsBuiltThenUpdatedIncrementally() throws {
        let first = try index.update()
        XCTAssertEqual(first.analysed, 7)
        XCTAssertGreaterThan(first.symbols, 6)
        let again = try index.update()
        XCTAssertEqual(again.analysed, 0)
        XCTAssertEqual(again.unchanged, 7)
        try s.write("app/models.py", "class User:\n    pass\n\ndef compute_total(xs):\n    return 0\n\ndef audit():\n    pass\n")
        let changed = try index.update()
        XCTAssertEqual(changed.analysed, 1)
        XCTAssertEqual(try index.symbols("audit", match: .exact).map(\.name), ["audit"])
        try FileManager.default.removeItem(atPath: s.root.appendingPathComponent("web/src/util.js").path)
        XCTAssertEqual(try index.update().removed, 1)
        XCTAssertTrue(try index.symbols("h", match: .exact).isEmpty)
    }

    func testAnIndexWithAnOlderLayoutIsRebuilt() throws {
        try index.update()
        try index.db.execute("PRAGMA user_version = 1")
        try index.db.execute("DROP TABLE names")
        try index.db.execute("CREATE TABLE idents(file_id INTEGER, name TEXT, line INTEGER, col INTEGER)")
        let reopened = try SymbolIndex(root: s.root.path, path: s.root.appendingPathComponent(".idx.sqlite").path)
        XCTAssertEqual(try reopened.update().analysed, 7)
        XCTAssertEqual(try reopened.symbols("compute_total", match: .exact).count, 1)
    }

    func testSymbolSearchExactPrefixFuzzyAndKind() throws {
        try index.update()
        XCTAssertEqual(try index.symbols("compute_total", match: .exact).first?.path, s.root.appendingPathComponent("app/models.py").path)
        XCTAssertEqual(try index.symbols("comp", match: .prefix).map(\.name), ["compute_total"])
        XCTAssertEqual(try index.symbols("cmptot", match: .fuzzy).map(\.name), ["compute_total"])
        XCTAssertEqual(try index.symbols("User", match: .exact, kind: "class").count, 1)
        XCTAssertTrue(try index.symbols("User", match: .exact, kind: "function").isEmpty)
    }

    func testReferencesMarkTheDefinition() throws {
        try index.update()
        let refs = try index.references("vec3_normalize")
        XCTAssertEqual(refs.count, 3)
        XCTAssertEqual(refs.filter(\.definition).map { index.relative($0.path) }, ["src/vec.c"], "the prototype in vec.h declares, the .c file defines")
        XCTAssertTrue(refs.contains { !$0.definition && $0.context.contains("return vec3_normalize(v)") })
    }

    func testDependenciesResolveInsideTheRepository() throws {
        let billing = try DependencyGraph.build(s.root.appendingPathComponent("app/services/billing.py").path, root: s.root.path)
        XCTAssertEqual(billing.imports.map(\.module), ["..models", "json"])
        XCTAssertEqual(billing.imports[0].resolved, s.root.appendingPathComponent("app/models.py").path)
        XCTAssertNil(billing.imports[1].resolved)
        let web = try DependencyGraph.build(s.root.appendingPathComponent("web").path, root: s.root.path)
        XCTAssertEqual(web.edges.map { ($0.from as NSString).lastPathComponent + "→" + ($0.to as NSString).lastPathComponent }, ["main.js→util.js"])
        let c = try DependencyGraph.build(s.root.appendingPathComponent("src/vec.c").path, root: s.root.path)
        XCTAssertEqual(c.imports.first?.resolved, s.root.appendingPathComponent("include/vec.h").path)
    }

    func testRepoMapFitsTheBudgetAndRanksUsedSymbolsFirst() throws {
        try index.update()
        let (map, symbols) = try index.repoMap(tokens: 64)
        XCTAssertLessThanOrEqual(map.count, 64 * 4 + 64)
        XCTAssertFalse(symbols.isEmpty)
        XCTAssertTrue(["compute_total", "User", "vec3_normalize", "h"].contains(symbols[0].name), "\(symbols.map(\.name))")
    }

    func testBadInputIsSkippedWithAReason() throws {
        try s.write("bin/blob.py", "x = 1\n\u{0}\u{1}")
        let bad = s.root.appendingPathComponent("latin1.py")
        try Data([0x78, 0x20, 0x3D, 0x20, 0x27, 0xE9, 0x27, 0x0A]).write(to: bad)
        try s.write("min.js", "var a=" + String(repeating: "1+", count: 15_000) + "1;\n")
        try s.write("deep.js", "x = " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000) + ";\n")
        try FileManager.default.createSymbolicLink(atPath: s.root.appendingPathComponent("loop").path, withDestinationPath: s.root.path)
        try FileManager.default.createSymbolicLink(atPath: s.root.appendingPathComponent("etc").path, withDestinationPath: "/etc")
        let report = try index.update()
        let reasons = Dictionary(report.skipped.map { (($0.path as NSString).lastPathComponent, $0.reason) }, uniquingKeysWith: { a, _ in a })
        XCTAssertTrue(reasons["blob.py"]?.contains("binary") ?? false, "\(reasons)")
        XCTAssertTrue(reasons["latin1.py"]?.contains("UTF-8") ?? false)
        XCTAssertTrue(reasons["min.js"]?.contains("minified") ?? false)
        XCTAssertTrue(reasons["loop"]?.contains("loop") ?? false)
        XCTAssertTrue(reasons["etc"]?.contains("leaves the root") ?? false)
        // Deeply nested code is parsed without recursion: analysed or skipped, never a crash.
        XCTAssertNoThrow(try? FileAnalysis.analyze(s.root.appendingPathComponent("deep.js").path))
    }

    func testDiagnosticsAndQueries() throws {
        let a = try s.analyze("broken.py", "def f(x:\n    return x\n")
        XCTAssertFalse(a.diagnostics.isEmpty)
        XCTAssertEqual(a.diagnostics[0].range.start.line, 1)
        XCTAssertTrue(try s.analyze("ok.py", "def f(x):\n    return x\n").diagnostics.isEmpty)
        let tree = try SyntaxTree(try SourceFile.read(s.root.appendingPathComponent("app/models.py").path))
        let caps = try StructuralQuery.run("(function_definition name: (identifier) @name)", on: tree)
        XCTAssertEqual(caps.map(\.text), ["find_user", "compute_total"])
        XCTAssertThrowsError(try StructuralQuery.run("(no_such_node) @x", on: tree)) { XCTAssertTrue("\($0)".contains("unknown node type")) }
    }
}
