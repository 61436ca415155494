import Foundation

/// One import statement: what it names, where, and (in a dependency graph) the file it resolves to.
public struct ImportRef: Codable, Sendable, Equatable {
    public var module: String
    public var line: Int
    public var resolved: String?
}

public enum Imports {
    /// The modules a parsed file imports.
    public static func of(_ tree: SyntaxTree) -> [ImportRef] {
        let spec = tree.source.language
        var out: [ImportRef] = []
        func add(_ s: String, _ n: SyntaxTree.Node) {
            let m = s.trimmingCharacters(in: CharacterSet(charactersIn: "\"'<>` ;\n\t"))
            if !m.isEmpty { out.append(ImportRef(module: m, line: n.start.line, resolved: nil)) }
        }
        tree.walk(named: true) { n, _ in
            guard tree.classes.node(n, is: .importNode) else { return true }
            switch (spec.name, n.type) {
            case ("python", "import_statement"):
                for c in n.namedChildren { add(tree.text(c.field("name") ?? c).split(separator: " ").first.map(String.init) ?? "", n) }
            case ("python", "import_from_statement"):
                if let m = n.field("module_name") { add(tree.text(m), n) }
            case (_, "call_expression"), ("ruby", "call"), ("lua", "call"), ("r", "call"):
                let fn = tree.text(n.field("function") ?? n.field("method") ?? n.namedChild(0))
                guard ["require", "require_relative", "library", "source"].contains(fn) else { return true }
                if let arg = (n.field("arguments") ?? n.namedChildren.last)?.namedChildren.first { add(tree.text(arg), n) }
            case ("elixir", "call"):
                let fn = tree.text(n.field("target") ?? n.namedChild(0))
                guard ["alias", "import", "use", "require"].contains(fn), let args = n.namedChildren.first(where: { $0.type == "arguments" }),
                      let first = args.namedChildren.first else { return true }
                add(tree.text(first), n)
            case ("bash", "command"):
                let name = tree.text(n.field("name") ?? n.namedChild(0))
                guard name == "source" || name == ".", let arg = n.field("argument") ?? (n.namedChildCount > 1 ? n.namedChild(1) : nil) else { return true }
                add(tree.text(arg), n)
            case ("go", "import_spec"):
                add(tree.text(n.field("path") ?? n), n)
            case ("rust", "use_declaration"):
                add(tree.text(n.field("argument") ?? n), n)
            case ("rust", "extern_crate_declaration"):
                add(tree.text(n.field("name") ?? n), n)
            case (_, "preproc_include"):
                add(tree.text(n.field("path") ?? n), n)
            case (_, "import_statement") where ["javascript", "typescript", "tsx"].contains(spec.name):
                add(tree.text(n.field("source") ?? n), n)
            case ("haskell", "import"):
                add(tree.text(n.field("module") ?? n.namedChildren.first(where: { $0.type.contains("module") }) ?? n), n)
            case ("swift", "import_declaration"):
                // `@testable import Core`, `import struct Darwin.size_t`: the module is the path's first part.
                if let m = swift(tree.text(n)).first?.module { add(m, n) }
            default:
                // import_declaration (Java, Scala), using_directive (C#), import_header (Kotlin), use statements: the named part.
                let text = tree.text(n).split(whereSeparator: \.isNewline).joined(separator: " ")
                let words = text.split(separator: " ").filter { !["import", "using", "use", "static", "require", "include", "open", "require_once", "include_once", "-module"].contains($0) }
                add(words.joined(separator: " "), n)
            }
            return true
        }
        return out
    }

