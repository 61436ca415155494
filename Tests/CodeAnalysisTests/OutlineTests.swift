@testable import CodeAnalysis
import XCTest

/// Definitions, with kinds, parents, signatures and doc comments, across languages.
final class OutlineTests: XCTestCase {
    var s: Scratch!
    override func setUpWithError() throws { s = try Scratch() }

    func names(_ a: FileAnalysis) -> [String] { a.symbols.map { "\($0.kind) \($0.name)" } }

    func testPythonClassesMethodsDocstringsAndRanges() throws {
        let a = try s.analyze("m.py", """
        import os
        from .util import helper

        # A user of the system.
        class User(Base):
            \"\"\"Someone who logs in.\"\"\"
            def __init__(self, name):
                self.name = name

            @property
            def display(self) -> str:
                return self.name.title()

        def find_user(users, name):
            for u in users:
                if u.name == name and u.active:
                    return u
            return None
        """)
        XCTAssertEqual(a.language, "python")
        XCTAssertEqual(names(a), ["class User", "method __init__", "method display", "function find_user"])
        let user = a.symbols[0]
        XCTAssertEqual(user.doc, "Someone who logs in.")
        XCTAssertEqual(user.signature, "class User(Base)")
        XCTAssertEqual(user.range.start.line, 5)
        XCTAssertEqual(a.symbols[1].parent, "User")
        XCTAssertEqual(a.symbols[3].signature, "def find_user(users, name)")
        XCTAssertEqual(a.imports.map(\.module), ["os", ".util"])
        let f = try XCTUnwrap(a.metrics.functions.first { $0.name == "find_user" })
        XCTAssertEqual(f.complexity, 4, "1 + for + if + and")
        XCTAssertEqual(f.parameters, 2)
    }

    func testCDeclaratorsStructsTypedefsAndMacros() throws {
        let a = try s.analyze("v.c", """
        #include <math.h>
        #include "vec.h"
        #define SQUARE(x) ((x) * (x))
        typedef struct vec3 { float x, y, z; } vec3;
        /* Length of v. */
        static float *vec3_length(const vec3 *v) {
            return sqrtf(v->x * v->x + v->y * v->y + v->z * v->z) > 0 && v ? 0 : 0;
        }
        enum color { RED, GREEN };
        """)
        XCTAssertEqual(Set(names(a)), ["macro SQUARE", "type vec3", "struct vec3", "function vec3_length", "enum color"])
        XCTAssertEqual(a.symbols.first { $0.name == "vec3_length" }?.doc, "Length of v.")
        XCTAssertEqual(a.imports.map(\.module), ["math.h", "vec.h"])
        XCTAssertEqual(a.metrics.functions.first?.complexity, 3, "1 + && + ?, counted as lizard counts tokens")
    }

    func testJavaScriptObjectsAndFunctionsBoundToNamesAreOutlined() throws {
        let a = try s.analyze("levels.js", """
        const LEVELS = {
          silent: { index: 0 },
          warn: { index: 1 },
          label: 'x',
          format (v) { return String(v) },
          pick: (k) => LEVELS[k],
        }
        const empty = {}
        const count = 3
        exports.parse = function (text) { return text }
        auth.basic = { user: 'u' }
        """)
        // Scalar and empty values are data; universal-ctags lists the rest (objects as "class").
        XCTAssertEqual(names(a), ["object LEVELS", "property silent", "property warn", "method format", "method pick",
                                  "function parse", "object basic"])
        XCTAssertEqual(a.symbols[1].parent, "LEVELS")
    }

    /// lizard reads a template's `${…}` as one token and counts every `catch` token, a promise's
    /// `.catch(…)` handler included; Atelier counts the same way so the two compare function by function.
    func testJavaScriptComplexityCountsAsLizardDoes() throws {
        let a = try s.analyze("c.js", """
        function label (hook) {
          return `${hook.type === 'owner' ? '~' : ''}${hook.name}`
        }
        function gitPath () {
          return which('git').catch(er => {
            throw new Error(er && er.message)
          })
        }
        """)
        let c = Dictionary(uniqueKeysWithValues: a.metrics.functions.map { ($0.name, $0.complexity) })
        XCTAssertEqual(c["label"], 1)
        XCTAssertEqual(c["gitPath"], 2, "1 + .catch")
        XCTAssertEqual(c["er"], 2, "the handler itself: 1 + &&")
    }

    func testLineCountsReadCRLFAndUnicodeSpaces() throws {
        let a = try s.analyze("crlf.py", "# note\r\nx = 1\r\n\r\n\u{00A0}\u{2003}\r\ny = 2  # trailing\r\n")
        XCTAssertEqual(a.metrics.lines, 5)
        XCTAssertEqual(a.metrics.comment, 1, "only the comment-only line")
        XCTAssertEqual(a.metrics.blank, 2, "an empty line and a line of Unicode spaces")
        XCTAssertEqual(a.metrics.code, 2)
    }

