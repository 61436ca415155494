import Foundation

/// One failed assertion, in the "basic" output format's terms.
public struct ValidationError: Sendable, Equatable, CustomStringConvertible {
    /// JSON pointer to the failing part of the instance ("" is the whole instance).
    public let instanceLocation: String
    /// Path through the schema, including `$ref` hops.
    public let keywordLocation: String
    /// The keyword's absolute URI, when its schema resource has a real `$id`.
    public let absoluteKeywordLocation: String?
    public let message: String

    public init(instanceLocation: String, keywordLocation: String, absoluteKeywordLocation: String? = nil, message: String) {
        self.instanceLocation = instanceLocation
        self.keywordLocation = keywordLocation
        self.absoluteKeywordLocation = absoluteKeywordLocation
        self.message = message
    }

    /// "location: message", the form given to people and models.
    public var description: String { "\(instanceLocation.isEmpty ? "(root)" : instanceLocation): \(message)" }

    public var json: JSONValue {
        var o = JSONObject()
        o["instanceLocation"] = .string(instanceLocation)
        o["keywordLocation"] = .string(keywordLocation)
        if let a = absoluteKeywordLocation { o["absoluteKeywordLocation"] = .string(a) }
        o["error"] = .string(message)
        return .object(o)
    }
}

public struct ValidationResult: Sendable {
    public let valid: Bool
    public let errors: [ValidationError]

    /// The JSON Schema "basic" output format.
    public var basicOutput: JSONValue {
        var o = JSONObject()
        o["valid"] = .bool(valid)
        if !valid { o["errors"] = .array(errors.map(\.json)) }
        return .object(o)
    }

    /// All errors as one readable paragraph (for tool results given back to a model).
    public var summary: String { errors.map(\.description).joined(separator: "; ") }
}

public struct ValidationOptions: Sendable, Hashable {
    /// Treat `format` as an assertion (default: annotation only, as 2020-12 specifies).
    public var formatAssertion: Bool
    /// The dialect for schemas without `$schema`.
    public var defaultDialect: Dialect

    public init(formatAssertion: Bool = false, defaultDialect: Dialect = .draft2020_12) {
        self.formatAssertion = formatAssertion
        self.defaultDialect = defaultDialect
    }
}

/// A compiled schema: compile once, validate many times, from any thread.
public final class Schema: @unchecked Sendable {
    public let json: JSONValue
    private let root: SchemaNode
    private let tracksAnnotations: Bool

    public init(_ json: JSONValue, registry: SchemaRegistry = .shared, options: ValidationOptions = .init()) throws(SchemaError) {
        self.json = json
        let compiler = SchemaCompiler(registry: registry, formatAssertion: options.formatAssertion)
        root = try compiler.compile(json, dialect: options.defaultDialect)
        tracksAnnotations = compiler.usesUnevaluated
    }

    public convenience init(text: String, registry: SchemaRegistry = .shared, options: ValidationOptions = .init()) throws(SchemaError) {
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch { throw .invalidJSON(error) }
        try self.init(value, registry: registry, options: options)
    }

    /// Validates and reports every error (basic output).
    public func validate(_ instance: JSONValue) -> ValidationResult {
        // Most instances are valid: a first pass that keeps no locations settles those; only an invalid
        // instance pays for the walk that names every error.
        if isValid(instance) { return ValidationResult(valid: true, errors: []) }
        var ev = Evaluator(track: tracksAnnotations, collect: true)
        var ann = Annotations()
        let ok = ev.eval(root, instance, &ann)
        return ValidationResult(valid: ok, errors: ok ? [] : ev.errors)
    }

    /// Validity only: stops at the first failure.
    public func isValid(_ instance: JSONValue) -> Bool {
        var ev = Evaluator(track: tracksAnnotations, collect: false)
        var ann = Annotations()
        return ev.eval(root, instance, &ann)
    }
}

/// Compiled schemas by content, so a schema seen again (a tool's input schema, a batch line) is not recompiled.
public final class SchemaCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [Key: Schema] = [:]
    private let capacity: Int
    public let registry: SchemaRegistry

    private struct Key: Hashable {
        let json: JSONValue
        let options: ValidationOptions

        /// A digest instead of JSONValue's own hash, which runs a SipHash per object member: this is on
        /// every schema_validate call's path. Equality still decides a hit.
        func hash(into h: inout Hasher) {
            h.combine(Self.digest(json))
            h.combine(options)
        }

        /// Consistent with JSONValue's ==: strings by their UTF-8 bytes, numbers by value, arrays in
        /// order, objects by their values in any order (keys are left out, as == compares them as Swift
        /// strings, under canonical equivalence).
        static func digest(_ v: JSONValue) -> UInt64 {
            switch v {
            case .null: return 0x6a09_e667_f3bc_c908
            case .bool(let b): return b ? 0xbb67_ae85_84ca_a73b : 0x3c6e_f372_fe94_f82b
            case .number(let n): return mix(0xa54f_f53a_5f1d_36f1 ^ (n.double == 0 ? 0 : n.double.bitPattern))
            case .string(let s):
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                for c in s.utf8 { h = (h ^ UInt64(c)) &* 0x0000_0100_0000_01b3 }
                return h
            case .array(let a):
                var h = mix(0x510e_527f_ade6_82d1 &+ UInt64(a.count))
                for x in a { h = mix(h ^ digest(x)) }
                return h
            case .object(let o):
                var sum: UInt64 = 0
                for (_, x) in o { sum &+= mix(digest(x)) }
                return mix(0x9b05_688c_2b3e_6c1f &+ UInt64(o.count)) ^ sum
            }
        }

        /// splitmix64's finaliser.
        static func mix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9e37_79b9_7f4a_7c15
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    public init(capacity: Int = 256, registry: SchemaRegistry = .shared) {
        self.capacity = capacity
        self.registry = registry
    }

    public func schema(_ json: JSONValue, options: ValidationOptions = .init()) throws(SchemaError) -> Schema {
        let key = Key(json: json, options: options)
        if let s = lock.withLock({ entries[key] }) { return s }
        let s = try Schema(json, registry: registry, options: options)
        lock.withLock {
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = s
        }
        return s
    }
}
