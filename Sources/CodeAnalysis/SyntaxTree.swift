import CTreeSitter
import Foundation

/// A parsed file. Nodes are plain values; the tree must outlive them.
public final class SyntaxTree: @unchecked Sendable {
    let tree: OpaquePointer
    public let source: SourceFile

    /// Parses with a time limit, so pathological input cannot hang a request.
    public init(_ source: SourceFile, timeoutMicros: UInt64 = 5_000_000) throws {
        guard let symbol = source.language.grammar else { throw CodeError.unsupportedLanguage(source.path) }
        let language = try GrammarLibrary.shared.language(symbol)
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

    public var root: Node { Node(raw: ts_tree_root_node(tree)) }

    public func text(_ n: Node) -> String {
        let s = Int(ts_node_start_byte(n.raw)), e = min(Int(ts_node_end_byte(n.raw)), source.bytes.count)
        guard s < e else { return "" }
        return String(decoding: source.bytes[s..<e], as: UTF8.self)
    }

    /// Every node in document order, without recursion (deeply nested code cannot overflow the stack).
    public func walk(_ from: Node? = nil, named: Bool = false, _ visit: (Node, _ depth: Int) -> Bool) {
        var stack: [(Node, Int)] = [(from ?? root, 0)]
        while let (n, d) = stack.popLast() {
            if !named || n.isNamed { if !visit(n, d) { continue } }
            let count = n.childCount
            var i = count
            while i > 0 { i -= 1; stack.append((n.child(i), d + 1)) }
        }
    }

    public struct Node {
        let raw: TSNode
        public var type: String { String(cString: ts_node_type(raw)) }
        public var isNamed: Bool { ts_node_is_named(raw) }
        public var isMissing: Bool { ts_node_is_missing(raw) }
        public var isError: Bool { ts_node_symbol(raw) == UInt16.max || type == "ERROR" }
        public var hasError: Bool { ts_node_has_error(raw) }
        public var isNull: Bool { ts_node_is_null(raw) }
        public var childCount: Int { Int(ts_node_child_count(raw)) }
        public var namedChildCount: Int { Int(ts_node_named_child_count(raw)) }
        public func child(_ i: Int) -> Node { Node(raw: ts_node_child(raw, UInt32(i))) }
        public func namedChild(_ i: Int) -> Node { Node(raw: ts_node_named_child(raw, UInt32(i))) }
        public var namedChildren: [Node] { (0..<namedChildCount).map(namedChild) }
        public var children: [Node] { (0..<childCount).map(child) }
        public var parent: Node? { let p = Node(raw: ts_node_parent(raw)); return p.isNull ? nil : p }
        public var previousNamedSibling: Node? { let p = Node(raw: ts_node_prev_named_sibling(raw)); return p.isNull ? nil : p }
        public func field(_ name: String) -> Node? {
            let n = name.withCString { Node(raw: ts_node_child_by_field_name(raw, $0, UInt32(strlen($0)))) }
            return n.isNull ? nil : n
        }
        public var startByte: Int { Int(ts_node_start_byte(raw)) }
        public var endByte: Int { Int(ts_node_end_byte(raw)) }
        /// 1-based line and column (columns in bytes, as editors' LSP offsets in UTF-8).
        public var start: Position { let p = ts_node_start_point(raw); return Position(line: Int(p.row) + 1, column: Int(p.column) + 1) }
        public var end: Position { let p = ts_node_end_point(raw); return Position(line: Int(p.row) + 1, column: Int(p.column) + 1) }
        public func same(_ o: Node) -> Bool { ts_node_eq(raw, o.raw) }
    }
}

public struct Position: Codable, Sendable, Equatable, Hashable {
    public var line: Int
    public var column: Int
}

public struct SourceRange: Codable, Sendable, Equatable, Hashable {
    public var start: Position
    public var end: Position
}
