/// One compiled schema object (or boolean schema). Built once by `SchemaCompiler`; read-only afterwards,
/// which is what makes a compiled `Schema` safe to share across threads.
final class SchemaNode: @unchecked Sendable {
    /// Set for `true`/`false` schemas.
    var boolean: Bool?
    var checks: [Check] = []
    /// The schema resource this node belongs to (for `$dynamicRef` scope and absolute locations).
    let resource: Resource
    /// JSON pointer of this node inside its resource.
    let pointer: String

    init(resource: Resource, pointer: String) {
        self.resource = resource
        self.pointer = pointer
    }

    var absoluteLocation: String { resource.uri + "#" + pointer }
}

/// A schema resource: a document root or a subschema with its own `$id`.
final class Resource: @unchecked Sendable {
    let uri: String
    /// `$dynamicAnchor` names → the nodes that declare them (filled lazily by the compiler).
    var dynamicAnchors: [String: SchemaNode] = [:]
    var dynamicAnchorNames: Set<String> = []
    /// Whether the root has `$recursiveAnchor: true` (2019-09).
    var recursiveAnchor = false
    /// True for the internal base given to schemas without `$id`; such URIs are not reported.
    let isInternal: Bool

    init(uri: String, isInternal: Bool) {
        self.uri = uri
        self.isInternal = isInternal
    }
}

/// JSON types as a bit set, for the `type` keyword.
struct TypeMask: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = TypeMask(rawValue: 1)
    static let boolean = TypeMask(rawValue: 2)
    static let integer = TypeMask(rawValue: 4)
    static let number = TypeMask(rawValue: 8)
    static let string = TypeMask(rawValue: 16)
    static let array = TypeMask(rawValue: 32)
    static let object = TypeMask(rawValue: 64)

    init(rawValue: UInt8) { self.rawValue = rawValue }
    init?(name: String) {
        switch name {
        case "null": self = .null
        case "boolean": self = .boolean
        case "integer": self = .integer
        case "number": self = .number
        case "string": self = .string
        case "array": self = .array
        case "object": self = .object
        default: return nil
        }
    }

    var names: [String] {
        [("null", TypeMask.null), ("boolean", .boolean), ("integer", .integer), ("number", .number),
         ("string", .string), ("array", .array), ("object", .object)].filter { contains($0.1) }.map(\.0)
    }
}

/// A reference whose target is bound after compilation (targets may be compiled later, or be cycles).
final class RefTarget: @unchecked Sendable {
    var node: SchemaNode!
    /// For `$dynamicRef`: the anchor name to look up in the dynamic scope, when the static target declares it.
    var dynamicName: String?
}

/// One keyword, compiled. Keyword names are kept for error locations.
enum Check {
    case type(TypeMask)
    case enumeration([JSONValue])
    case constant(JSONValue)
    case minimum(JSONNumber), maximum(JSONNumber), exclusiveMinimum(JSONNumber), exclusiveMaximum(JSONNumber)
    case multipleOf(JSONNumber)
    case minLength(Int), maxLength(Int)
    case pattern(ECMARegex)
    case format(String)
    case minItems(Int), maxItems(Int)
    case uniqueItems
    /// `prefixItems` (2020-12) or array-form `items` (draft-07), with the keyword name.
    case prefixItems([SchemaNode], keyword: String)
    /// `items` applying after `prefixCount` elements; keyword is "items" or "additionalItems".
    case items(SchemaNode, prefixCount: Int, keyword: String)
    case contains(SchemaNode, min: Int, max: Int?)
    case minProperties(Int), maxProperties(Int)
    case required([String])
    case properties([String: SchemaNode])
    case patternProperties([(ECMARegex, SchemaNode)])
    case additionalProperties(SchemaNode, known: Set<String>, patterns: [ECMARegex])
    case propertyNames(SchemaNode)
    case dependentRequired([String: [String]], keyword: String)
    case dependentSchemas([String: SchemaNode], keyword: String)
    case allOf([SchemaNode]), anyOf([SchemaNode]), oneOf([SchemaNode])
    case not(SchemaNode)
    case conditional(if: SchemaNode, then: SchemaNode?, else: SchemaNode?)
    case ref(RefTarget, keyword: String)
    case unevaluatedItems(SchemaNode)
    case unevaluatedProperties(SchemaNode)
}
