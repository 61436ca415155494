import Foundation
import JSONSchema

/// Fills a tool's arguments from the request without inventing anything: paths are copied from the
/// request (and kept only when they exist under the roots, when any do), numbers and enum values are
/// taken from its words, the query is the request itself. What cannot be grounded stays unset; a
/// required argument that stays unset makes the call unfillable, and the planner asks instead.
///
/// Each property's grounding comes from its `x-grounding` keyword in the tool's schema file
/// (`file`, `directory`, `path`, `request`, `collection`), else from its name and type. A string
/// property may list `x-cues`, the words after which the request writes its value ("class dog");
/// booleans are switched on by naming them, JSON-valued ones take the JSON written in the request.
struct ArgumentFiller {
    let roots: [URL]

    enum Outcome {
        case filled(JSONValue)
        /// The required arguments not found, and the arguments that were.
        case missing([String], partial: JSONObject)
    }

    func fill(_ schema: JSONValue, clause: String, request: String, extraPaths: [String] = []) -> Outcome {
        guard let props = schema["properties"]?.objectValue else { return .filled(.object(JSONObject())) }
        let required = Set((schema["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        var args = JSONObject()
        // The clause's own paths; the rest of the request's (and attachments) only when it names none.
        var paths = Self.paths(in: clause) + existingWords(in: clause)
        if paths.isEmpty { paths = Self.paths(in: request) + extraPaths + existingWords(in: request) }
        let numbers = Self.numbers(in: clause, excluding: paths)
        let numericProps = props.filter { ["integer", "number"].contains($0.value["type"]?.stringValue ?? "") }
        for (name, prop) in props {
            let grounding = prop["x-grounding"]?.stringValue ?? Self.inferGrounding(name, prop)
            switch grounding {
            case "file", "directory", "path":
                let chosen = choosePaths(paths, kind: grounding).map(Self.tidy)
                if prop["type"] == "array" {
                    if !chosen.isEmpty { args[name] = .array(chosen.map { .string($0) }) }
                } else if let first = chosen.first {
                    args[name] = .string(first)
                } else if let root = prop["default"]?.stringValue, root == ".", Self.namesTheRoot(clause) {
                    args[name] = .string(root)
                }
            case "request":
                args[name] = .string(Self.query(from: clause))
            case "description":
                args[name] = .string(Self.description(from: clause))
            case "collection":
                if let c = Self.collection(in: clause) ?? Self.collection(in: request) { args[name] = .string(c) }
            case "pages":
                if let pages = Self.pages(in: clause) { args[name] = .array(pages.map { JSONValue($0) }) }
            case "symbol":
                if let sym = Self.symbol(in: clause, excluding: paths) { args[name] = .string(sym) }
            default:
                if let e = prop["enum"]?.arrayValue {
                    // Words inside paths ("form-w9.pdf") name files, not options.
                    let words = paths.reduce(clause) { $0.replacingOccurrences(of: $1, with: " ") }
                    if let hit = Self.enumValue(e.compactMap(\.stringValue), in: words) { args[name] = .string(hit) }
                } else if let t = prop["type"]?.stringValue, t == "integer" || t == "number" {
                    if let n = pickNumber(numbers, for: name, prop, clause: clause, only: numericProps.count == 1) {
                        args[name] = .number(JSONNumber(text: t == "integer" ? String(Int(n)) : Self.format(n)))
                    }
                }
            }
        }
        fillJSONValues(props, into: &args, from: clause)
        fillSize(props, into: &args, from: clause)
        for (name, prop) in props where args[name] == nil && prop["x-grounding"]?.stringValue != "none" {
            if prop["type"] == "boolean", let on = Self.switchValue(name, in: clause) { args[name] = .bool(on) }
            if prop["type"] == "string", let cues = prop["x-cues"]?.arrayValue?.compactMap(\.stringValue), let word = Self.word(after: cues, in: clause) {
                args[name] = .string(word)
            }
        }
        // Optional values that break the schema are dropped rather than sent.
        if let s = try? Schema(schema) {
            for key in args.keys where !required.contains(key) {
                var trial = args
                trial[key] = nil
                if !s.validate(.object(args)).valid, s.validate(.object(trial)).valid { args = trial }
            }
        }
        let missing = required.filter { args[$0] == nil }.sorted()
        return missing.isEmpty ? .filled(.object(args)) : .missing(missing, partial: args)
    }

    /// One call per value when the clause names several for a tool that takes one ("show me a.md and
    /// b.md" → two reads, "where are Client and Router defined?" → two lookups): the filled arguments
    /// with the single path or symbol property set to each value in turn. Otherwise just `arguments`.
    func fanOut(_ schema: JSONValue, arguments: JSONValue, clause: String) -> [JSONValue] {
        guard let props = schema["properties"]?.objectValue, let args = arguments.objectValue else { return [arguments] }
        let scalars = props.filter { ["file", "directory", "path", "symbol"].contains($0.value["x-grounding"]?.stringValue ?? Self.inferGrounding($0.key, $0.value))
            && $0.value["type"] != "array" && args[$0.key] != nil }
        guard scalars.count == 1, let (name, prop) = scalars.first else { return [arguments] }
        let grounding = prop["x-grounding"]?.stringValue ?? Self.inferGrounding(name, prop)
        let paths = Self.paths(in: clause) + existingWords(in: clause)
        let values: [String]
        if grounding == "symbol" {
            values = Self.symbolList(in: clause, excluding: paths)
        } else {
            values = choosePaths(paths, kind: grounding).map(Self.tidy)
        }
        guard values.count >= 2, values.count <= 8 else { return [arguments] }
        return values.map { v in
            var a = args
            a[name] = .string(v)
            return .object(a)
        }
    }

    /// "the top level", "this workspace", "here": the root itself.
    static func namesTheRoot(_ clause: String) -> Bool {
        let l = clause.lowercased()
        return ["top level", "top-level", "this workspace", "the workspace", "this project", "the project root", "root folder", "root directory",
                "current directory", "current folder", "this directory", "this folder", "in here"].contains { l.contains($0) }
    }

    /// The enum value the clause names, singular or plural ("the table" → `tables`). Several named
    /// values mean `all` when the enum has it ("text, layout and tables"), else nothing is chosen.
    static func enumValue(_ values: [String], in clause: String) -> String? {
        let words = Set(clause.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init))
        let hits = values.filter { v in
            let l = v.lowercased()
            return words.contains(l) || (l.count > 3 && l.hasSuffix("s") && words.contains(String(l.dropLast()))) || words.contains(l + "s")
        }
        if hits.count == 1 { return hits[0] }
        return hits.count > 1 && values.contains("all") ? "all" : nil
    }

    nonisolated(unsafe) static let pageRange = /\b(?:pages?|pp?\.)\s*(\d{1,5})\s*(?:-|–|to|through)\s*(\d{1,5})\b/.ignoresCase()
    nonisolated(unsafe) static let pageList = /\b(?:pages?|pp?\.)\s*(\d{1,5}(?:\s*(?:,|and|&)\s*\d{1,5})*)/.ignoresCase()
    nonisolated(unsafe) static let ordinalPage = /\b(first|second|third|last)\s+page\b/.ignoresCase()

    /// 1-based page numbers the clause names: "page 2", "pages 2-3", "pages 1, 4 and 6", "the first page".
    static func pages(in clause: String) -> [Int]? {
        if let m = clause.firstMatch(of: pageRange), let a = Int(m.1), let b = Int(m.2), a >= 1, a <= b, b - a < 1000 { return Array(a...b) }
        if let m = clause.firstMatch(of: pageList) {
            let list = m.1.split { !$0.isNumber }.compactMap { Int($0) }.filter { $0 >= 1 }
            if !list.isEmpty { return list }
        }
        if let m = clause.firstMatch(of: ordinalPage) {
            switch m.1.lowercased() { case "first": return [1]; case "second": return [2]; case "third": return [3]; default: return nil }
        }
        return nil
    }

    static let symbolCues: Set<String> = ["named", "called", "class", "function", "method", "symbol", "struct", "type", "interface", "trait", "def", "func", "fn", "uses", "calls"]

    /// A code identifier the clause names: quoted, written like code (snake_case, camelCase, a digit
    /// inside), or the word after "named", "class", "function"…
    static func symbol(in clause: String, excluding paths: [String]) -> String? {
        if let q = quotedPattern.firstMatch(in: clause, range: NSRange(clause.startIndex..., in: clause)), let r = Range(q.range(at: 1), in: clause) {
            let inner = String(clause[r])
            if inner.range(of: "^[A-Za-z_$][A-Za-z0-9_$.:]*$", options: .regularExpression) != nil, !paths.contains(inner) { return inner }
        }
        let words = clause.split { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "/" || $0 == "-") }.map(String.init)
        func isIdent(_ w: String) -> Bool { w.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil }
        let candidates = words.filter { w in isIdent(w) && !paths.contains(where: { $0.contains(w) }) }
        if let coded = candidates.first(where: looksLikeCode) { return coded }
        for (i, w) in words.enumerated() where symbolCues.contains(w.lowercased()) && i + 1 < words.count {
            let next = words[i + 1]
            if isIdent(next), !stopWords.contains(next.lowercased()), !["named", "called", "that", "which", "is", "are", "defined"].contains(next.lowercased()) { return next }
        }
        // A capitalised word inside the sentence names a type ("where is Client defined?").
        if let capital = candidates.first(where: { $0.first!.isUppercase && $0.count >= 2 && $0 != "I" && words.first != $0 }) { return capital }
        return nil
    }

    nonisolated(unsafe) static let identifierList = /\b([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*,?\s+(?:and|&)\s+([A-Za-z_][A-Za-z0-9_]*)\b/

    /// Identifiers listed with "and" ("Client and Router", "parse_args, main and run"), each written
    /// like code or capitalised mid-sentence; empty when the clause lists none.
    static func symbolList(in clause: String, excluding paths: [String]) -> [String] {
        let first = clause.split(separator: " ").first.map(String.init)
        for m in clause.matches(of: identifierList) {
            let names = m.1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } + [String(m.2)]
            let ok = names.allSatisfy { n in
                !stopWords.contains(n.lowercased()) && !paths.contains(where: { $0.contains(n) }) && n != first
                    && (looksLikeCode(n) || n.first!.isUppercase)
            }
            if ok, Set(names).count == names.count { return names }
        }
        return []
    }

    static func looksLikeCode(_ w: String) -> Bool {
        w.contains("_") || (w.dropFirst().contains(where: \.isUppercase) && w.contains(where: \.isLowercase)) || (w.contains(where: \.isNumber) && w.contains(where: \.isLetter))
    }

    /// Plain words that name an entry under a root ("list the files in notes").
    private func existingWords(in text: String) -> [String] {
        var out: [String] = []
        for raw in text.split(separator: " ") {
            let w = raw.trimmingCharacters(in: CharacterSet(charactersIn: "\"'`“”‘’.,;:!?()"))
            guard w.count >= 2, !w.contains("/"), !Self.paths(in: w).contains(w), !Self.stopWords.contains(w.lowercased()) else { continue }
            if roots.contains(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent(w).path) }), !out.contains(w) { out.append(w) }
        }
        return out
    }

