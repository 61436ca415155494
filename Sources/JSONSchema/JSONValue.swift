/// A JSON document as data. Numbers keep their source text (see `JSONNumber`), objects keep key order,
/// so a schema file read and written back is served as written.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON Schema type name of this value ("integer" is reported for integral numbers).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let n): return n.isInteger ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, index >= 0, index < a.count { return a[index] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }
    public var numberValue: JSONNumber? { if case .number(let n) = self { return n }; return nil }
    public var doubleValue: Double? { numberValue?.double }
    /// The value as an `Int` when it is an integral number that fits.
    public var intValue: Int? { numberValue?.int }
    public var isNull: Bool { if case .null = self { return true }; return false }
}

extension JSONValue {
    /// JSON equality: strings compare by code points (Swift's `==` would equate canonically equivalent
    /// strings such as "é" and "e\u{301}", which JSON Schema's `const`/`enum` must tell apart).
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x == y
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0)
        case .bool(let b): h.combine(b)
        case .number(let n): h.combine(n)
        case .string(let s): h.combine(s.utf8.count); for c in s.utf8.prefix(32) { h.combine(c) }
        case .array(let a): h.combine(a)
        case .object(let o): h.combine(o)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var o = JSONObject()
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    public init(_ value: Int) { self = .number(JSONNumber(value)) }
    public init(_ value: Double) { self = .number(JSONNumber(value)) }
    public init(_ value: String) { self = .string(value) }
    public init(_ value: Bool) { self = .bool(value) }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { JSONWriter.string(self) }
}

/// A JSON object that keeps the order of its keys. A repeated key keeps its first position and its last value.
/// Small objects (the usual case) are searched linearly, which beats hashing; a hash index is built only
/// past `indexThreshold` keys.
public struct JSONObject: Sendable, Hashable, Sequence {
    static let indexThreshold = 12
    /// Keys and values side by side in one buffer: one allocation per object, which matters to a
    /// server that parses and builds a dozen small objects per call.
    private var members: [Member] = []
    private var index: [String: Int]? = nil

    struct Member: Sendable {
        var key: String
        var value: JSONValue
    }

    public init() {}
    public init(_ pairs: [(String, JSONValue)]) {
        members.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    public var keys: [String] { members.map(\.key) }
    public var values: [JSONValue] { members.map(\.value) }
    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }

    public mutating func reserveCapacity(_ n: Int) {
        members.reserveCapacity(n)
    }

    @inline(__always) func position(of key: String) -> Int? {
        if let index { return index[key] }
        for i in members.indices where members[i].key == key { return i }
        return nil
    }

    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { members[$0].value } }
        set {
            if let i = position(of: key) {
                if let newValue {
                    members[i].value = newValue
                } else {
                    members.remove(at: i)
                    if index != nil { rebuildIndex() }
                }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
                if index != nil { index![key] = members.count - 1 } else if members.count > Self.indexThreshold { rebuildIndex() }
            }
        }
    }

    private mutating func rebuildIndex() {
        var d: [String: Int] = [:]
        d.reserveCapacity(members.count)
        for (i, m) in members.enumerated() { d[m.key] = i }
        index = d
    }

    public struct Iterator: IteratorProtocol {
        let object: JSONObject
        var i = 0
        public mutating func next() -> (key: String, value: JSONValue)? {
            guard i < object.members.count else { return nil }
            defer { i += 1 }
            return (object.members[i].key, object.members[i].value)
        }
    }

    public func makeIterator() -> Iterator { Iterator(object: self) }

    /// Equality ignores key order, as JSON's does.
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        guard a.count == b.count else { return false }
        // Equal objects usually list their keys in the same order (one source, one writer): then the
        // values pair up by position, without a lookup per key.
        if zip(a.members, b.members).allSatisfy({ $0.key == $1.key }) {
            return zip(a.members, b.members).allSatisfy { $0.value == $1.value }
        }
        for m in a.members {
            guard let v = b[m.key], v == m.value else { return false }
        }
        return true
    }

    /// Order-independent, consistent with ==.
    public func hash(into h: inout Hasher) {
        var acc = 0
        for m in members {
            var pair = Hasher()
            pair.combine(m.key)
            pair.combine(m.value)
            acc = acc &+ pair.finalize()
        }
        h.combine(count)
        h.combine(acc)
    }
}