    func testEveryMainLanguageHasItsDefinitions() throws {
        let cases: [(String, String, [String])] = [
            ("a.go", "package a\nimport \"fmt\"\ntype Client struct{}\nfunc (c *Client) Get(u string) error { return nil }\nfunc New() *Client { return nil }\n",
             ["type Client", "method Get", "function New"]),
            ("a.rs", "use std::io;\npub struct Point { x: i32 }\nimpl Point { fn norm(&self) -> i32 { self.x } }\ntrait Shape { fn area(&self) -> f64; }\nfn main() {}\n",
             ["struct Point", "impl Point", "method norm", "trait Shape", "method area", "function main"]),
            ("a.js", "import x from './x.js'\nclass A { run() {} }\nfunction go() {}\nconst h = () => 1\n", ["class A", "method run", "function go", "function h"]),
            ("a.ts", "interface P { x: number }\nexport class C { m(): void {} }\ntype T = string\nenum E { A }\n", ["interface P", "class C", "method m", "type T", "enum E"]),
            ("A.java", "package p;\nimport java.util.List;\npublic class A { A() {} void run() {} interface I {} }\n", ["class A", "constructor A", "method run", "interface I"]),
            ("a.rb", "module M\n  class K\n    def go; end\n  end\nend\n", ["module M", "class K", "method go"]),
            ("a.sh", "#!/bin/sh\nsetup() { echo hi; }\n", ["function setup"]),
            ("a.lua", "local function f() end\nfunction M.g() end\n", ["function f", "function M.g"]),
            ("a.php", "<?php\nclass K { function m() {} }\nfunction f() {}\n", ["class K", "method m", "function f"]),
            ("a.cs", "namespace N { class C { void M() {} } }\n", ["namespace N", "class C", "method M"]),
            ("a.kt", "class K { fun m() {} }\nfun top() {}\n", ["class K", "method m", "function top"]),
            ("a.scala", "object O { def f(x: Int) = x }\n", ["object O", "method f"]),
            ("a.ex", "defmodule M do\n  def f(x), do: x\n  defp g(y) do y end\nend\n", ["module M", "function f", "function g"]),
            ("README.md", "# Title\n\ntext\n\n## Usage\n", ["heading Title", "heading Usage"]),
            ("c.json", "{\"name\": \"x\", \"deps\": {\"a\": 1}}\n", ["key name", "key deps"]),
            ("c.yaml", "name: x\nspec:\n  a: 1\n", ["key name", "key spec"]),
            ("c.toml", "[package]\nname = \"x\"\n[dependencies]\n", ["table package", "table dependencies"]),
            ("s.css", "body { color: red }\n.a .b { margin: 0 }\n", ["rule body", "rule .a .b"]),
            ("Makefile", "all: build\nbuild:\n\tcc x.c\n", ["target all", "target build"]),
        ]
        for (file, text, want) in cases {
            let a = try s.analyze(file, text)
            XCTAssertEqual(names(a), want, file)
        }
    }

    func testLanguagesCoverageAndDetection() {
        XCTAssertGreaterThanOrEqual(Languages.all.filter(\.supportsOutline).count, 40)
        XCTAssertGreaterThanOrEqual(Languages.all.filter(\.supportsComplexity).count, 20)
        XCTAssertEqual(Languages.detect(path: "x/Makefile")?.name, "make")
        XCTAssertEqual(Languages.detect(path: "tool", head: Data("#!/usr/bin/env python3\nprint(1)\n".utf8))?.name, "python")
        XCTAssertEqual(Languages.detect(path: "run", head: Data("#!/bin/bash\n".utf8))?.name, "bash")
        XCTAssertNil(Languages.detect(path: "photo.jpeg"))
    }

    func testSwiftImportsAreReadByLine() throws {
        let a = try s.analyze("S.swift", "import Foundation\n@testable import Core\nimport struct Darwin.size_t\nstruct Point {}\n")
        XCTAssertEqual(a.imports.map(\.module), ["Foundation", "Core", "Darwin"])
        XCTAssertEqual(Imports.swift("import Foundation\n@testable import Core\nimport struct Darwin.size_t\n").map(\.module), ["Foundation", "Core", "Darwin"])
    }

    /// Swift's grammar is built by the bootstrap from tree-sitter-swift's sdist; complexity counts as
    /// lizard's Swift reader does (guard, case, catch, ternaries; not `?` of optionals or `??`).
    func testSwiftTypesMembersAndComplexity() throws {
        let a = try s.analyze("Shapes.swift", """
        public protocol Shape {
            func area() -> Double
        }
        struct Circle: Shape {
            let r: Double
            init(r: Double) { self.r = r }
            func area() -> Double { r > 0 ? .pi * r * r : 0 }
        }
        extension Circle {
            static func parse(_ s: String?) throws -> Circle? {
                guard let s, !s.isEmpty else { return nil }
                for c in s where c == "x" || c == "y" {
                    if c == "x" && s.count > 2 { continue }
                }
                switch s {
                case "a": return nil
                default: break
                }
                do { try check(s) } catch { return nil }
                return Circle(r: Double(s) ?? 0)
            }
        }
        final class Box<T> { deinit {} }
        enum E { case a, b }
        typealias Pair = (Int, Int)
        """)
        XCTAssertEqual(a.language, "swift")
        XCTAssertEqual(names(a), ["protocol Shape", "method area", "struct Circle", "constructor init", "method area", "extension Circle",
                                  "method parse", "class Box", "method deinit", "enum E", "type Pair"])
        XCTAssertEqual(a.symbols.first { $0.name == "parse" }?.parent, "Circle")
        let c = Dictionary(a.metrics.functions.map { ($0.name, $0.complexity) }) { x, _ in x }
        XCTAssertEqual(c["parse"], 8, "1 + guard + for + || + if + && + case + catch")
        XCTAssertEqual(c["area"], 2, "1 + the ternary")
        XCTAssertEqual(a.metrics.functions.first { $0.name == "parse" }?.nesting, 2, "for, then if")
    }

    func testLanguagesWithoutAGrammarUseCtags() throws {
        let a = try s.analyze("m.pas", "program Hello;\nprocedure Greet;\nbegin\nend;\nbegin\nend.\n")
        XCTAssertEqual(a.language, "pascal")
        XCTAssertTrue(a.symbols.contains { $0.name == "Greet" }, "\(a.symbols)")
    }
}