    static let stopWords: Set<String> = ["the", "a", "an", "in", "of", "to", "and", "or", "my", "me", "all", "files", "file", "folder", "this", "that", "it", "is", "for", "from", "on", "with", "show", "list", "read", "open"]

    /// Properties that take any JSON value or an object ("schema", "instance") get the JSON literals
    /// written in the clause: first a literal whose preceding words name the property ("the schema
    /// {…}"), then the rest in order of appearance.
    func fillJSONValues(_ props: JSONObject, into args: inout JSONObject, from clause: String) {
        let takesJSON = props.filter { entry in
            let (name, prop) = (entry.key, entry.value)
            guard args[name] == nil, prop["enum"] == nil, prop["x-grounding"]?.stringValue ?? "json" == "json" else { return false }
            switch prop["type"] {
            case nil: return true
            case .string("object")?: return true
            case .array(let types)?: return types.contains(.string("object"))
            default: return false
            }
        }.map(\.key)
        guard !takesJSON.isEmpty else { return }
        var literals = Self.jsonLiterals(in: clause)
        for name in takesJSON {
            if let i = literals.firstIndex(where: { $0.before.lowercased().contains(name.lowercased()) }) {
                args[name] = literals.remove(at: i).value
            }
        }
        for name in takesJSON where args[name] == nil && !literals.isEmpty {
            args[name] = literals.removeFirst().value
        }
    }

