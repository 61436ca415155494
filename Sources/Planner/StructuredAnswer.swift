import Foundation
import JSONSchema

/// The offline planner's final answer to a response schema. There is no language model to write the
/// JSON, so the schema is read instead: each property is filled from the tool results — values under
/// a key of the same name (singular or plural, or a known synonym: "sources" are the results'
/// `path`s), searched first inside the result item an enclosing array element came from — and text
/// properties that ask for the answer itself ("answer", "summary", …) get the written answer.
/// Nothing is invented: a required value with no source is an error that names it, and the whole
/// value is validated against the schema before it is returned.
struct StructuredAnswer {
    enum Failure: Error, CustomStringConvertible {
        case noSource(pointer: String, kind: String)
        case invalid(String)

        var description: String {
            switch self {
            case .noSource(let p, let k):
                return "the offline planner found no value for \(p.isEmpty ? "the answer" : p) (\(k)) in the tool results; ask for something the tools return, or use a remote provider (--provider xai|openai or --base-url) to write free-form structured answers"
            case .invalid(let why):
                return "the offline planner's structured answer does not validate against the response schema: \(why)"
            }
        }
    }

    /// The answer as the planner would write it in prose.
    let text: String
    /// Each successful tool result: its structured data.
    let results: [JSONValue]
    let schema: JSONValue

    /// A result known only as text: its JSON when it is JSON.
    static func value(of body: String) -> JSONValue { (try? JSONParser.parse(body)) ?? .string(body) }

    func build() throws -> JSONValue {
        guard let value = try fill(schema, name: nil, scope: results, pointer: "") else {
            throw Failure.noSource(pointer: "", kind: kind(of: schema))
        }
        let check = try Schema(schema).validate(value)
        guard check.valid else { throw Failure.invalid(check.summary) }
        return value
    }

    // MARK: Filling

    /// Text properties whose value is the answer itself.
    static let answerNames: Set<String> = ["answer", "summary", "text", "content", "response", "result", "explanation",
                                           "description", "message", "reply", "output", "body", "details", "conclusion"]
    /// Property names that mean "where it came from", read from the results' `path`-like keys.
    static let sourceNames: Set<String> = ["source", "citation", "reference", "document", "file", "path", "origin"]
    static let sourceKeys = ["path", "file", "source", "document"]
    static let countNames: Set<String> = ["count", "total", "number", "numhits", "numresults", "hitcount", "resultcount", "matches", "n"]

    private func fill(_ raw: JSONValue, name: String?, scope: [JSONValue], pointer: String) throws -> JSONValue? {
        let s = resolve(raw)
        if let c = s["const"] { return c }
        if let options = s["enum"]?.arrayValue { return pickEnum(options, name: name, scope: scope) }
        for key in ["anyOf", "oneOf"] {
            if let branches = s[key]?.arrayValue {
                for b in branches {
                    if let v = try? fill(b, name: name, scope: scope, pointer: pointer),
                       (try? Schema(b).validate(v).valid) == true { return v }
                }
                return nil
            }
        }
        switch kind(of: s) {
        case "object": return try fillObject(s, scope: scope, pointer: pointer)
        case "array": return try fillArray(s, name: name, scope: scope, pointer: pointer)
        case "string": return fillString(s, name: name, scope: scope)
        case "number", "integer": return fillNumber(s, name: name, scope: scope, integer: kind(of: s) == "integer")
        case "boolean": return name.flatMap { found($0, in: scope).lazy.compactMap(\.boolValue).first.map(JSONValue.bool) }
        case "null": return .null
        default: return name.flatMap { found($0, in: scope).first }
        }
    }

