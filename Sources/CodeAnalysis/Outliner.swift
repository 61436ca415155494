import Foundation

/// A definition in a file.
public struct CodeSymbol: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var range: SourceRange
    public var signature: String?
    public var doc: String?
    /// The enclosing symbol's name, if any.
    public var parent: String?
    public var path: String?
    /// Where the name itself starts (an editor's selection range).
    public var selection: Position?
}

/// Definitions of a file from its syntax tree (or from universal-ctags for languages without a grammar).
public enum Outliner {
    public static func outline(_ tree: SyntaxTree) -> [CodeSymbol] {
        let spec = tree.source.language
        var out: [CodeSymbol] = []
        var open: [(end: Int, name: String, container: Bool)] = []
        tree.walk(named: true) { node, _ in
            while let top = open.last, top.end <= node.startByte { open.removeLast() }
            guard tree.classes.node(node, is: .definition), let kind0 = spec.definitions[node.type], let (name, kindOverride) = symbolName(node, tree: tree, kind: kind0) else { return true }
            let clean = name.split(whereSeparator: \.isNewline).first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
            guard !clean.isEmpty else { return true }
            var kind = kindOverride ?? kind0
            let inContainer = open.last?.container ?? false
            if kind == "function", inContainer { kind = "method" }
            out.append(CodeSymbol(name: String(clean.prefix(200)), kind: kind, range: SourceRange(start: node.start, end: node.end),
                                  signature: signature(node, tree: tree), doc: doc(node, tree: tree), parent: open.last?.name, path: nil, selection: nil))
            // Functions directly inside a class-like symbol are methods; inside a module or namespace they stay functions.
            open.append((node.endByte, String(clean.prefix(200)), spec.containers.contains(node.type) || ["class", "struct", "interface", "trait", "impl", "object", "protocol", "extension", "enum"].contains(kind)))
            return true
        }
        return out
    }

    /// What a JavaScript value defines when a name is bound to it: a function, or an object literal with
    /// members (what universal-ctags lists as a class and an editor's outline shows); nil for data.
    static func scriptValueKind(_ v: SyntaxTree.Node) -> String? {
        if ["arrow_function", "function", "function_expression", "generator_function", "class"].contains(v.type) {
            return v.type == "class" ? "class" : "function"
        }
        if v.type == "object", v.namedChildren.contains(where: { $0.type != "comment" }) { return "object" }
        return nil
    }

    static let identifierTypes: Set<String> = ["identifier", "type_identifier", "simple_identifier", "constant", "name", "word", "property_identifier",
                                               "field_identifier", "scoped_identifier", "variable", "atom", "symbol", "qualified_identifier",
                                               "namespace_identifier", "simple_symbol", "variable_name", "function_name", "module_name", "class_name",
                                               "package_name", "lower_case_identifier", "upper_case_identifier", "operator_name", "destructor_name"]