    nonisolated(unsafe) static let sizePattern = /\b(\d{2,5})\s*[x×]\s*(\d{2,5})\b/

    /// "512x768" sets width and height when the tool has both.
    func fillSize(_ props: JSONObject, into args: inout JSONObject, from clause: String) {
        guard props["width"] != nil, props["height"] != nil, args["width"] == nil, args["height"] == nil,
              let m = clause.firstMatch(of: Self.sizePattern), let w = Int(m.1), let h = Int(m.2) else { return }
        args["width"] = .number(JSONNumber(text: String(w)))
        args["height"] = .number(JSONNumber(text: String(h)))
    }

    /// A boolean property the clause switches on by naming it ("recursively" → recursive, "train the
    /// text encoder too" → train_text_encoder): every word of the name (3+ letters) starts a word of
    /// the clause. A negation just before the first one ("without", "no", "don't") switches it off.
    static func switchValue(_ name: String, in clause: String) -> Bool? {
        let parts = nameWords(name).filter { $0.count >= 3 && !["use", "with", "include", "enable"].contains($0) }
        guard !parts.isEmpty else { return nil }
        let words = clause.lowercased().split { !$0.isLetter && !$0.isNumber && $0 != "'" }.map(String.init)
        var first: Int?
        for part in parts {
            guard let i = words.firstIndex(where: { $0.hasPrefix(part) }) else { return nil }
            first = Swift.min(first ?? i, i)
        }
        let before = words[Swift.max(0, first! - 3)..<first!]
        return !before.contains(where: { ["no", "not", "without", "don't", "dont", "never", "skip"].contains($0) })
    }

