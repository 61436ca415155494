import Foundation

/// The languages Atelier reads: the 48 grammars of languages.so where they help, universal-ctags
/// for the rest. Decision tokens follow lizard's per-language rules so complexities compare.
public enum Languages {
    static let cLike: Set<String> = ["if", "for", "while", "catch", "&&", "||", "case", "?"]
    static let cBlocks: Set<String> = ["compound_statement", "statement_block", "block"]
    static let jsOpaque: Set<String> = ["template_substitution"]
    static let jsMembers: Set<String> = ["catch"]

    public static let all: [LanguageSpec] = {
        var l: [LanguageSpec] = []
        func add(_ s: LanguageSpec) { l.append(s) }
        add(LanguageSpec(name: "python", grammar: "python", extensions: ["py", "pyi", "pyw"], interpreters: ["python", "python3", "python2"],
                         definitions: ["function_definition": "function", "class_definition": "class"], containers: ["class_definition"],
                         decisions: ["if", "elif", "for", "while", "except", "finally", "and", "or"],
                         imports: ["import_statement", "import_from_statement"], blocks: ["block"], ctags: "Python"))
        let js: [String: String] = ["function_declaration": "function", "generator_function_declaration": "function", "class_declaration": "class",
                                    "method_definition": "method", "variable_declarator": "function", "pair": "property",
                                    "assignment_expression": "function"]
        add(LanguageSpec(name: "javascript", grammar: "javascript", extensions: ["js", "mjs", "cjs", "jsx"], interpreters: ["node", "nodejs"],
                         definitions: js, containers: ["class_declaration", "class"], decisions: cLike.union(["??"]),
                         functions: ["function_declaration", "generator_function_declaration", "method_definition", "function", "arrow_function", "function_expression", "generator_function"],
                         imports: ["import_statement", "call_expression"], blocks: ["statement_block"], ctags: "JavaScript",
                         opaqueToDecisions: jsOpaque, decisionMembers: jsMembers))
        var ts = js
        ts.merge(["interface_declaration": "interface", "enum_declaration": "enum", "type_alias_declaration": "type",
                  "abstract_class_declaration": "class", "internal_module": "namespace", "module": "module", "function_signature": "function",
                  "method_signature": "method", "abstract_method_signature": "method"]) { $1 }
        let tsDecisions: Set<String> = ["if", "for", "while", "catch", "&&", "||", "??", "case", "?"]
        add(LanguageSpec(name: "typescript", grammar: "typescript", extensions: ["ts", "mts", "cts"], definitions: ts,
                         containers: ["class_declaration", "abstract_class_declaration", "interface_declaration", "class"], decisions: tsDecisions,
                         functions: ["function_declaration", "generator_function_declaration", "method_definition", "function", "arrow_function", "function_expression"],
                         imports: ["import_statement"], blocks: ["statement_block"], ctags: "TypeScript",
                         opaqueToDecisions: jsOpaque, decisionMembers: jsMembers))
        add(LanguageSpec(name: "tsx", grammar: "tsx", extensions: ["tsx"], definitions: ts,
                         containers: ["class_declaration", "abstract_class_declaration", "interface_declaration", "class"], decisions: tsDecisions,
                         functions: ["function_declaration", "generator_function_declaration", "method_definition", "function", "arrow_function", "function_expression"],
                         imports: ["import_statement"], blocks: ["statement_block"], ctags: "TypeScript",
                         opaqueToDecisions: jsOpaque, decisionMembers: jsMembers))
        add(LanguageSpec(name: "go", grammar: "go", extensions: ["go"],
                         definitions: ["function_declaration": "function", "method_declaration": "method", "type_spec": "type", "const_spec": "constant"],
                         decisions: cLike, functions: ["function_declaration", "method_declaration", "func_literal"],
                         imports: ["import_spec"], blocks: ["block"], ctags: "Go"))
        add(LanguageSpec(name: "rust", grammar: "rust", extensions: ["rs"],
                         definitions: ["function_item": "function", "struct_item": "struct", "enum_item": "enum", "trait_item": "trait",
                                       "impl_item": "impl", "mod_item": "module", "type_item": "type", "macro_definition": "macro",
                                       "const_item": "constant", "static_item": "variable", "union_item": "struct", "function_signature_item": "function"],
                         containers: ["impl_item", "trait_item"], decisions: ["if", "for", "while", "catch", "where", "&&", "||", "?"],
                         functions: ["function_item", "closure_expression"], imports: ["use_declaration", "extern_crate_declaration"],
                         comments: ["line_comment", "block_comment"], blocks: ["block"], ctags: "Rust"))
        add(LanguageSpec(name: "java", grammar: "java", extensions: ["java"],
                         definitions: ["class_declaration": "class", "interface_declaration": "interface", "enum_declaration": "enum",
                                       "record_declaration": "class", "annotation_type_declaration": "interface", "method_declaration": "method",
                                       "constructor_declaration": "constructor"],
                         containers: ["class_declaration", "interface_declaration", "enum_declaration", "record_declaration"], decisions: cLike,
                         functions: ["method_declaration", "constructor_declaration", "lambda_expression"], imports: ["import_declaration"],
                         comments: ["line_comment", "block_comment"], blocks: ["block", "constructor_body"], ctags: "Java"))
        add(LanguageSpec(name: "c", grammar: "c", extensions: ["c", "h"],
                         definitions: ["function_definition": "function", "struct_specifier": "struct", "enum_specifier": "enum",
                                       "union_specifier": "struct", "type_definition": "type", "preproc_function_def": "macro", "preproc_def": "macro"],
                         decisions: cLike, functions: ["function_definition"], imports: ["preproc_include"], blocks: cBlocks, ctags: "C"))
        add(LanguageSpec(name: "cpp", grammar: "cpp", extensions: ["cc", "cpp", "cxx", "hpp", "hh", "hxx", "ipp", "inl", "c++", "h++"],
                         definitions: ["function_definition": "function", "struct_specifier": "struct", "class_specifier": "class",
                                       "enum_specifier": "enum", "union_specifier": "struct", "namespace_definition": "namespace",
                                       "type_definition": "type", "alias_declaration": "type", "preproc_function_def": "macro", "preproc_def": "macro"],
                         containers: ["class_specifier", "struct_specifier"], decisions: cLike, functions: ["function_definition", "lambda_expression"],
                         imports: ["preproc_include"], blocks: cBlocks, ctags: "C++"))
        add(LanguageSpec(name: "c_sharp", grammar: "c_sharp", extensions: ["cs"],
                         definitions: ["class_declaration": "class", "interface_declaration": "interface", "struct_declaration": "struct",
                                       "enum_declaration": "enum", "record_declaration": "class", "method_declaration": "method",
                                       "constructor_declaration": "constructor", "namespace_declaration": "namespace", "delegate_declaration": "type",
                                       "property_declaration": "property", "file_scoped_namespace_declaration": "namespace"],
                         containers: ["class_declaration", "interface_declaration", "struct_declaration", "record_declaration"],
                         decisions: ["if", "for", "foreach", "while", "catch", "&&", "||", "case", "?", "??"],
                         functions: ["method_declaration", "constructor_declaration", "local_function_statement"], imports: ["using_directive"],
                         blocks: ["block"], ctags: "C#"))
        add(LanguageSpec(name: "kotlin", grammar: "kotlin", extensions: ["kt", "kts"],
                         definitions: ["class_declaration": "class", "object_declaration": "object", "function_declaration": "function",
                                       "type_alias": "type", "property_declaration": "property"],
                         containers: ["class_declaration", "object_declaration", "companion_object"], decisions: ["if", "for", "while", "catch", "&&", "||", "?:"],
                         functions: ["function_declaration", "anonymous_function"], imports: ["import_header"],
                         comments: ["comment", "line_comment", "multiline_comment"], blocks: ["statements", "function_body"], ctags: "Kotlin"))
        add(LanguageSpec(name: "scala", grammar: "scala", extensions: ["scala", "sc"],
                         definitions: ["class_definition": "class", "object_definition": "object", "trait_definition": "trait",
                                       "function_definition": "function", "function_declaration": "function", "enum_definition": "enum",
                                       "type_definition": "type", "val_definition": "constant"],
                         containers: ["class_definition", "object_definition", "trait_definition"], decisions: ["if", "for", "while", "catch", "do", "&&", "||", "case", "?"],
                         functions: ["function_definition"], imports: ["import_declaration"], blocks: ["block", "template_body"]))
        add(LanguageSpec(name: "ruby", grammar: "ruby", extensions: ["rb", "rake", "gemspec"], fileNames: ["Rakefile", "Gemfile"], interpreters: ["ruby"],
                         definitions: ["method": "method", "singleton_method": "method", "class": "class", "module": "module", "singleton_class": "class"],
                         containers: ["class", "module", "singleton_class"],
                         decisions: ["if", "elsif", "unless", "until", "for", "while", "when", "rescue", "and", "or", "&&", "||", "?"],
                         functions: ["method", "singleton_method"], imports: ["call"], ctags: "Ruby"))
        add(LanguageSpec(name: "php", grammar: "php", extensions: ["php", "phtml"], interpreters: ["php"],
                         definitions: ["function_definition": "function", "method_declaration": "method", "class_declaration": "class",
                                       "interface_declaration": "interface", "trait_declaration": "trait", "enum_declaration": "enum",
                                       "namespace_definition": "namespace"],
                         containers: ["class_declaration", "interface_declaration", "trait_declaration", "enum_declaration"],
                         decisions: ["if", "elseif", "for", "foreach", "while", "catch", "match", "&&", "||", "case", "?"],
                         functions: ["function_definition", "method_declaration", "anonymous_function_creation_expression", "arrow_function"],
                         imports: ["namespace_use_declaration", "require_once_expression", "require_expression", "include_expression", "include_once_expression"],
                         blocks: ["compound_statement"], ctags: "PHP"))
        add(LanguageSpec(name: "lua", grammar: "lua", extensions: ["lua"], interpreters: ["lua", "luajit"],
                         definitions: ["function_definition_statement": "function", "local_function_definition_statement": "function"],
                         decisions: ["if", "elseif", "for", "while", "repeat", "and", "or"],
                         functions: ["function_definition_statement", "local_function_definition_statement", "function_definition"],
                         imports: ["call"], ctags: "Lua"))
        add(LanguageSpec(name: "bash", grammar: "bash", extensions: ["sh", "bash", "zsh", "ksh"], fileNames: [".bashrc", ".profile", ".bash_profile"],
                         interpreters: ["sh", "bash", "zsh", "ksh", "dash"], definitions: ["function_definition": "function"],
                         decisions: ["if", "elif", "for", "while", "until", "&&", "||"], imports: ["command"], ctags: "Sh"))
        add(LanguageSpec(name: "perl", grammar: "perl", extensions: ["pl", "pm", "t"], interpreters: ["perl"],
                         definitions: ["function_definition": "function", "package_statement": "package"],
                         decisions: ["if", "elsif", "unless", "while", "until", "for", "foreach", "&&", "||", "?"],
                         functions: ["function_definition"], imports: ["use_no_statement", "require_statement"], ctags: "Perl"))
        add(LanguageSpec(name: "r", grammar: "r", extensions: ["r", "R"], interpreters: ["Rscript"],
                         definitions: ["left_assignment": "function", "equals_assignment": "function"],
                         decisions: ["if", "for", "while", "repeat", "switch", "&&", "||", "&", "|"],
                         functions: ["function_definition"], imports: ["call"], ctags: "R"))
        add(LanguageSpec(name: "julia", grammar: "julia", extensions: ["jl"], interpreters: ["julia"],
                         definitions: ["function_definition": "function", "short_function_definition": "function", "struct_definition": "struct",
                                       "module_definition": "module", "abstract_definition": "type", "macro_definition": "macro"],
                         decisions: ["if", "elseif", "for", "while", "catch", "&&", "||", "?"],
                         functions: ["function_definition", "short_function_definition"], imports: ["import_statement", "using_statement"], ctags: "Julia"))
        add(LanguageSpec(name: "haskell", grammar: "haskell", extensions: ["hs", "lhs"],
                         definitions: ["function": "function", "signature": "signature", "adt": "type", "newtype": "type", "class": "class",
                                       "instance": "instance", "type_alias": "type", "data_type": "type"],
                         imports: ["import"], ctags: "Haskell"))
        add(LanguageSpec(name: "ocaml", grammar: "ocaml", extensions: ["ml", "mli"],
                         definitions: ["let_binding": "function", "type_binding": "type", "module_binding": "module", "class_binding": "class",
                                       "exception_definition": "exception"],
                         imports: ["open_module"], ctags: "OCaml"))
        add(LanguageSpec(name: "elm", grammar: "elm", extensions: ["elm"],
                         definitions: ["value_declaration": "function", "type_declaration": "type", "type_alias_declaration": "type"],
                         comments: ["line_comment", "block_comment"]))
        add(LanguageSpec(name: "elixir", grammar: "elixir", extensions: ["ex", "exs"], interpreters: ["elixir"],
                         definitions: ["call": "function"], imports: ["call"], ctags: "Elixir"))
        add(LanguageSpec(name: "erlang", grammar: "erlang", extensions: ["erl", "hrl"], interpreters: ["escript"],
                         definitions: ["fun_decl": "function", "record_decl": "record", "type_alias": "type", "pp_define": "macro"],
                         decisions: ["if", "catch", "when", "and", "or", "not", "case", "?"],
                         functions: ["fun_decl"], imports: ["module_attribute"], ctags: "Erlang"))
        add(LanguageSpec(name: "commonlisp", grammar: "commonlisp", extensions: ["lisp", "lsp", "cl", "asd"],
                         definitions: ["defun": "function"], ctags: "Lisp"))
        add(LanguageSpec(name: "elisp", grammar: "elisp", extensions: ["el"],
                         definitions: ["function_definition": "function", "macro_definition": "macro"], ctags: "EmacsLisp"))
        add(LanguageSpec(name: "objc", grammar: "objc", extensions: ["m", "mm"],
                         definitions: ["class_interface": "class", "class_implementation": "class", "category_interface": "class",
                                       "category_implementation": "class", "protocol_declaration": "protocol", "method_definition": "method",
                                       "method_declaration": "method", "function_definition": "function", "struct_specifier": "struct", "enum_specifier": "enum"],
                         containers: ["class_interface", "class_implementation", "category_interface", "category_implementation", "protocol_declaration"],
                         decisions: cLike, functions: ["function_definition", "method_definition"], imports: ["preproc_include"],
                         blocks: cBlocks, ctags: "ObjectiveC"))
        add(LanguageSpec(name: "fortran", grammar: "fortran", extensions: ["f90", "f95", "f03", "f08"],
                         definitions: ["program": "program", "module": "module", "subroutine": "subroutine", "function": "function",
                                       "derived_type_definition": "type", "interface": "interface"],
                         decisions: ["if", "do", "IF", "DO", "case", "CASE", ".and.", ".or.", ".AND.", ".OR."],
                         functions: ["subroutine", "function"], imports: ["use_statement"], ctags: "Fortran"))
        add(LanguageSpec(name: "fixed_form_fortran", grammar: "fixed_form_fortran", extensions: ["f", "for", "f77"],
                         definitions: ["program": "program", "module": "module", "subroutine": "subroutine", "function": "function"],
                         decisions: ["if", "do", "IF", "DO", "case", "CASE", ".and.", ".or.", ".AND.", ".OR."],
                         functions: ["subroutine", "function"], imports: ["use_statement"], ctags: "Fortran"))
        add(LanguageSpec(name: "hack", grammar: "hack", extensions: ["hack", "hh"],
                         definitions: ["function_declaration": "function", "method_declaration": "method", "class_declaration": "class",
                                       "interface_declaration": "interface", "trait_declaration": "trait", "enum_declaration": "enum"],
                         containers: ["class_declaration", "interface_declaration", "trait_declaration"], decisions: cLike,
                         functions: ["function_declaration", "method_declaration"], imports: ["use_statement", "require_clause"]))
        add(LanguageSpec(name: "sql", grammar: "sql", extensions: ["sql", "pgsql"],
                         definitions: ["create_table_statement": "table", "create_view_statement": "view", "create_function_statement": "function",
                                       "create_index_statement": "index", "create_type_statement": "type", "create_materialized_view_statement": "view",
                                       "create_trigger_statement": "trigger", "create_schema_statement": "schema"], comments: ["comment"], ctags: "SQL"))
        add(LanguageSpec(name: "sqlite", grammar: "sqlite", extensions: ["sqlite", "sqlite3"],
                         definitions: ["create_table_stmt": "table", "create_view_stmt": "view", "create_index_stmt": "index",
                                       "create_trigger_stmt": "trigger", "create_virtual_table_stmt": "table"]))
        add(LanguageSpec(name: "hcl", grammar: "hcl", extensions: ["hcl", "tf", "tfvars"], definitions: ["block": "block"]))
        add(LanguageSpec(name: "make", grammar: "make", extensions: ["mk", "mak"], fileNames: ["Makefile", "makefile", "GNUmakefile"],
                         definitions: ["rule": "target", "variable_assignment": "variable", "define_directive": "macro"],
                         imports: ["include_directive"], ctags: "Make"))
        add(LanguageSpec(name: "dockerfile", grammar: "dockerfile", extensions: ["dockerfile"], fileNames: ["Dockerfile", "Containerfile"],
                         definitions: ["from_instruction": "stage", "arg_instruction": "variable", "env_instruction": "variable"]))
        add(LanguageSpec(name: "markdown", grammar: "markdown", extensions: ["md", "markdown", "mdx"],
                         definitions: ["atx_heading": "heading", "setext_heading": "heading"], comments: [], ctags: "Markdown"))
        add(LanguageSpec(name: "rst", grammar: "rst", extensions: ["rst"], definitions: ["section": "section"], comments: ["comment"], ctags: "ReStructuredText"))
        add(LanguageSpec(name: "json", grammar: "json", extensions: ["json", "jsonc", "geojson"], definitions: ["pair": "key"], comments: [], ctags: "JSON"))
        add(LanguageSpec(name: "yaml", grammar: "yaml", extensions: ["yaml", "yml"], definitions: ["block_mapping_pair": "key"], ctags: "Yaml"))
        add(LanguageSpec(name: "toml", grammar: "toml", extensions: ["toml"], definitions: ["table": "table", "table_array_element": "table"]))
        add(LanguageSpec(name: "css", grammar: "css", extensions: ["css", "scss"],
                         definitions: ["rule_set": "rule", "keyframes_statement": "keyframes", "media_statement": "media"], ctags: "CSS"))
        add(LanguageSpec(name: "html", grammar: "html", extensions: ["html", "htm", "xhtml"], definitions: ["element": "heading"], ctags: "HTML"))
        add(LanguageSpec(name: "gomod", grammar: "gomod", extensions: [], fileNames: ["go.mod"], definitions: ["module_directive": "module"],
                         imports: ["require_spec"]))
        add(LanguageSpec(name: "dot", grammar: "dot", extensions: ["dot", "gv"], definitions: ["graph": "graph", "node_stmt": "node", "subgraph": "graph"]))
        add(LanguageSpec(name: "embedded_template", grammar: "embedded_template", extensions: ["erb", "ejs"]))
        add(LanguageSpec(name: "ql", grammar: "ql", extensions: ["ql", "qll"],
                         definitions: ["classlessPredicate": "function", "dataclass": "class", "memberPredicate": "method", "module": "module"],
                         containers: ["dataclass"]))
        // Languages without a grammar in languages.so: universal-ctags reads their definitions.
        // Swift: the grammar the bootstrap builds from tree-sitter-swift's sdist (this universal-ctags has no Swift parser).
        add(LanguageSpec(name: "swift", grammar: "swift", extensions: ["swift"],
                         definitions: ["class_declaration": "class", "protocol_declaration": "protocol", "function_declaration": "function",
                                       "init_declaration": "constructor", "deinit_declaration": "method", "subscript_declaration": "method",
                                       "protocol_function_declaration": "method", "typealias_declaration": "type"],
                         containers: ["class_declaration", "protocol_declaration"],
                         decisions: ["if", "for", "while", "catch", "guard", "&&", "||", "case"],
                         functions: ["function_declaration", "init_declaration", "deinit_declaration", "subscript_declaration"],
                         imports: ["import_declaration"], comments: ["comment", "multiline_comment"], blocks: ["statements"],
                         decisionNodes: ["ternary_expression", "catch_keyword"]))
        for (name, exts, ctags) in [
                                    ("pascal", ["pas", "pp"], "Pascal"), ("ada", ["adb", "ads"], "Ada"), ("tcl", ["tcl"], "Tcl"),
                                    ("vim", ["vim"], "Vim"), ("asm", ["s", "asm"], "Asm"), ("cobol", ["cob", "cbl"], "Cobol"),
                                    ("verilog", ["v", "sv"], "Verilog"), ("vhdl", ["vhd", "vhdl"], "VHDL"), ("matlab", ["matlab"], "MatLab"),
                                    ("powershell", ["ps1", "psm1"], "PowerShell"), ("d", ["d"], "D"), ("protobuf", ["proto"], "Protobuf"),
                                    ("awk", ["awk"], "Awk"), ("tex", ["tex"], "Tex")] {
            add(LanguageSpec(name: name, grammar: nil, extensions: exts, ctags: ctags))
        }
        return l
    }()

    public static func named(_ name: String) -> LanguageSpec? { all.first { $0.name == name } }

    /// By file name, then extension, then a `#!` line.
    public static func detect(path: String, head: Data? = nil) -> LanguageSpec? {
        let file = (path as NSString).lastPathComponent
        if let s = all.first(where: { $0.fileNames.contains(file) }) { return s }
        let ext = (file as NSString).pathExtension
        if !ext.isEmpty {
            if let s = all.first(where: { $0.extensions.contains(ext) }) { return s }
            if let s = all.first(where: { $0.extensions.contains(ext.lowercased()) }) { return s }
        }
        if let head, head.starts(with: Data("#!".utf8)) {
            let line = String(decoding: head.prefix(200).split(separator: 10).first ?? Data(), as: UTF8.self)
            var words = line.dropFirst(2).split(separator: " ").map(String.init)
            if let first = words.first, first.hasSuffix("/env") { words.removeFirst() }
            if let interp = words.first.map({ ($0 as NSString).lastPathComponent }) {
                let base = interp.trimmingCharacters(in: .decimalDigits.union(CharacterSet(charactersIn: ".")))
                return all.first { $0.interpreters.contains(interp) || $0.interpreters.contains(base) }
            }
        }
        return nil
    }
}
