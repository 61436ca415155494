import CTreeSitter
import Foundation

/// A tree-sitter query match: one capture's node.
public struct QueryCapture: Codable, Sendable, Equatable {
    public var capture: String
    public var type: String
    public var text: String
    public var range: SourceRange
    public var path: String?
}

/// Structural search with tree-sitter's S-expression queries, e.g. `(call function: (identifier) @f)`.
public enum StructuralQuery {
    public static func run(_ pattern: String, on tree: SyntaxTree, limit: Int = 1000) throws -> [QueryCapture] {
        let language = try GrammarLibrary.shared.language(tree.source.language.grammar!)
        var offset: UInt32 = 0
        var error = TSQueryErrorNone
        let query = pattern.withCString { ts_query_new(language, $0, UInt32(strlen($0)), &offset, &error) }
        guard let query else {
            let kinds = [TSQueryErrorSyntax: "syntax", TSQueryErrorNodeType: "unknown node type", TSQueryErrorField: "unknown field",
                         TSQueryErrorCapture: "unknown capture", TSQueryErrorStructure: "impossible pattern"]
            throw CodeError.invalidQuery(pattern, detail: "\(kinds[error] ?? "error") at offset \(offset) for \(tree.source.language.name)")
        }
        defer { ts_query_delete(query) }
        let cursor = ts_query_cursor_new()!
        defer { ts_query_cursor_delete(cursor) }
        ts_query_cursor_set_match_limit(cursor, 10_000)
        ts_query_cursor_exec(cursor, query, tree.root.raw)
        var match = TSQueryMatch()
        var index: UInt32 = 0
        var out: [QueryCapture] = []
        while out.count < limit, ts_query_cursor_next_capture(cursor, &match, &index) {
            let cap = match.captures[Int(index)]
            var len: UInt32 = 0
            let name = String(cString: ts_query_capture_name_for_id(query, cap.index, &len))
            let node = SyntaxTree.Node(raw: cap.node, names: tree.names)
            out.append(QueryCapture(capture: name, type: node.type, text: String(tree.text(node).prefix(500)),
                                    range: SourceRange(start: node.start, end: node.end), path: nil))
        }
        return out
    }
}