    /// "train_text_encoder", "includeHidden" → their lowercase words.
    static func nameWords(_ name: String) -> [String] {
        var words: [String] = [], current = ""
        for c in name {
            if c == "_" || c == "-" { if !current.isEmpty { words.append(current) }; current = ""; continue }
            if c.isUppercase, !current.isEmpty { words.append(current); current = "" }
            current.append(Character(c.lowercased()))
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The single word right after one of the cues ("class dog", "class: dog", "as a dog",
    /// "identifier zwx"), unless it is a plain function word.
    static func word(after cues: [String], in clause: String) -> String? {
        let lower = clause.lowercased()
        for cue in cues {
            var search = lower.startIndex..<lower.endIndex
            while let r = lower.range(of: cue, range: search) {
                search = r.upperBound..<lower.endIndex
                guard r.lowerBound == lower.startIndex || !lower[lower.index(before: r.lowerBound)].isLetter else { continue }
                let rest = clause[r.upperBound...].drop { $0 == " " || $0 == ":" || $0 == "=" }
                guard rest.startIndex > r.upperBound || cue.hasSuffix(" ") else { continue }
                let word = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
                if word.count >= 2, !stopWords.contains(word.lowercased()), !["model", "photos", "pictures", "images"].contains(word.lowercased()) { return word }
            }
        }
        return nil
    }

    /// Balanced `{…}` and `[…]` spans of the text that parse as JSON, with the few words before each.
    static func jsonLiterals(in text: String) -> [(value: JSONValue, before: String)] {
        let chars = Array(text)
        var out: [(JSONValue, String)] = []
        var i = 0
        while i < chars.count {
            guard chars[i] == "{" || chars[i] == "[" else { i += 1; continue }
            var depth = 0, inString = false, escaped = false, end: Int?
            for j in i..<chars.count {
                let c = chars[j]
                if inString {
                    if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                    continue
                }
                if c == "\"" { inString = true } else if c == "{" || c == "[" { depth += 1 } else if c == "}" || c == "]" {
                    depth -= 1
                    if depth == 0 { end = j; break }
                }
            }
            if let end, let value = try? JSONParser.parse(String(chars[i...end])) {
                let before = String(chars[Swift.max(0, i - 24)..<i])
                out.append((value, before))
                i = end + 1
            } else {
                i += 1
            }
        }
        return out
    }

    /// "./dog/" → "dog": the same path written the way tools report it.
    static func tidy(_ path: String) -> String {
        var p = path
        while p.hasPrefix("./"), p.count > 2 { p.removeFirst(2) }
        while p.hasSuffix("/"), p.count > 1 { p.removeLast() }
        return p
    }

    /// Whether the clause names a path: a path-like word or the name of an existing entry.
    func namesPaths(_ clause: String) -> Bool {
        !Self.paths(in: clause).isEmpty || !existingWords(in: clause).isEmpty
    }

    /// Whether the arguments hold a path the request named (not a default) for a path-grounded property.
    static func takesAPath(_ schema: JSONValue, _ arguments: JSONValue) -> Bool {
        guard let props = schema["properties"]?.objectValue else { return false }
        return props.contains { name, prop in
            ["file", "directory", "path"].contains(prop["x-grounding"]?.stringValue ?? inferGrounding(name, prop))
                && arguments[name] != nil && arguments[name] != prop["default"]
        }
    }

    static func inferGrounding(_ name: String, _ prop: JSONValue) -> String {
        switch name.lowercased() {
        case "path", "paths", "file", "files", "filepath", "filename": return "path"
        case "directory", "folder", "dir", "root": return "directory"
        case "query", "question", "prompt", "text", "q": return prop["type"] == "string" ? "request" : ""
        case "collection": return "collection"
        default: return ""
        }
    }

    /// Existing paths of the right kind first; literal ones only when none exists (the tool then says
    /// clearly that the file is missing, which beats silently picking another).
    private func choosePaths(_ candidates: [String], kind: String) -> [String] {
        var existing: [String] = []
        for c in candidates {
            for root in roots {
                let url = c.hasPrefix("/") ? URL(fileURLWithPath: c) : root.appendingPathComponent(c)
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { continue }
                if kind == "file", isDir.boolValue { continue }
                if kind == "directory", !isDir.boolValue { continue }
                if !existing.contains(c) { existing.append(c) }
                break
            }
        }
        if !existing.isEmpty { return existing }
        // A bare name ("handbook.md") that exists once somewhere under the roots.
        for c in candidates where !c.contains("/") && c.contains(".") {
            let found = Self.find(name: c, under: roots)
            if found.count == 1 { existing.append(found[0]) }
        }
        if !existing.isEmpty { return existing }
        // A literal that exists is of the wrong kind here (a folder for a file tool): the tool cannot use
        // it, so the argument stays unfilled and a tool that takes that kind wins the clause.
        return candidates.filter { c in
            if kind == "file" || kind == "directory", roots.contains(where: { FileManager.default.fileExists(atPath: (c.hasPrefix("/") ? URL(fileURLWithPath: c) : $0.appendingPathComponent(c)).path) }) {
                return false
            }
            return kind != "directory" || !c.contains(".") || c.hasSuffix("/") || c.hasPrefix(".")
        }
    }

    /// Paths (relative to their root) of entries named `name`, looked up within a bounded walk.
    static func find(name: String, under roots: [URL], limit: Int = 20_000) -> [String] {
        var out: [String] = []
        var seen = 0
        for root in roots {
            guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles]) else { continue }
            for case let u as URL in e {
                seen += 1
                if seen > limit || e.level > 6 { if e.level > 6 { e.skipDescendants() }; if seen > limit { break } else { continue } }
                if u.lastPathComponent == name {
                    let rel = String(u.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
                    out.append(rel)
                    if out.count > 1 { return out }
                }
            }
        }
        return out
    }

    private func pickNumber(_ numbers: [(Double, Int)], for name: String, _ prop: JSONValue, clause: String, only: Bool) -> Double? {
        let min = prop["minimum"]?.doubleValue ?? -.infinity, max = prop["maximum"]?.doubleValue ?? .infinity
        let fits = numbers.filter { $0.0 >= min && $0.0 <= max && (prop["type"] != "integer" || $0.0 == $0.0.rounded()) }
        // A number next to a word of the property's name or description ("top 3", "3 results", "200 ms").
        let cues = Set(([name] + (prop["description"]?.stringValue ?? "").split(separator: " ").map(String.init))
            .map { $0.lowercased().trimmingCharacters(in: .punctuationCharacters) }.filter { $0.count >= 2 && !Self.stopWords.contains($0) })
            .union(Self.numberCues[name.lowercased()] ?? [])
        let words = clause.lowercased().split(separator: " ").map { $0.trimmingCharacters(in: .punctuationCharacters) }
        // The number closest to a cue wins ("768 tall, seed 1234": seed is 1234, not 768).
        var best: (n: Double, distance: Int)?
        for (n, wordIndex) in fits {
            for d in 1...2 {
                let near = [wordIndex - d, wordIndex + d].filter { words.indices.contains($0) }
                if near.contains(where: { cues.contains(words[$0]) }) {
                    if best == nil || d < best!.distance { best = (n, d) }
                    break
                }
            }
        }
        if let best { return best.n }
        return only && fits.count == 1 ? fits[0].0 : nil
    }

    static let numberCues: [String: Set<String>] = [
        "k": ["top", "results", "passages", "hits", "best", "first"],
        "ms": ["ms", "milliseconds", "millisecond"],
        "maxentries": ["entries", "files", "items"],
        "pages": ["page", "pages"],
        "width": ["wide", "width", "w"],
        "height": ["tall", "high", "height", "h"],
        "seed": ["seed"],
        "steps": ["steps", "step"],
        "max_train_steps": ["steps", "step", "iterations"],
        "num_images": ["images", "pictures", "variations", "samples"],
    ]

    // MARK: Extractors

    /// Path-like tokens: with a slash, a file extension, or in quotes/backticks.
    static func paths(in text: String) -> [String] {
        var out: [String] = []
        let ns = text as NSString
        for m in quotedPattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let s = ns.substring(with: m.range(at: 1))
            if looksLikePath(s) { out.append(s) }
        }
        for raw in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "(" || $0 == ")" }) {
            var t = String(raw).trimmingCharacters(in: CharacterSet(charactersIn: "\"'`“”‘’"))
            while let last = t.last, ".,;:!?)".contains(last), !(t == "." || t == "..") { t.removeLast() }
            if looksLikePath(t), !out.contains(t) { out.append(t) }
        }
        return out
    }

    static let quotedPattern = try! NSRegularExpression(pattern: "[\"'`“‘]([^\"'`”’]{1,300})[\"'`”’]")

    static func looksLikePath(_ s: String) -> Bool {
        guard !s.isEmpty, s != "/", s.count < 300, !s.contains(" ") || s.contains("/") else { return false }
        if s.hasPrefix("http://") || s.hasPrefix("https://") || s.contains("@") { return false }
        if s == "." || s == ".." || s.hasPrefix("./") || s.hasPrefix("../") || s.hasPrefix("~/") || s.hasPrefix("/") { return true }
        if s.contains("/") { return s.split(separator: "/").allSatisfy { !$0.isEmpty && $0.count < 256 } && s.rangeOfCharacter(from: .letters) != nil }
        // name.ext with a short alphabetic extension and a name that is not a number
        let parts = s.split(separator: ".")
        guard parts.count >= 2, let ext = parts.last, (1...5).contains(ext.count), ext.allSatisfy({ $0.isLetter || $0.isNumber }),
              ext.contains(where: \.isLetter), parts.first!.contains(where: { $0.isLetter || $0 == "_" }) else { return false }
        return !["e.g", "i.e", "etc", "vs", "mr", "dr"].contains(s.lowercased())
    }

    /// Numbers not part of a path, with their word positions.
    static func numbers(in text: String, excluding paths: [String]) -> [(Double, Int)] {
        var out: [(Double, Int)] = []
        for (i, w) in text.split(separator: " ").enumerated() {
            let t = w.trimmingCharacters(in: CharacterSet(charactersIn: ".,;:!?()\"'"))
            if paths.contains(where: { $0.contains(t) && $0 != t }) && t.contains(where: \.isLetter) { continue }
            let digits = t.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let n = Double(digits), digits.count == t.count || ["ms", "s", "k", "%"].contains(String(t.dropFirst(digits.count)).lowercased()) else { continue }
            out.append((n, i))
        }
        return out
    }

    static let collectionPatterns = [
        "(?:in|into|from|to|of|the|my)\\s+(?:the\\s+)?[\"'`]?([A-Za-z0-9_.-]{1,64})[\"'`]?\\s+collection",
        "collection\\s+(?:named\\s+|called\\s+)?[\"'`]?([A-Za-z0-9_.-]{1,64})[\"'`]?",
        // "In ml-papers, …": a name written like an identifier (a dash or underscore) that opens the request.
        "^(?:in|from|within|search)\\s+[\"'`]?([A-Za-z0-9.]+[-_][A-Za-z0-9_.-]+)[\"'`]?\\s*[,:]",
    ].map { try! NSRegularExpression(pattern: $0, options: .caseInsensitive) }

    /// "the research collection", "collection research", "in collection 'notes'"
    static func collection(in text: String) -> String? {
        for re in collectionPatterns {
            let ns = text as NSString
            if let m = re.firstMatch(in: text, range: NSRange(location: 0, length: ns.length)) {
                let c = ns.substring(with: m.range(at: 1))
                if !["the", "a", "my", "this", "that", "which", "every", "each", "all"].contains(c.lowercased()) { return c }
            }
        }
        return nil
    }

    static let searchPattern = try! NSRegularExpression(pattern: "^(?:please\\s+|can you\\s+|could you\\s+)?(?:search|look up|look|find|query|check)\\b.*?\\b(?:for|about|on)\\s+(.+)$", options: .caseInsensitive)

    static let searchVerb = try! NSRegularExpression(pattern: "\\b(?:search(?:es|ing)?|look(?:ing)?\\s+(?:up|for)|find|grep|keyword)\\b", options: .caseInsensitive)
    static let quotedPhrase = try! NSRegularExpression(pattern: "\"([^\"]{1,200})\"|“([^”]{1,200})”|`([^`]{1,200})`")

    /// The words of a search request that say what to look for.
    static func query(from clause: String) -> String {
        let ns = clause as NSString
        // A search for one quoted phrase ("…the exact error code "insufficient_scope"") searches for the phrase.
        if searchVerb.firstMatch(in: clause, range: NSRange(location: 0, length: ns.length)) != nil {
            let quoted = quotedPhrase.matches(in: clause, range: NSRange(location: 0, length: ns.length))
            if quoted.count == 1 {
                let m = quoted[0]
                let r = (1...3).map { m.range(at: $0) }.first { $0.location != NSNotFound }!
                return ns.substring(with: r)
            }
        }
        if let m = searchPattern.firstMatch(in: clause, range: NSRange(location: 0, length: ns.length)) {
            let q = ns.substring(with: m.range(at: 1)).trimmingCharacters(in: .whitespacesAndNewlines)
            if q.split(separator: " ").count >= 1 { return stripCount(q) }
        }
        return stripCount(clause)
    }

    static let drawPattern = try! NSRegularExpression(
        pattern: "^(?:please\\s+)?(?:(?:can|could|would)\\s+you\\s+)?(?:generate|draw|make|render|create|paint|produce|sketch|imagine|show)\\s+(?:me\\s+)?(?:(?:an?|one|some|\\d+|two|three|four)\\s+)?(?:(?:new|quick)\\s+)?(?:images?|pictures?|photos?|illustrations?|drawings?|paintings?|renders?|artworks?)?\\s*(?:of|showing|with|depicting)?\\s+",
        options: .caseInsensitive)
    static let settingsPattern = try! NSRegularExpression(
        pattern: "[,;]?\\s*(?:(?:with|using|at|in)\\s+)?(?:seed\\s*\\d+|\\d+\\s*steps|\\d+\\s*[x×]\\s*\\d+(?:\\s*pixels)?|guidance\\s*[\\d.]+)(?:\\s*(?:and|,)\\s*(?:seed\\s*\\d+|\\d+\\s*steps|guidance\\s*[\\d.]+))*\\s*[.!]?$",
        options: .caseInsensitive)

    /// What to draw, from an image request: "generate 2 images of a red star with seed 42" → "a red star".
    static func description(from clause: String) -> String {
        var text = clause.trimmingCharacters(in: .whitespacesAndNewlines)
        for pattern in [drawPattern, settingsPattern] {
            let ns = text as NSString
            text = pattern.stringByReplacingMatches(in: text, range: NSRange(location: 0, length: ns.length), withTemplate: "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return text.isEmpty ? clause : text
    }

    static let countPattern = try! NSRegularExpression(pattern: "^(?:the\\s+)?(?:top|first|best)?\\s*\\d+\\s+(?:results|passages|hits|matches|documents)?\\s*(?:about|on|for|regarding|mentioning)\\s+(.+)$", options: .caseInsensitive)

    /// "top 3 results about GPU memory" → "GPU memory"
    static func stripCount(_ q: String) -> String {
        let ns = q as NSString
        if let m = countPattern.firstMatch(in: q, range: NSRange(location: 0, length: ns.length)) { return ns.substring(with: m.range(at: 1)) }
        return q
    }

    static func format(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
    }
}
