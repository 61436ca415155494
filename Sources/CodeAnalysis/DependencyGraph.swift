import Foundation

/// Imports of a file, or the graph between the files of a folder, with what lies outside it.
public struct DependencyGraph: Codable, Sendable {
    public struct Edge: Codable, Sendable, Equatable { public var from: String; public var to: String; public var module: String }
    public var path: String
    /// For a file: its imports, resolved where they name a file of the repository.
    public var imports: [ImportRef]
    public var edges: [Edge]
    /// Modules imported from outside (standard library, packages), with how many files use each.
    public var external: [External]
    public struct External: Codable, Sendable, Equatable { public var module: String; public var files: Int }

    public static func build(_ path: String, root: String) throws -> DependencyGraph {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw CodeError.notFound(path) }
        let scope = isDir.boolValue ? path : root
        let all = Set(RepositoryFiles.list(root).files)
        if !isDir.boolValue {
            let source = try SourceFile.read(path)
            let refs = !GrammarLibrary.shared.parses(source.language)
                ? (source.language.name == "swift" ? Imports.swift(source.text) : []) : Imports.of(try SyntaxTree(source))
            let resolved = refs.map { r -> ImportRef in
                var r = r
                r.resolved = Imports.resolve(r, from: path, language: source.language.name, files: all, root: root)
                return r
            }
            return DependencyGraph(path: path, imports: resolved, edges: resolved.compactMap { r in r.resolved.map { Edge(from: path, to: $0, module: r.module) } },
                                   external: resolved.filter { $0.resolved == nil }.map { External(module: $0.module, files: 1) })
        }
        var edges: [Edge] = []
        var external: [String: Set<String>] = [:]
        for f in RepositoryFiles.list(scope).files {
            guard let a = try? FileAnalysis.analyze(f) else { continue }
            for r in a.imports {
                if let to = Imports.resolve(r, from: f, language: a.language, files: all, root: root) {
                    if !edges.contains(Edge(from: f, to: to, module: r.module)) { edges.append(Edge(from: f, to: to, module: r.module)) }
                } else {
                    external[r.module, default: []].insert(f)
                }
            }
        }
        return DependencyGraph(path: path, imports: [], edges: edges,
                               external: external.map { External(module: $0.key, files: $0.value.count) }.sorted { ($0.files, $1.module) > ($1.files, $0.module) })
    }

    public var summary: String {
        var lines: [String] = []
        if !imports.isEmpty { lines += imports.map { "\($0.line): \($0.module)" + ($0.resolved.map { " → \($0)" } ?? "") } } else {
            lines += edges.map { "\($0.from) → \($0.to)" }
            if !external.isEmpty { lines.append("external: " + external.prefix(30).map { "\($0.module) (\($0.files))" }.joined(separator: ", ")) }
        }
        return lines.isEmpty ? "no imports" : lines.joined(separator: "\n")
    }
}