    private func fillObject(_ s: JSONValue, scope: [JSONValue], pointer: String) throws -> JSONValue? {
        let required = Set(s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        var out = JSONObject()
        for (key, sub) in s["properties"]?.objectValue ?? JSONObject() {
            let here = pointer + "/" + key
            if let v = try fill(sub, name: key, scope: scope, pointer: here) {
                out[key] = v
            } else if required.contains(key) {
                throw Failure.noSource(pointer: here, kind: kind(of: resolve(sub)))
            }
        }
        return .object(out)
    }

    private func fillArray(_ s: JSONValue, name: String?, scope: [JSONValue], pointer: String) throws -> JSONValue? {
        let items = resolve(s["items"] ?? .object(JSONObject()))
        var elements: [JSONValue] = name.map { found($0, in: scope) }?.flatMap { $0.arrayValue ?? [$0] } ?? []
        if let n = name, Self.sourceNames.contains(Self.singular(Self.normalized(n))) {
            var seen: [JSONValue] = []
            elements = elements.filter { e in seen.contains(e) ? false : { seen.append(e); return true }() }
        }
        if kind(of: items) == "object", !elements.contains(where: { $0.objectValue != nil }) {
            // Rows of a result ("hits", "symbols", …) whose items carry the properties the schema asks for.
            let wanted = items["required"]?.arrayValue?.compactMap(\.stringValue) ?? items["properties"]?.objectValue?.keys ?? []
            elements = arrays(in: scope).first { rows in
                rows.contains { row in wanted.contains { !found($0, in: [row]).isEmpty } }
            } ?? []
        }
        var out: [JSONValue] = []
        for (i, e) in elements.enumerated() {
            if let max = s["maxItems"]?.intValue, out.count >= max { break }
            let v = kind(of: items) == "object" && e.objectValue != nil
                ? try? fill(items, name: nil, scope: [e] + scope, pointer: pointer + "/\(i)")
                : convert(e, to: items)
            if let v, !(s["uniqueItems"]?.boolValue == true && out.contains(v)) { out.append(v) }
        }
        if out.isEmpty && name == nil { return nil }
        if let min = s["minItems"]?.intValue, out.count < min { return nil }
        return .array(out)
    }

    private func fillString(_ s: JSONValue, name: String?, scope: [JSONValue]) -> JSONValue? {
        var value = name.flatMap { n in found(n, in: scope).lazy.compactMap { convert($0, to: s)?.stringValue }.first }
        if value == nil, let n = name.map(Self.normalized), Self.answerNames.contains(n) || Self.answerNames.contains(Self.singular(n)) || name == nil {
            value = text
        }
        guard var v = value else { return nil }
        if let max = s["maxLength"]?.intValue, v.count > max { v = String(v.prefix(max)) }
        return .string(v)
    }

    private func fillNumber(_ s: JSONValue, name: String?, scope: [JSONValue], integer: Bool) -> JSONValue? {
        if let n = name, let v = found(n, in: scope).lazy.compactMap({ convert($0, to: s) }).first { return v }
        if let n = name.map(Self.normalized), Self.countNames.contains(n) || n.hasPrefix("num") || n.hasSuffix("count") {
            // "How many": the rows of the first list in the results.
            if let rows = arrays(in: scope).first { return JSONValue(rows.count) }
        }
        return nil
    }

    private func pickEnum(_ options: [JSONValue], name: String?, scope: [JSONValue]) -> JSONValue? {
        let values = name.map { found($0, in: scope) } ?? []
        if let hit = options.first(where: { values.contains($0) }) { return hit }
        // The option the answer mentions, as a word.
        let words = Set(text.lowercased().split { !$0.isLetter && !$0.isNumber && $0 != "_" && $0 != "-" }.map(String.init))
        return options.first { o in o.stringValue.map { words.contains($0.lowercased()) } ?? false }
    }

    /// A found value as the type the schema asks for, or nil when it cannot be one.
    private func convert(_ v: JSONValue, to raw: JSONValue) -> JSONValue? {
        let s = resolve(raw)
        switch (kind(of: s), v) {
        case ("string", .string): return v
        case ("string", .number(let n)): return .string(n.description)
        case ("string", .bool(let b)): return .string(b ? "true" : "false")
        case ("string", .object(let o)):
            return Self.sourceKeys.lazy.compactMap { o[$0]?.stringValue }.first.map(JSONValue.string)
        case ("number", .number): return v
        case ("integer", .number(let n)): return n.isInteger ? v : nil
        case ("number", .string(let t)): return Double(t).map { JSONValue($0) }
        case ("integer", .string(let t)): return Int(t).map { JSONValue($0) }
        case ("boolean", .bool): return v
        case ("object", .object), ("array", .array): return v
        case (let k, _) where k.isEmpty: return v
        default: return nil
        }
    }

    // MARK: Looking up values

    /// Values under keys that match `name` anywhere in `scope`, in document order (the first scope
    /// entry first). "sources" and its kin also match the results' paths.
    private func found(_ name: String, in scope: [JSONValue]) -> [JSONValue] {
        let want = Self.singular(Self.normalized(name))
        let keys: Set<String> = Self.sourceNames.contains(want) ? Set([want] + Self.sourceKeys) : [want]
        var out: [JSONValue] = []
        func walk(_ v: JSONValue, depth: Int) {
            guard depth < 12 else { return }
            switch v {
            case .object(let o):
                // One value per object: a hit's `path` and its citation's `document` are the same source.
                if let match = o.first(where: { keys.contains(Self.singular(Self.normalized($0.key))) }) {
                    out.append(match.value)
                } else {
                    for (_, x) in o { walk(x, depth: depth + 1) }
                }
            case .array(let a): for x in a { walk(x, depth: depth + 1) }
            default: break
            }
        }
        for v in scope {
            let before = out.count
            walk(v, depth: 0)
            if out.count > before { break }   // the nearest scope that has the key wins
        }
        return out
    }

    /// Arrays of objects in the results, outermost first.
    private func arrays(in scope: [JSONValue]) -> [[JSONValue]] {
        var out: [[JSONValue]] = []
        var queue = scope
        while !queue.isEmpty {
            let v = queue.removeFirst()
            switch v {
            case .array(let a):
                if !a.isEmpty, a.allSatisfy({ $0.objectValue != nil }) { out.append(a) }
                queue += a
            case .object(let o): queue += o.values
            default: break
            }
        }
        return out
    }

    // MARK: Schema helpers

    /// Follows a local `$ref` ("#/$defs/X", "#/definitions/X").
    private func resolve(_ s: JSONValue) -> JSONValue {
        var current = s
        for _ in 0..<8 {
            guard let ref = current["$ref"]?.stringValue, ref.hasPrefix("#") else { return current }
            var target = schema
            for part in ref.dropFirst().split(separator: "/") {
                let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                guard let next = target[key] ?? Int(key).flatMap({ target[$0] }) else { return current }
                target = next
            }
            current = target
        }
        return current
    }

    /// The schema's type: the first non-null of `type`, else inferred from its keywords.
    private func kind(of raw: JSONValue) -> String {
        let s = resolve(raw)
        if let t = s["type"]?.stringValue { return t }
        if let ts = s["type"]?.arrayValue?.compactMap(\.stringValue) { return ts.first { $0 != "null" } ?? "null" }
        if s["properties"] != nil || s["required"] != nil { return "object" }
        if s["items"] != nil { return "array" }
        return ""
    }

    static func normalized(_ name: String) -> String {
        String(name.lowercased().filter { $0.isLetter || $0.isNumber })
    }

    static func singular(_ n: String) -> String {
        if n.hasSuffix("ies"), n.count > 4 { return String(n.dropLast(3)) + "y" }
        if n.hasSuffix("s"), !n.hasSuffix("ss"), n.count > 3 { return String(n.dropLast()) }
        return n
    }
}
