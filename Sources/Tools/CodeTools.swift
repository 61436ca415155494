import CodeAnalysis
import Foundation
import JSONSchema
import Orchestrator

/// The code_* tools: per-file analysis parses on demand; repository-wide questions use a symbol index
/// per root, refreshed incrementally before each query.
public final class CodeService: @unchecked Sendable {
    let sandbox: RootSandbox
    private let lock = NSLock()
    private var indexes: [String: SymbolIndex] = [:]

    public init(sandbox: RootSandbox) { self.sandbox = sandbox }

    func resolve(_ path: String?) throws -> String {
        guard let path, !path.isEmpty else { return sandbox.roots.first?.path ?? FileManager.default.currentDirectoryPath }
        do { return try sandbox.resolve(path).path } catch { throw ToolError.failed("\(error)") }
    }

    /// The up-to-date index of the root that contains `path`.
    func index(containing path: String) throws -> SymbolIndex {
        let root = sandbox.roots.map(\.path).filter { path == $0 || path.hasPrefix($0 + "/") }.max { $0.count < $1.count }
            ?? sandbox.roots.first?.path ?? path
        let index = try lock.withLock {
            if let i = indexes[root] { return i }
            let i = try SymbolIndex(root: root)
            indexes[root] = i
            return i
        }
        try index.update()
        return index
    }

    /// The index for a call's optional `path` argument, and the folder to restrict results to (none
    /// when the call names no path: the whole root).
    func scopedIndex(_ arguments: JSONValue) throws -> (index: SymbolIndex, prefix: String?) {
        let scope = try resolve(arguments["path"]?.stringValue)
        return (try index(containing: scope), arguments["path"] == nil ? nil : scope)
    }

    static func json<T: Encodable>(_ v: T) -> JSONValue { JSONValue(encoding: v) }

    static func analyze(_ path: String) throws -> FileAnalysis {
        do { return try FileAnalysis.analyze(path) } catch let e as CodeError { throw ToolError.failed(e.description) }
    }

    static func isDirectory(_ p: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: p, isDirectory: &d) && d.boolValue
    }
}

public struct CodeOutlineTool: Tool {
    public let descriptor = ToolCatalog.descriptor("code_outline")
    let service: CodeService
    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let path = try service.resolve(arguments["path"]?.stringValue)
        let a = try CodeService.analyze(path)
        let text = a.symbols.map { "\($0.range.start.line): \(String(repeating: "  ", count: $0.parent == nil ? 0 : 1))\($0.kind) \($0.name)\($0.signature.map { "  — \($0)" } ?? "")" }.joined(separator: "\n")
        return ToolOutput(structured: .object(JSONObject([("path", .string(path)), ("language", .string(a.language)), ("symbols", CodeService.json(a.symbols))])),
                          text: text.isEmpty ? "no definitions" : text)
    }
}

public struct CodeSymbolsTool: Tool {
    public let descriptor = ToolCatalog.descriptor("code_symbols")
    let service: CodeService
    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let (index, prefix) = try service.scopedIndex(arguments)
        let match = SymbolIndex.Match(rawValue: arguments["match"]?.stringValue ?? "fuzzy") ?? .fuzzy
        let found = try index.symbols(arguments["query"]!.stringValue!, match: match, kind: arguments["kind"]?.stringValue,
                                      pathPrefix: prefix, limit: arguments["limit"]?.intValue ?? 50)
        let text = found.map { "\(index.relative($0.path ?? "")):\($0.range.start.line): \($0.kind) \($0.name)\($0.signature.map { "  — \($0)" } ?? "")" }.joined(separator: "\n")
        return ToolOutput(structured: .object(JSONObject([("symbols", CodeService.json(found))])), text: text.isEmpty ? "no matching symbols" : text)
    }
}

public struct CodeReferencesTool: Tool {
    public let descriptor = ToolCatalog.descriptor("code_references")
    let service: CodeService
    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let (index, prefix) = try service.scopedIndex(arguments)
        let name = arguments["symbol"]!.stringValue!
        let refs = try index.references(name, pathPrefix: prefix, limit: arguments["limit"]?.intValue ?? 500)
        let text = refs.map { "\(index.relative($0.path)):\($0.line):\($0.column)\($0.definition ? " (definition)" : ""): \($0.context)" }.joined(separator: "\n")
        return ToolOutput(structured: .object(JSONObject([("symbol", .string(name)), ("references", CodeService.json(refs))])),
                          text: text.isEmpty ? "\(name) is not used anywhere" : text)
    }
}

public struct CodeDependenciesTool: Tool {
    public let descriptor = ToolCatalog.descriptor("code_dependencies")
    let service: CodeService
    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let path = try service.resolve(arguments["path"]?.stringValue)
        let root = service.sandbox.roots.map(\.path).first { path == $0 || path.hasPrefix($0 + "/") } ?? path
        do {
            let g = try DependencyGraph.build(path, root: root)
            return ToolOutput(structured: CodeService.json(g), text: g.summary)
        } catch let e as CodeError { throw ToolError.failed(e.description) }
    }
}