    /// The symbol's name, and a kind override when the node's meaning depends on its content.
    static func symbolName(_ n: SyntaxTree.Node, tree: SyntaxTree, kind: String) -> (String, String?)? {
        let lang = tree.source.language.name
        func t(_ x: SyntaxTree.Node?) -> String? { x.map { tree.text($0) } }
        switch (lang, n.type) {
        case (_, "variable_declarator"):
            guard let v = n.field("value"), let kind = scriptValueKind(v) else { return nil }
            return t(n.field("name")).map { ($0, kind == "function" ? nil : kind) }
        case (_, "pair") where ["javascript", "typescript", "tsx"].contains(lang):
            // A key holding a function or a non-empty object (a configuration table's entries); scalar keys are data.
            guard let v = n.field("value"), let kind = scriptValueKind(v), let key = n.field("key") else { return nil }
            let name = tree.text(key).trimmingCharacters(in: CharacterSet(charactersIn: "\"'`"))
            return (name, kind == "function" ? "method" : "property")
        case (_, "assignment_expression") where ["javascript", "typescript", "tsx"].contains(lang):
            // `exports.parse = function …`, `auth.basic = { … }`: named by the property assigned.
            guard let v = n.field("right"), let kind = scriptValueKind(v), let left = n.field("left") else { return nil }
            let target = left.type == "member_expression" ? left.field("property") : left.type == "identifier" ? left : nil
            return t(target).map { ($0, kind == "function" ? nil : kind) }
        case ("c", "function_definition"), ("cpp", "function_definition"), ("objc", "function_definition"), ("c", "type_definition"), ("cpp", "type_definition"):
            return declaratorName(n.field("declarator"), tree: tree).map { ($0, nil) }
        case (_, "struct_specifier"), (_, "enum_specifier"), (_, "union_specifier"), (_, "class_specifier"):
            guard n.field("body") != nil else { return nil }
            return t(n.field("name")).map { ($0, nil) }
        case ("rust", "impl_item"):
            guard let ty = t(n.field("type")) else { return nil }
            return (t(n.field("trait")).map { "\($0) for \(ty)" } ?? ty, nil)
        case ("r", "left_assignment"), ("r", "equals_assignment"):
            guard let rhs = n.field("right") ?? (n.namedChildCount > 1 ? n.namedChild(n.namedChildCount - 1) : nil), rhs.type == "function_definition" else { return nil }
            return t(n.field("left") ?? n.namedChild(0)).map { ($0, nil) }
        case ("elixir", "call"):
            guard let target = n.field("target"), let kw = t(target) else { return nil }
            let kinds = ["def": "function", "defp": "function", "defmacro": "macro", "defmacrop": "macro", "defmodule": "module",
                         "defprotocol": "protocol", "defimpl": "impl", "defguard": "function", "defdelegate": "function"]
            guard let k = kinds[kw] else { return nil }
            guard let args = n.namedChildren.first(where: { $0.type == "arguments" }), args.namedChildCount > 0 else { return nil }
            var first = args.namedChild(0)
            if first.type == "binary_operator", let l = first.field("left") { first = l }   // def f(x) when guard
            if first.type == "call", let inner = first.field("target") { first = inner }
            return t(first).map { ($0, k) }
        case ("erlang", "fun_decl"):
            guard let clause = n.namedChildren.first(where: { $0.type == "function_clause" }) else { return nil }
            return t(clause.field("name") ?? clause.namedChildren.first).map { ($0, nil) }
        case ("commonlisp", "defun"):
            guard let header = n.namedChildren.first(where: { $0.type == "defun_header" }) else { return nil }
            guard let kw = header.field("keyword").flatMap(t)?.lowercased(), ["defun", "defmacro", "defgeneric", "defmethod"].contains(kw) else {
                return t(header.field("function_name")).map { ($0, nil) }
            }
            return t(header.field("function_name")).map { ($0, kw == "defmacro" ? "macro" : nil) }
        case ("markdown", _):
            let raw = t(n) ?? ""
            let first = raw.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            return (first.trimmingCharacters(in: CharacterSet(charactersIn: "# \t")), nil)
        case ("rst", "section"):
            return t(n.namedChildren.first(where: { $0.type == "title" })).map { ($0, nil) }
        case ("json", "pair"):
            // Top-level keys only: the pair's object is the document's value.
            guard let obj = n.parent, obj.parent?.type == "document" else { return nil }
            return t(n.field("key")).map { ($0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")), nil) }
        case ("yaml", "block_mapping_pair"):
            var p = n.parent
            while let q = p { if q.type == "block_mapping_pair" { return nil }; p = q.parent }
            return t(n.field("key")).map { ($0, nil) }
        case ("toml", _):
            return t(n.namedChildren.first { ["bare_key", "dotted_key", "quoted_key"].contains($0.type) }).map { ($0, nil) }
        case ("css", "rule_set"):
            return t(n.namedChildren.first { $0.type == "selectors" }).map { ($0, nil) }
        case ("css", _), ("dockerfile", _):
            let raw = t(n) ?? ""
            return (String(raw.prefix { $0 != "{" && $0 != "\n" }).trimmingCharacters(in: .whitespaces), nil)
        case ("html", "element"):
            guard let tag = n.namedChildren.first(where: { $0.type == "start_tag" })?.namedChildren.first(where: { $0.type == "tag_name" }),
                  let name = t(tag)?.lowercased(), ["h1", "h2", "h3", "h4", "h5", "h6"].contains(name) else { return nil }
            let inner = (t(n) ?? "").replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
            return (inner.trimmingCharacters(in: .whitespacesAndNewlines), nil)
        case ("make", "rule"):
            return t(n.namedChildren.first { $0.type == "targets" }).map { ($0, nil) }
        case ("hcl", "block"):
            let parts = n.namedChildren.prefix { $0.type != "block_start" && $0.type != "body" }.compactMap(t)
            return (parts.joined(separator: " ").replacingOccurrences(of: "\"", with: ""), nil)
        case ("gomod", _):
            return t(n.namedChildren.first { $0.type == "module_path" }).map { ($0, nil) }
        case ("sqlite", _):
            return t(n.namedChildren.first { $0.type.hasSuffix("_name") }).map { ($0, nil) }
        case ("sql", _):
            return t(n.namedChildren.first { ["object_reference", "identifier", "dotted_name"].contains($0.type) }).map { ($0, nil) }
        case ("swift", "class_declaration"):
            // One node type for class, struct, enum, extension and actor: the keyword says which.
            let keyword = t(n.field("declaration_kind")) ?? "class"
            let kinds = ["struct": "struct", "enum": "enum", "extension": "extension", "actor": "class"]
            return t(n.field("name")).map { ($0, kinds[keyword]) }
        case ("swift", "init_declaration"):
            return ("init", nil)
        case ("swift", "deinit_declaration"):
            return ("deinit", nil)
        case ("swift", "subscript_declaration"):
            return ("subscript", nil)
        case ("go", "type_spec"), ("go", "const_spec"):
            return t(n.field("name")).map { ($0, nil) }
        default:
            if let name = n.field("name") {
                if let inner = declaratorName(name, tree: tree) { return (inner, nil) }
                return (tree.text(name), nil)
            }
            if let d = n.field("declarator"), let inner = declaratorName(d, tree: tree) { return (inner, nil) }
            return t(n.namedChildren.first { identifierTypes.contains($0.type) }).map { ($0, nil) }
        }
    }

    /// C declarators nest (pointer → function → identifier): follow `declarator` fields to the name.
    static func declaratorName(_ node: SyntaxTree.Node?, tree: SyntaxTree) -> String? {
        var n = node
        var guardCount = 0
        while let cur = n, guardCount < 32 {
            guardCount += 1
            if identifierTypes.contains(cur.type) || cur.type == "qualified_identifier" || cur.type == "destructor_name" { return tree.text(cur) }
            if let d = cur.field("declarator") { n = d; continue }
            n = cur.namedChildren.first { identifierTypes.contains($0.type) || $0.type.hasSuffix("declarator") }
        }
        return nil
    }

    /// The declaration's head: its text up to the body, on one line.
    static func signature(_ n: SyntaxTree.Node, tree: SyntaxTree) -> String? {
        let bytes = tree.source.bytes
        var end = n.endByte
        if let body = n.field("body") ?? n.namedChildren.first(where: { ["block", "compound_statement", "class_body", "declaration_list", "field_declaration_list", "statement_block"].contains($0.type) }) {
            end = body.startByte
        }
        end = min(end, n.startByte + 400, bytes.count)
        guard n.startByte < end else { return nil }
        var s = String(decoding: bytes[n.startByte..<end], as: UTF8.self)
        s = s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        s = s.trimmingCharacters(in: CharacterSet(charactersIn: " {:=")).trimmingCharacters(in: .whitespaces)
        return s.isEmpty ? nil : String(s.prefix(240))
    }

    /// Comments directly above the definition (no blank line between), or a Python docstring.
    static func doc(_ n: SyntaxTree.Node, tree: SyntaxTree) -> String? {
        let spec = tree.source.language
        if spec.name == "python", let body = n.field("body"), body.namedChildCount > 0 {
            let first = body.namedChild(0)
            if first.type == "expression_statement", first.namedChildCount == 1, first.namedChild(0).type == "string" {
                return clean(tree.text(first.namedChild(0)))
            }
        }
        var parts: [String] = []
        var line = n.start.line
        var cur = n
        // Decorators and attributes sit between a comment and the definition in some grammars.
        while let prev = cur.previousNamedSibling, spec.comments.contains(prev.type), prev.end.line >= line - 1 {
            parts.insert(tree.text(prev), at: 0)
            line = prev.start.line
            cur = prev
        }
        return parts.isEmpty ? nil : clean(parts.joined(separator: "\n"))
    }

    static func clean(_ s: String) -> String {
        let lines = s.split(whereSeparator: \.isNewline).map { l -> String in
            var x = l.trimmingCharacters(in: .whitespaces)
            for p in ["///", "//!", "//", "/**", "/*", "*/", "#", "--", ";;", "%", "\"\"\"", "'''", "*"] where x.hasPrefix(p) { x = String(x.dropFirst(p.count)) }
            for p in ["*/", "\"\"\"", "'''"] where x.hasSuffix(p) { x = String(x.dropLast(p.count)) }
            return x.trimmingCharacters(in: .whitespaces)
        }
        return String(lines.filter { !$0.isEmpty }.joined(separator: "\n").prefix(1000))
    }
}
