import CTreeSitter
import Foundation

/// A parsed file. Nodes are plain values; the tree must outlive them.
public final class SyntaxTree: @unchecked Sendable {
    let tree: OpaquePointer
    public let source: SourceFile
    let names: NodeTypeNames
    let classes: NodeClasses

    /// Parses with a time limit, so pathological input cannot hang a request.
    public init(_ source: SourceFile, timeoutMicros: UInt64 = 5_000_000) throws {
        guard let symbol = source.language.grammar else { throw CodeError.unsupportedLanguage(source.path) }
        let language = try GrammarLibrary.shared.language(symbol)
        names = GrammarLibrary.shared.typeNames(symbol, language)
        classes = GrammarLibrary.shared.classes(source.language, names: names)
        let parser = ts_parser_new()!
        defer { ts_parser_delete(parser) }
        ts_parser_set_language(parser, language)
        ts_parser_set_timeout_micros(parser, timeoutMicros)
        let tree = source.bytes.withUnsafeBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { ts_parser_parse_string(parser, nil, $0, UInt32(b.count)) }
        }
        guard let tree else { throw CodeError.parseTimeout(source.path) }
        self.tree = tree
        self.source = source
    }

    deinit { ts_tree_delete(tree) }

    public var root: Node { Node(raw: ts_tree_root_node(tree), names: names) }

    public func text(_ n: Node) -> String {
        let s = Int(ts_node_start_byte(n.raw)), e = min(Int(ts_node_end_byte(n.raw)), source.bytes.count)
        guard s < e else { return "" }
        return String(decoding: source.bytes[s..<e], as: UTF8.self)
    }

    /// Every node of a subtree in document order, with a tree cursor (O(1) per step, no recursion:
    /// deeply nested code cannot overflow the stack). `visit` returns false to skip a node's children.
    public func walk(_ from: Node? = nil, named: Bool = false, _ visit: (Node, _ depth: Int) -> Bool) {
        var cursor = ts_tree_cursor_new((from ?? root).raw)
        defer { ts_tree_cursor_delete(&cursor) }
        var depth = 0
        while true {
            let n = Node(raw: ts_tree_cursor_current_node(&cursor), names: names)
            let descend = (!named || n.isNamed) ? visit(n, depth) : true
            if descend, ts_tree_cursor_goto_first_child(&cursor) { depth += 1; continue }
            while depth > 0, !ts_tree_cursor_goto_next_sibling(&cursor) {
                _ = ts_tree_cursor_goto_parent(&cursor)
                depth -= 1
            }
            if depth == 0 { return }
        }
    }

    /// Byte offsets where each line starts (index 0 is line 1).
    public lazy var lineStarts: [Int] = {
        var starts = [0]
        for (i, b) in source.bytes.enumerated() where b == 10 { starts.append(i + 1) }
        return starts
    }()

    public struct Node {
        let raw: TSNode
        unowned(unsafe) let names: NodeTypeNames
        /// The node's type, looked up by symbol (no string is built per node).
        public var type: String { names.name(ts_node_symbol(raw)) }
        public var isNamed: Bool { ts_node_is_named(raw) }
        public var isMissing: Bool { ts_node_is_missing(raw) }
        public var hasError: Bool { ts_node_has_error(raw) }
        public var isNull: Bool { ts_node_is_null(raw) }
        public var childCount: Int { Int(ts_node_child_count(raw)) }
        public var namedChildCount: Int { Int(ts_node_named_child_count(raw)) }
        func wrap(_ r: TSNode) -> Node { Node(raw: r, names: names) }
        public func child(_ i: Int) -> Node { wrap(ts_node_child(raw, UInt32(i))) }
        public func namedChild(_ i: Int) -> Node { wrap(ts_node_named_child(raw, UInt32(i))) }
        public var namedChildren: [Node] {
            var out: [Node] = []
            var c = ts_node_named_child(raw, 0)
            while !ts_node_is_null(c) { out.append(wrap(c)); c = ts_node_next_named_sibling(c) }
            return out
        }
        public var parent: Node? { let p = wrap(ts_node_parent(raw)); return p.isNull ? nil : p }
        public var previousNamedSibling: Node? { let p = wrap(ts_node_prev_named_sibling(raw)); return p.isNull ? nil : p }
        public func field(_ name: String) -> Node? {
            let n = name.withCString { wrap(ts_node_child_by_field_name(raw, $0, UInt32(strlen($0)))) }
            return n.isNull ? nil : n
        }
        public var startByte: Int { Int(ts_node_start_byte(raw)) }
        public var endByte: Int { Int(ts_node_end_byte(raw)) }
        /// 1-based line and column (columns in bytes, as editors' LSP offsets in UTF-8).
        public var start: Position { let p = ts_node_start_point(raw); return Position(line: Int(p.row) + 1, column: Int(p.column) + 1) }
        public var end: Position { let p = ts_node_end_point(raw); return Position(line: Int(p.row) + 1, column: Int(p.column) + 1) }
    }
}

/// A grammar's node type names by symbol, built once per grammar.
final class NodeTypeNames: @unchecked Sendable {
    let table: [String]
    init(_ language: OpaquePointer) {
        let n = Int(ts_language_symbol_count(language))
        table = (0..<n).map { String(cString: ts_language_symbol_name(language, TSSymbol($0))) }
    }
    @inline(__always) func name(_ s: TSSymbol) -> String { Int(s) < table.count ? table[Int(s)] : (s == UInt16.max ? "ERROR" : "") }
}

public struct Position: Codable, Sendable, Equatable, Hashable {
    public var line: Int
    public var column: Int
}

public struct SourceRange: Codable, Sendable, Equatable, Hashable {
    public var start: Position
    public var end: Position
}