    /// Swift imports read line by line: for an import declaration's text, and for whole files where
    /// the Swift grammar was not built.
    public static func swift(_ text: String) -> [ImportRef] {
        var out: [ImportRef] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = line.split(separator: " ").map(String.init).filter { !$0.hasPrefix("@") }
            if let k = words.firstIndex(of: "import"), k + 1 < words.count, words[..<k].allSatisfy({ ["public", "internal", "private", "fileprivate", "package"].contains($0) }) {
                var m = words[k + 1]
                if ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"].contains(m), k + 2 < words.count { m = words[k + 2] }
                out.append(ImportRef(module: String(m.split(separator: ".").first ?? Substring(m)), line: i + 1, resolved: nil))
            }
        }
        return out
    }

    /// The file inside the repository an import names, if any (relative imports, packages, headers).
    static func resolve(_ ref: ImportRef, from file: String, language: String, files: Set<String>, root: String) -> String? {
        let dir = (file as NSString).deletingLastPathComponent
        func first(_ candidates: [String]) -> String? {
            candidates.map { URL(fileURLWithPath: $0).standardizedFileURL.path }.first { files.contains($0) }
        }
        let m = ref.module
        switch language {
        case "python":
            var base = root, name = m
            if m.hasPrefix(".") {
                let dots = m.prefix { $0 == "." }.count
                base = dir
                for _ in 1..<max(1, dots) { base = (base as NSString).deletingLastPathComponent }
                name = String(m.dropFirst(dots))
            }
            let rel = name.replacingOccurrences(of: ".", with: "/")
            let bases: [String] = m.hasPrefix(".") ? [base] : [root, dir, root + "/src", root + "/lib"]
            var candidates: [String] = []
            for b in bases {
                if rel.isEmpty { candidates.append(b + "/__init__.py") } else { candidates += [b + "/" + rel + ".py", b + "/" + rel + "/__init__.py"] }
            }
            return first(candidates)
        case "javascript", "typescript", "tsx":
            guard m.hasPrefix(".") || m.hasPrefix("/") else { return nil }
            let p = m.hasPrefix("/") ? m : dir + "/" + m
            var candidates = [p]
            for e in ["js", "mjs", "cjs", "jsx", "ts", "tsx", "d.ts"] { candidates += [p + "." + e, p + "/index." + e] }
            return first(candidates)
        case "c", "cpp", "objc":
            let name = (m as NSString).lastPathComponent
            if let local = first([dir + "/" + m, root + "/" + m, root + "/include/" + m]) { return local }
            let matches = files.filter { ($0 as NSString).lastPathComponent == name }
            return matches.count == 1 ? matches.first : nil
        case "go":
            // A package path ending in a folder of the repository.
            let parts = m.split(separator: "/")
            for k in 0..<parts.count {
                let rel = parts[k...].joined(separator: "/")
                if let f = files.sorted().first(where: { ($0 as NSString).deletingLastPathComponent == root + "/" + rel && $0.hasSuffix(".go") }) { return f }
            }
            return nil
        case "rust":
            guard m.hasPrefix("crate::") || m.hasPrefix("super::") || m.hasPrefix("self::") else { return nil }
            var segs = m.split(separator: ":").filter { !$0.isEmpty }.map(String.init)
            let anchor = segs.removeFirst()
            var base = anchor == "crate" ? (files.contains(root + "/src/lib.rs") || files.contains(root + "/src/main.rs") ? root + "/src" : root) : dir
            if anchor == "super" { base = (dir as NSString).deletingLastPathComponent }
            while !segs.isEmpty {
                let rel = segs.joined(separator: "/")
                if let f = first([base + "/" + rel + ".rs", base + "/" + rel + "/mod.rs"]) { return f }
                segs.removeLast()
            }
            return nil
        case "java", "kotlin", "scala":
            let rel = m.replacingOccurrences(of: ".", with: "/")
            let ext = language == "java" ? "java" : (language == "kotlin" ? "kt" : "scala")
            return files.first { $0.hasSuffix("/" + rel + "." + ext) }
        case "swift":
            // A module of a Swift package: Sources/<Module>/.
            return files.sorted().first { $0.hasPrefix(root + "/Sources/" + m + "/") && $0.hasSuffix(".swift") }
        default:
            return nil
        }
    }
}
