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