public struct CodeMetricsTool: Tool {
    public let descriptor = ToolCatalog.descriptor("code_metrics")
    let service: CodeService
    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let path = try service.resolve(arguments["path"]?.stringValue)
        let limit = arguments["limit"]?.intValue ?? 20
        var files: [FileMetrics] = []
        if CodeService.isDirectory(path) {
            for f in RepositoryFiles.list(path).files { if let a = try? FileAnalysis.analyze(f) { files.append(a.metrics) } }
        } else {
            files = [try CodeService.analyze(path).metrics]
        }
        let fns = files.flatMap { f in f.functions.map { (f.path, $0) } }.sorted { $0.1.complexity > $1.1.complexity }
        let top = CodeService.isDirectory(path) ? Array(fns.prefix(limit)) : fns.sorted { $0.1.range.start.line < $1.1.range.start.line }
        let totals: JSONValue = .object(JSONObject([
            ("files", JSONValue(files.count)), ("lines", JSONValue(files.reduce(0) { $0 + $1.lines })), ("code", JSONValue(files.reduce(0) { $0 + $1.code })),
            ("comment", JSONValue(files.reduce(0) { $0 + $1.comment })), ("blank", JSONValue(files.reduce(0) { $0 + $1.blank })),
            ("functions", JSONValue(fns.count)),
            ("meanComplexity", .number(JSONNumber(fns.isEmpty ? 0 : (Double(fns.reduce(0) { $0 + $1.1.complexity }) / Double(fns.count) * 100).rounded() / 100))),
        ]))
        let fnJSON: JSONValue = .array(top.map { p, f in
            var o = CodeService.json(f).objectValue ?? JSONObject()
            o["path"] = .string(p)
            return .object(o)
        })
        let filesJSON: JSONValue = .array(files.map { f in
            .object(JSONObject([("path", .string(f.path)), ("language", .string(f.language)), ("lines", JSONValue(f.lines)), ("code", JSONValue(f.code)),
                                ("comment", JSONValue(f.comment)), ("blank", JSONValue(f.blank)), ("functions", JSONValue(f.functions.count))]))
        })
        let text = top.map { "\($0.1.name) (line \($0.1.range.start.line)): complexity \($0.1.complexity), \($0.1.parameters) parameters, nesting \($0.1.nesting), \($0.1.lines) lines" }.joined(separator: "\n")
        return ToolOutput(structured: .object(JSONObject([("path", .string(path)), ("totals", totals), ("files", filesJSON), ("functions", fnJSON)])),
                          text: text.isEmpty ? "no functions" : text)
    }
}

public struct CodeDiagnosticsTool: Tool {
    public let descriptor = ToolCatalog.descriptor("code_diagnostics")
    let service: CodeService
    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let path = try service.resolve(arguments["path"]?.stringValue)
        let paths = CodeService.isDirectory(path) ? RepositoryFiles.list(path).files : [path]
        var files: [JSONValue] = []
        var lines: [String] = []
        var errors = 0
        for p in paths {
            guard let a = CodeService.isDirectory(path) ? try? FileAnalysis.analyze(p) : try CodeService.analyze(p) else { continue }
            if a.diagnostics.isEmpty && paths.count > 1 { continue }
            errors += a.diagnostics.count
            files.append(.object(JSONObject([("path", .string(p)), ("language", .string(a.language)), ("diagnostics", CodeService.json(a.diagnostics))])))
            lines += a.diagnostics.map { "\(p):\($0.range.start.line):\($0.range.start.column): \($0.message)" }
        }
        return ToolOutput(structured: .object(JSONObject([("path", .string(path)), ("files", .array(files)), ("errors", JSONValue(errors))])),
                          text: lines.isEmpty ? "no syntax errors" : lines.joined(separator: "\n"))
    }
}

public struct CodeQueryTool: Tool {
    public let descriptor = ToolCatalog.descriptor("code_query")
    let service: CodeService
    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let path = try service.resolve(arguments["path"]?.stringValue)
        let query = arguments["query"]!.stringValue!
        let limit = arguments["limit"]?.intValue ?? 500
        var paths = [path]
        if CodeService.isDirectory(path) {
            let lang = arguments["language"]?.stringValue
            paths = RepositoryFiles.list(path).files.filter { f in lang.map { Languages.detect(path: f)?.name == $0 } ?? true }
        }
        var captures: [QueryCapture] = []
        do {
            for p in paths where captures.count < limit {
                let src: SourceFile
                if paths.count == 1 {
                    src = try SourceFile.read(p)
                    guard src.language.grammar != nil else { throw ToolError.failed("\(p): \(src.language.name) has no tree-sitter grammar here; queries need one") }
                } else {
                    guard let s = try? SourceFile.read(p), s.language.grammar != nil else { continue }
                    src = s
                }
                let tree = try SyntaxTree(src)
                do {
                    captures += try StructuralQuery.run(query, on: tree, limit: limit - captures.count).map { var c = $0; c.path = p; return c }
                } catch let e as CodeError where paths.count > 1 {
                    // A query written for one language does not compile for the others: skip those files.
                    if case .invalidQuery = e { continue } else { throw e }
                }
            }
        } catch let e as CodeError { throw ToolError.failed(e.description) }
        let text = captures.map { "\($0.path ?? ""):\($0.range.start.line): @\($0.capture) \($0.text.split(whereSeparator: \.isNewline).first ?? "")" }.joined(separator: "\n")
        return ToolOutput(structured: .object(JSONObject([("captures", CodeService.json(captures))])), text: text.isEmpty ? "no matches" : text)
    }
}

public struct CodeRepoMapTool: Tool {
    public let descriptor = ToolCatalog.descriptor("code_repo_map")
    let service: CodeService
    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let (index, prefix) = try service.scopedIndex(arguments)
        let tokens = arguments["tokens"]?.intValue ?? 1024
        let (map, symbols) = try index.repoMap(pathPrefix: prefix, tokens: tokens)
        return ToolOutput(structured: .object(JSONObject([("map", .string(map)), ("symbols", CodeService.json(symbols)), ("tokens", JSONValue((map.count + 3) / 4))])),
                          text: map.isEmpty ? "no symbols" : map)
    }
}
