import CTreeSitter
import Foundation

/// A language's node-type sets (comments, functions, decisions, blocks, definitions, names, imports) as flags indexed
/// by the grammar's symbols, so the walks over every node of a file test a node with one array read
/// instead of building and hashing its type name (which cost a third of indexing a tree).
struct NodeClasses: Sendable {
    struct Flags: OptionSet, Sendable {
        let rawValue: UInt16
        static let comment = Flags(rawValue: 1)
        static let function = Flags(rawValue: 2)
        static let decision = Flags(rawValue: 4)
        static let block = Flags(rawValue: 8)
        static let opaqueToDecisions = Flags(rawValue: 16)
        static let definition = Flags(rawValue: 32)
        /// A name as written: where references and name positions are read from.
        static let identifier = Flags(rawValue: 64)
        static let importNode = Flags(rawValue: 128)
        static let decisionNode = Flags(rawValue: 256)
    }

    private let flags: [Flags]

    init(names: NodeTypeNames, spec: LanguageSpec) {
        let functions = spec.functionTypes
        flags = names.table.map { type in
            var f: Flags = []
            if spec.comments.contains(type) { f.insert(.comment) }
            if functions.contains(type) { f.insert(.function) }
            if spec.decisions.contains(type) { f.insert(.decision) }
            if spec.decisionNodes.contains(type) { f.insert(.decisionNode) }
            if spec.blocks.contains(type) || CodeMetrics.isBlock(type) { f.insert(.block) }
            if spec.opaqueToDecisions.contains(type) { f.insert(.opaqueToDecisions) }
            if spec.definitions[type] != nil { f.insert(.definition) }
            if type.contains("identifier") || ["constant", "name", "word"].contains(type) { f.insert(.identifier) }
            if spec.imports.contains(type) { f.insert(.importNode) }
            return f
        }
    }

    /// Whether the node's type is in the set; symbols past the table (ERROR) are in none.
    @inline(__always) func node(_ n: SyntaxTree.Node, is f: Flags) -> Bool {
        let s = Int(ts_node_symbol(n.raw))
        return s < flags.count && flags[s].contains(f)
    }
}
