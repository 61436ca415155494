import Foundation

/// Size and complexity of a file and of each of its functions.
public struct FileMetrics: Codable, Sendable {
    public var path: String
    public var language: String
    public var lines: Int, code: Int, comment: Int, blank: Int
    public var functions: [FunctionMetrics]
}

public struct FunctionMetrics: Codable, Sendable, Equatable {
    public var name: String
    public var range: SourceRange
    /// McCabe's number: 1 + decision points (branches, loops, handlers, boolean operators), as lizard counts them.
    public var complexity: Int
    public var parameters: Int
    /// Deepest block nesting inside the function.
    public var nesting: Int
    public var lines: Int
}

public enum CodeMetrics {
    public static func measure(_ tree: SyntaxTree) -> FileMetrics {
        let spec = tree.source.language
        var commentLines = Set<Int>()
        var functions: [FunctionMetrics] = []
        let classes = tree.classes
        tree.walk { node, _ in
            if classes.node(node, is: .comment) {
                for l in (node.start.line - 1)...(node.end.line - 1) where !lineHasCode(l, outside: node, tree: tree) { commentLines.insert(l) }
                return false
            }
            if node.isNamed, classes.node(node, is: .function) { functions.append(function(node, tree: tree)) }
            return true
        }
        let c = tree.source.lineCounts(commentLines: commentLines)
        return FileMetrics(path: tree.source.path, language: spec.name, lines: c.total, code: c.code, comment: c.comment, blank: c.blank, functions: functions)
    }

    /// A comment that shares its line with code does not make the line a comment line.
    static func lineHasCode(_ line: Int, outside comment: SyntaxTree.Node, tree: SyntaxTree) -> Bool {
        let text = tree.source.bytes
        let starts = tree.lineStarts
        guard line < starts.count else { return false }
        var i = starts[line]
        while i < text.count, text[i] != 10 {
            if (i < comment.startByte || i >= comment.endByte), text[i] != 32, text[i] != 9, text[i] != 13 { return true }
            i += 1
        }
        return false
    }

    static func function(_ fn: SyntaxTree.Node, tree: SyntaxTree) -> FunctionMetrics {
        let spec = tree.source.language, classes = tree.classes
        var decisions = 0
        var maxNesting = 0
        var open: [(depth: Int, level: Int)] = []   // enclosing blocks on the path from the function
        tree.walk(fn) { node, depth in
            // Nested functions are measured on their own.
            if depth > 0, node.isNamed, classes.node(node, is: .function) { return false }
            if classes.node(node, is: .opaqueToDecisions) { return false }
            let named = node.isNamed
            if named ? classes.node(node, is: .decisionNode) : classes.node(node, is: .decision) { decisions += 1 }
            if named, !spec.decisionMembers.isEmpty, node.type == "property_identifier", spec.decisionMembers.contains(tree.text(node)) { decisions += 1 }
            while let top = open.last, top.depth >= depth { open.removeLast() }
            if named, classes.node(node, is: .block) {
                // A block directly inside a block (Swift's and Kotlin's statements in a function body)
                // is the same level of nesting.
                let level = open.last.map { $0.depth == depth - 1 ? $0.level : $0.level + 1 } ?? 1
                open.append((depth, level))
                maxNesting = max(maxNesting, level)
            }
            return true
        }
        let name = Outliner.symbolName(fn, tree: tree, kind: "function")?.0 ?? "(anonymous)"
        return FunctionMetrics(name: name.split(whereSeparator: \.isNewline).first.map(String.init) ?? name,
                               range: SourceRange(start: fn.start, end: fn.end), complexity: 1 + decisions,
                               parameters: parameterCount(fn), nesting: max(0, maxNesting - 1), lines: fn.end.line - fn.start.line + 1)
    }

    static func isBlock(_ type: String) -> Bool {
        ["block", "compound_statement", "statement_block", "do_block", "body_statement", "function_body", "constructor_body", "control_structure_body"].contains(type)
    }

    static func parameterCount(_ fn: SyntaxTree.Node) -> Int {
        var params: SyntaxTree.Node? = fn.field("parameters")
        if params == nil, let d = fn.field("declarator") {
            var cur: SyntaxTree.Node? = d
            while let c = cur, params == nil {
                params = c.field("parameters")
                cur = c.field("declarator")
            }
        }
        if params == nil { params = fn.namedChildren.first { $0.type.contains("parameter") } }
        guard let p = params else { return 0 }
        return p.namedChildren.filter { !$0.type.contains("comment") && $0.type != "self" }.count
    }
}
