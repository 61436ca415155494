import Foundation
import JSONSchema

/// A JSON Schema compiled into the grammar constrained decoding follows. Every text the grammar
/// admits validates against the schema: where generation must choose (property order, whitespace,
/// number syntax) it takes the narrower form — compact JSON, properties in the schema's order, plain
/// decimals — and keywords it cannot enforce are refused at compile time, naming the keyword and
/// where it is, rather than loosened.
public struct JSONGrammar: Sendable {
    public struct Property: Sendable {
        public let name: String
        /// `"name":` as it is written.
        let key: [UInt8]
        let node: Int
        let required: Bool
    }
    public struct StringRule: Sendable {
        var minLength = 0
        var maxLength: Int?
        var pattern: PatternAutomaton?
        /// The `x-grounding` kind: the constraint may tie such strings to spans of given sources.
        var grounding: String?
    }
    public struct NumberRule: Sendable {
        var minimum: Double?
        var maximum: Double?
        var exclusiveMinimum = false
        var exclusiveMaximum = false
        var multipleOf: Double?
    }
    public enum Node: Sendable {
        /// Declared properties in order; `free` is the value node of arbitrary keys (objects with no declared properties).
        case object([Property], free: Int?)
        case array(item: Int, min: Int, max: Int?)
        case string(StringRule)
        case integer(NumberRule)
        case number(NumberRule)
        /// Whole JSON texts, one of which is written (enum, const, booleans, null).
        case literals([[UInt8]])
        case anyOf([Int])
        /// Nothing validates (the schema `false`).
        case never
    }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let keyword: String
        public let location: String
        public let reason: String
        public var description: String {
            "the schema cannot be used for constrained decoding: '\(keyword)' at \(location.isEmpty ? "#" : "#" + location) \(reason)"
        }
    }

    public private(set) var nodes: [Node] = []
    public private(set) var root = 0

    /// Keywords that say nothing about validity (or that validation treats as annotations: `format`).
    static let annotations: Set<String> = ["title", "description", "default", "examples", "$schema", "$id", "$comment", "$anchor",
                                           "format", "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "$defs", "definitions", "_meta"]

    public init(schema: JSONValue) throws(Failure) {
        var c = Compiler(rootSchema: schema)
        root = try c.compile(schema, at: "")
        nodes = c.nodes
    }

    struct Compiler {
        let rootSchema: JSONValue
        var nodes: [Node] = []
        var refs: [String: Int] = [:]
        var anyNode: Int?

        mutating func add(_ n: Node) -> Int { nodes.append(n); return nodes.count - 1 }
        func fail(_ k: String, _ at: String, _ r: String) -> Failure { Failure(keyword: k, location: at, reason: r) }

        /// The node of "any JSON value" (the schema `true` or `{}`).
        mutating func any() -> Int {
            if let a = anyNode { return a }
            let a = add(.anyOf([]))
            anyNode = a
            let obj = add(.object([], free: a)), arr = add(.array(item: a, min: 0, max: nil))
            let str = add(.string(StringRule())), num = add(.number(NumberRule()))
            let lit = add(.literals(["true", "false", "null"].map { Array($0.utf8) }))
            nodes[a] = .anyOf([obj, arr, str, num, lit])
            return a
        }

        mutating func compile(_ s: JSONValue, at: String) throws(Failure) -> Int {
            if case .bool(let b) = s { return b ? any() : add(.never) }
            guard let o = s.objectValue else { throw fail("(schema)", at, "is not a schema (an object or a boolean)") }
            if let r = o["$ref"]?.stringValue { return try ref(r, at: at, siblings: o) }
            for k in o.keys where !Self.known.contains(k) && !JSONGrammar.annotations.contains(k) && !k.hasPrefix("x-") {
                throw fail(k, at, "is outside the subset constrained decoding enforces (object, properties, required, additionalProperties, enum, const, strings with length and pattern, numbers with bounds, arrays with item bounds, anyOf, oneOf of distinct types, $ref)")
            }
            if let e = o["enum"]?.arrayValue { return try literals(e, o, at: at + "/enum") }
            if let c = o["const"] { return try literals([c], o, at: at + "/const") }
            for k in ["anyOf", "oneOf"] {
                guard let alts = o[k]?.arrayValue else { continue }
                guard !alts.isEmpty else { throw fail(k, at, "is empty") }
                let siblings = o.keys.filter { $0 != k && !JSONGrammar.annotations.contains($0) && !$0.hasPrefix("x-") }
                guard siblings.isEmpty else { throw fail(k, at, "has sibling keywords (\(siblings.joined(separator: ", "))); move them into each alternative") }
                var ids: [Int] = []
                for (i, a) in alts.enumerated() { ids.append(try compile(a, at: "\(at)/\(k)/\(i)")) }
                if k == "oneOf" {
                    // Exactly one must match: safe only when no two alternatives admit the same type.
                    var seen: Set<String> = []
                    for (i, id) in ids.enumerated() {
                        let t = types(of: id)
                        guard seen.isDisjoint(with: t) else { throw fail(k, "\(at)/oneOf/\(i)", "overlaps an earlier alternative (both admit \(t.intersection(seen).sorted().joined(separator: ", "))); use anyOf or distinct types") }
                        seen.formUnion(t)
                    }
                }
                return add(.anyOf(ids))
            }
            var typeList: [String]
            switch o["type"] {
            case .string(let t): typeList = [t]
            case .array(let a): typeList = a.compactMap(\.stringValue)
            case nil:
                // No type: infer from the keywords present, else anything.
                if o["properties"] != nil || o["additionalProperties"] != nil || o["required"] != nil { typeList = ["object"] }
                else if o["items"] != nil { typeList = ["array"] }
                else if o["minLength"] != nil || o["maxLength"] != nil || o["pattern"] != nil { typeList = ["string"] }
                else if o["minimum"] != nil || o["maximum"] != nil { typeList = ["number"] }
                else { return any() }
            default: throw fail("type", at, "must be a string or an array of strings")
            }
            var ids: [Int] = []
            for t in typeList { ids.append(try typed(t, o, at: at)) }
            return ids.count == 1 ? ids[0] : add(.anyOf(ids))
        }

        static let known: Set<String> = ["type", "properties", "required", "additionalProperties", "enum", "const", "minLength", "maxLength",
                                         "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "items",
                                         "minItems", "maxItems", "anyOf", "oneOf", "$ref"]

        mutating func typed(_ t: String, _ o: JSONObject, at: String) throws(Failure) -> Int {
            switch t {
            case "object":
                let props = o["properties"]?.objectValue ?? JSONObject()
                let required = Set(o["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                let additional = o["additionalProperties"]
                var list: [Property] = []
                // Reserve the slot first so a property that refers back here ($ref "#") finds it.
                let id = add(.never)
                for (name, sub) in props {
                    let n = try compile(sub, at: "\(at)/properties/\(name)")
                    list.append(Property(name: name, key: Array((JSONWriter.string(.string(name)) + ":").utf8), node: n, required: required.contains(name)))
                }
                for name in required.sorted() where props[name] == nil {
                    if case .bool(false) = additional { throw fail("required", at, "names '\(name)', which additionalProperties: false forbids") }
                    let n: Int
                    if let a = additional { n = try compile(a, at: "\(at)/additionalProperties") } else { n = any() }
                    list.append(Property(name: name, key: Array((JSONWriter.string(.string(name)) + ":").utf8), node: n, required: true))
                }
                var free: Int? = nil
                if list.isEmpty {
                    switch additional {
                    case .bool(false): free = nil
                    case nil, .bool(true): free = any()
                    case let a?: free = try compile(a, at: "\(at)/additionalProperties")
                    }
                }
                nodes[id] = .object(list, free: free)
                return id
            case "array":
                let min = o["minItems"]?.intValue ?? 0, max = o["maxItems"]?.intValue
                if let max, max < min { throw fail("maxItems", at, "is below minItems") }
                let item: Int
                if let i = o["items"] { item = try compile(i, at: "\(at)/items") } else { item = any() }
                return add(.array(item: item, min: min, max: max))
            case "string":
                var r = StringRule()
                r.minLength = o["minLength"]?.intValue ?? 0
                r.maxLength = o["maxLength"]?.intValue
                if let m = r.maxLength, m < r.minLength { throw fail("maxLength", at, "is below minLength") }
                if let p = o["pattern"]?.stringValue {
                    do { r.pattern = try PatternAutomaton(p) } catch { throw fail("pattern", at, "uses syntax outside the supported subset: \(error.reason)") }
                }
                r.grounding = o["x-grounding"]?.stringValue
                return add(.string(r))
            case "integer", "number":
                var r = NumberRule()
                r.minimum = o["minimum"]?.doubleValue
                r.maximum = o["maximum"]?.doubleValue
                // Draft 4 spells exclusivity as booleans beside minimum/maximum; later drafts as numbers.
                switch o["exclusiveMinimum"] {
                case .bool(let b)?: r.exclusiveMinimum = b
                case let v? where v.doubleValue != nil:
                    if r.minimum == nil || v.doubleValue! >= r.minimum! { r.minimum = v.doubleValue; r.exclusiveMinimum = true }
                default: break
                }
                switch o["exclusiveMaximum"] {
                case .bool(let b)?: r.exclusiveMaximum = b
                case let v? where v.doubleValue != nil:
                    if r.maximum == nil || v.doubleValue! <= r.maximum! { r.maximum = v.doubleValue; r.exclusiveMaximum = true }
                default: break
                }
                if let m = o["multipleOf"]?.doubleValue {
                    guard t == "integer", m > 0, m == m.rounded() else { throw fail("multipleOf", at, "is enforced only on integers, by a positive whole number") }
                    r.multipleOf = m
                }
                return add(t == "integer" ? .integer(r) : .number(r))
            case "boolean": return add(.literals([Array("true".utf8), Array("false".utf8)]))
            case "null": return add(.literals([Array("null".utf8)]))
            default: throw fail("type", at, "'\(t)' is not a JSON Schema type")
            }
        }

        /// enum/const: the values themselves, those that also fit a `type` beside them.
        mutating func literals(_ values: [JSONValue], _ o: JSONObject, at: String) throws(Failure) -> Int {
            let allowedTypes: Set<String>? = switch o["type"] {
            case .string(let t): [t]
            case .array(let a): Set(a.compactMap(\.stringValue))
            default: nil
            }
            let kept = values.filter { v in
                guard let allowedTypes else { return true }
                return allowedTypes.contains(v.typeName) || (v.typeName == "integer" && allowedTypes.contains("number"))
            }
            guard !kept.isEmpty else { throw fail(at.hasSuffix("const") ? "const" : "enum", at, "has no value of the schema's type") }
            return add(.literals(kept.map { Array(JSONWriter.string($0).utf8) }))
        }

        mutating func ref(_ r: String, at: String, siblings: JSONObject) throws(Failure) -> Int {
            let others = siblings.keys.filter { $0 != "$ref" && !JSONGrammar.annotations.contains($0) && !$0.hasPrefix("x-") }
            guard others.isEmpty else { throw fail(others[0], at, "beside $ref is not enforced; put it inside the referenced schema") }
            if let id = refs[r] { return id }
            guard r == "#" || r.hasPrefix("#/") else { throw fail("$ref", at, "'\(r)' points outside this schema; only local references (#/$defs/…) are followed") }
            var target = rootSchema
            for raw in r.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) where r != "#" {
                let part = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                guard let next = target[part] ?? (Int(part).flatMap { target[$0] }) else { throw fail("$ref", at, "'\(r)' names nothing in the schema") }
                target = next
            }
            // Recursive schemas: the slot exists before its body is compiled.
            let slot = add(.anyOf([]))
            refs[r] = slot
            let body = try compile(target, at: r.dropFirst().description)
            nodes[slot] = .anyOf([body])
            return slot
        }

        /// The JSON types a node admits (for oneOf's disjointness).
        func types(of id: Int, seen: Set<Int> = []) -> Set<String> {
            if seen.contains(id) { return [] }
            switch nodes[id] {
            case .object: return ["object"]
            case .array: return ["array"]
            case .string: return ["string"]
            case .integer, .number: return ["number"]
            case .never: return []
            case .literals(let l):
                return Set(l.map { t -> String in
                    switch t.first {
                    case UInt8(ascii: "\""): return "string"
                    case UInt8(ascii: "{"): return "object"
                    case UInt8(ascii: "["): return "array"
                    case UInt8(ascii: "t"), UInt8(ascii: "f"): return "boolean"
                    case UInt8(ascii: "n"): return "null"
                    default: return "number"
                    }
                })
            case .anyOf(let a): return a.reduce(into: Set<String>()) { $0.formUnion(types(of: $1, seen: seen.union([id]))) }
            }
        }
    }
}
