import ArgumentParser
import CodeAnalysis
import Foundation
import JSONSchema
import Orchestrator
import Tools

/// `atelier code …`: the code_* tools from the command line. Each prints the tool's text, or its
/// structured result with --json.
struct CodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "code", abstract: "Code analysis: outlines, symbols, references, dependencies, metrics, syntax errors, queries, repository maps.",
        subcommands: [Outline.self, Symbols.self, Refs.self, Deps.self, Metrics.self, Diagnostics.self, Query.self, Map.self, Index.self, LanguagesList.self])

    struct Shared: ParsableArguments {
        @Option(name: .long, help: "Repository root (default: the current folder when the path is inside it, else the enclosing repository).") var root: String?
        @Flag(name: .long, help: "Print the structured result as JSON.") var json = false
    }

    /// The root to confine and index: --root, the current folder, or the repository around the path.
    static func root(for path: String?, _ shared: Shared) -> String {
        if let r = shared.root { return URL(fileURLWithPath: r).standardizedFileURL.path }
        let cwd = FileManager.default.currentDirectoryPath
        guard let path else { return cwd }
        let abs = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: cwd + "/")).standardizedFileURL.path
        if abs == cwd || abs.hasPrefix(cwd + "/") { return cwd }
        var dir = abs
        while dir != "/" {
            dir = (dir as NSString).deletingLastPathComponent
            if [".git", "Package.swift", "pyproject.toml", "package.json", "Cargo.toml", "go.mod"].contains(where: { FileManager.default.fileExists(atPath: dir + "/" + $0) }) { return dir }
        }
        var isDir: ObjCBool = false
        FileManager.default.fileExists(atPath: abs, isDirectory: &isDir)
        return isDir.boolValue ? abs : (abs as NSString).deletingLastPathComponent
    }

    static func call(_ tool: String, _ args: [(String, JSONValue)], path: String?, _ shared: Shared) async throws {
        let root = root(for: path, shared)
        var arguments = JSONObject(args)
        if let path {
            let cwd = FileManager.default.currentDirectoryPath
            arguments["path"] = .string(URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: cwd + "/")).standardizedFileURL.path)
        }
        let registry = ToolRegistry(roots: [URL(fileURLWithPath: root)])
        try ToolCatalog.registerDefaults(in: registry, config: nil)
        do {
            let out = try await registry.call(tool, .object(arguments))
            if shared.json { printJSON(out.structured ?? .null, pretty: true) } else { print(out.text ?? "") }
        } catch {
            FileHandle.standardError.write(Data("atelier code: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    struct Outline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Definitions in a file, with kinds, ranges, signatures and doc comments.")
        @Argument var file: String
        @OptionGroup var shared: Shared
        func run() async throws { try await CodeCommand.call("code_outline", [], path: file, shared) }
    }

    struct Symbols: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Find definitions by name in the repository index (updated first).")
        @Argument var query: String
        @Option(name: .long, help: "exact, prefix or fuzzy.") var match: String = "fuzzy"
        @Option(name: .long, help: "Only this kind (function, class, method, …).") var kind: String?
        @Option(name: .long) var limit: Int = 50
        @OptionGroup var shared: Shared
        func run() async throws {
            var a: [(String, JSONValue)] = [("query", .string(query)), ("match", .string(match)), ("limit", JSONValue(limit))]
            if let kind { a.append(("kind", .string(kind))) }
            try await CodeCommand.call("code_symbols", a, path: nil, shared)
        }
    }

    struct Refs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "refs", abstract: "Where a name is used in the repository.")
        @Argument var symbol: String
        @Option(name: .long) var limit: Int = 500
        @OptionGroup var shared: Shared
        func run() async throws { try await CodeCommand.call("code_references", [("symbol", .string(symbol)), ("limit", JSONValue(limit))], path: nil, shared) }
    }

    struct Deps: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A file's imports, or the dependency graph of a folder.")
        @Argument var path: String
        @OptionGroup var shared: Shared
        func run() async throws { try await CodeCommand.call("code_dependencies", [], path: path, shared) }
    }

    struct Metrics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lines and per-function complexity, parameters, nesting and length.")
        @Argument var path: String
        @Option(name: .long, help: "Most complex functions listed for a folder.") var limit: Int = 20
        @OptionGroup var shared: Shared
        func run() async throws { try await CodeCommand.call("code_metrics", [("limit", JSONValue(limit))], path: path, shared) }
    }

    struct Diagnostics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Syntax errors of a file or a folder.")
        @Argument var path: String
        @OptionGroup var shared: Shared
        func run() async throws { try await CodeCommand.call("code_diagnostics", [], path: path, shared) }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a tree-sitter query over a file or a folder.")
        @Argument(help: "The query, e.g. '(function_definition name: (identifier) @name)'.") var query: String
        @Argument var path: String
        @Option(name: .long, help: "For a folder: only files of this language.") var language: String?
        @OptionGroup var shared: Shared
        func run() async throws {
            var a: [(String, JSONValue)] = [("query", .string(query))]
            if let language { a.append(("language", .string(language))) }
            try await CodeCommand.call("code_query", a, path: path, shared)
        }
    }

    struct Map: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The repository's most important definitions within a token budget.")
        @Argument var path: String?
        @Option(name: .long) var tokens: Int = 1024
        @OptionGroup var shared: Shared
        func run() async throws { try await CodeCommand.call("code_repo_map", [("tokens", JSONValue(tokens))], path: path, shared) }
    }

    struct Index: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Build or refresh the repository's symbol index and report what changed.")
        @Argument var path: String?
        @OptionGroup var shared: Shared
        func run() throws {
            let root = path.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? CodeCommand.root(for: nil, shared)
            let report = try SymbolIndex(root: root).update()
            if shared.json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try enc.encode(report), as: UTF8.self))
            } else {
                print("\(report.files) files: \(report.analysed) analysed, \(report.unchanged) unchanged, \(report.removed) removed; \(report.symbols) symbols in \(String(format: "%.2f", report.seconds)) s")
                for s in report.skipped { print("skipped \(s.path): \(s.reason)") }
            }
        }
    }

    struct LanguagesList: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "languages", abstract: "The languages read and what is supported for each.")
        @Flag(name: .long) var json = false
        func run() throws {
            let grammars = GrammarLibrary.shared.isAvailable
            let rows = Languages.all.map { l -> [String: Any] in
                ["name": l.name, "extensions": l.extensions, "parser": l.grammar != nil ? (grammars ? "tree-sitter" : "tree-sitter (grammars missing)") : "ctags",
                 "outline": l.supportsOutline, "complexity": l.supportsComplexity, "imports": l.supportsImports || l.name == "swift",
                 "diagnostics": l.grammar != nil, "query": l.grammar != nil]
            }
            if json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
                return
            }
            func yes(_ b: Any?) -> String { (b as? Bool) == true ? "yes" : "–" }
            print("language            parser        outline  complexity  imports  diagnostics")
            for r in rows {
                print(String(format: "%-19@ %-13@ %-8@ %-11@ %-8@ %@", r["name"] as! String as NSString, r["parser"] as! String as NSString,
                             yes(r["outline"]) as NSString, yes(r["complexity"]) as NSString, yes(r["imports"]) as NSString, yes(r["diagnostics"]) as NSString))
            }
            let outline = Languages.all.filter(\.supportsOutline).count, cx = Languages.all.filter(\.supportsComplexity).count
            print("\n\(Languages.all.count) languages: outline for \(outline), complexity for \(cx).")
        }
    }
}
