import Foundation

/// What Atelier knows about one language: how to recognise its files, which grammar parses it, which
/// nodes define symbols, which tokens are decisions (cyclomatic complexity, counted as lizard counts
/// them), which nodes are functions, imports and comments.
public struct LanguageSpec: Sendable {
    public let name: String
    /// `tree_sitter_<grammar>` in languages.so; nil when only ctags reads the language.
    public let grammar: String?
    public let extensions: [String]
    public var fileNames: [String] = []
    public var interpreters: [String] = []
    /// Node type → symbol kind.
    public var definitions: [String: String] = [:]
    /// Node types whose symbols make enclosed functions methods.
    public var containers: Set<String> = []
    /// Anonymous tokens that add one to a function's cyclomatic complexity.
    public var decisions: Set<String> = []
    /// Node types that are functions for metrics (defaults to the definitions of kind function/method).
    public var functions: Set<String> = []
    public var imports: Set<String> = []
    public var comments: Set<String> = ["comment"]
    /// Nesting: node types that open a block for the nesting-depth metric.
    public var blocks: Set<String> = []
    /// universal-ctags' name for the language, for the fallback and the evaluation.
    public var ctags: String?
    /// Node types read as one opaque token when counting decisions (lizard reads a JavaScript template's
    /// `${…}` that way): decisions inside them do not count.
    public var opaqueToDecisions: Set<String> = []
    /// Named nodes that add one each, where the grammar shares the token with other uses (Swift's
    /// `?` marks optionals too; only a ternary expression is a decision).
    public var decisionNodes: Set<String> = []
    /// Member names that add one where a call uses them, as lizard's tokens do: a promise's `.catch(…)`
    /// is a handler like a `catch` clause.
    public var decisionMembers: Set<String> = []

    public var supportsOutline: Bool { grammar != nil ? !definitions.isEmpty : ctags != nil }
    public var supportsComplexity: Bool { grammar != nil && !decisions.isEmpty && !functionTypes.isEmpty }
    public var supportsImports: Bool { !imports.isEmpty }
    var functionTypes: Set<String> {
        functions.isEmpty ? Set(definitions.filter { ["function", "method", "constructor"].contains($0.value) }.map(\.key)) : functions
    }
}
