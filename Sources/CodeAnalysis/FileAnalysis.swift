import Foundation
import Storage

/// Everything Atelier reads from one file in one parse: outline, metrics, imports, diagnostics and the
/// identifiers it uses (for references and the repository map).
public struct FileAnalysis: Sendable {
    public var path: String
    public var language: String
    public var hash: String
    public var symbols: [CodeSymbol]
    public var metrics: FileMetrics
    public var imports: [ImportRef]
    public var diagnostics: [SyntaxDiagnostic]
    /// (name, line, column) of identifier tokens.
    public var identifiers: [(String, Int, Int)]

    public static func analyze(_ path: String, limits: SourceFile.Limits = SourceFile.Limits()) throws -> FileAnalysis {
        let source = try SourceFile.read(path, limits: limits)
        let hash = SHA256.hex(source.bytes)
        guard GrammarLibrary.shared.parses(source.language) else {
            // No grammar (or Swift's was not built): ctags for definitions, line counts only, imports by line for Swift.
            let symbols = (try? CtagsOutline.outline(path: path, language: source.language)) ?? []
            let c = source.lineCounts(commentLines: Self.slashCommentLines(source.text))
            let metrics = FileMetrics(path: path, language: source.language.name, lines: c.total, code: c.code, comment: c.comment, blank: c.blank, functions: [])
            let imports = source.language.name == "swift" ? Imports.swift(source.text) : []
            return FileAnalysis(path: path, language: source.language.name, hash: hash, symbols: symbols, metrics: metrics, imports: imports,
                                diagnostics: [], identifiers: Self.words(source.text))
        }
        let tree = try SyntaxTree(source)
        var idents: [(String, Int, Int)] = []
        tree.walk(named: true) { n, _ in
            if tree.classes.node(n, is: .identifier), n.childCount == 0 {
                let p = n.start
                idents.append((tree.text(n), p.line, p.column))
            }
            return true
        }
        // Each symbol's name position: the first occurrence of its name inside its range.
        var symbols = Outliner.outline(tree)
        var byName: [String: [(Int, Int)]] = [:]
        for (n, l, c) in idents { byName[n, default: []].append((l, c)) }
        for i in symbols.indices {
            let r = symbols[i].range
            if let hit = byName[symbols[i].name]?.first(where: { ($0.0, $0.1) >= (r.start.line, r.start.column) && $0.0 <= r.end.line }) {
                symbols[i].selection = Position(line: hit.0, column: hit.1)
            }
        }
        let metrics = CodeMetrics.measure(tree)
        let imports = Imports.of(tree)
        let diagnostics = SyntaxDiagnostics.check(tree)
        return FileAnalysis(path: path, language: source.language.name, hash: hash, symbols: symbols, metrics: metrics,
                            imports: imports, diagnostics: diagnostics, identifiers: idents)
    }

    /// Lines that are `//` comments (languages read by ctags, which reports no comments).
    static func slashCommentLines(_ text: String) -> Set<Int> {
        var out = Set<Int>()
        for (i, l) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where l.trimmingCharacters(in: .whitespaces).hasPrefix("//") { out.insert(i) }
        return out
    }

    /// Identifier-like words with positions, for languages without a grammar.
    static func words(_ text: String) -> [(String, Int, Int)] {
        var out: [(String, Int, Int)] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var col = 0, start = -1
            var cur = ""
            for ch in line {
                col += 1
                if ch.isLetter || ch == "_" || (ch.isNumber && start >= 0) {
                    if start < 0 { start = col }
                    cur.append(ch)
                } else if start >= 0 { out.append((cur, i + 1, start)); cur = ""; start = -1 }
            }
            if start >= 0 { out.append((cur, i + 1, start)) }
        }
        return out
    }
}
