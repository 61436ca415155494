import JSONSchema
import Orchestrator

/// `schema_validate`: validation as a tool, with the same validator every call goes through.
public struct SchemaValidateTool: Tool {
    public let descriptor = ToolCatalog.descriptor("schema_validate")
    let cache: SchemaCache

    public init(cache: SchemaCache = SchemaCache()) { self.cache = cache }
    /// Validation time is bounded by the message size limit.
    public var isBoundedCompute: Bool { true }

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let options = ValidationOptions(formatAssertion: arguments["formatAssertion"]?.boolValue ?? false)
        let schema: Schema
        do { schema = try cache.schema(arguments["schema"]!, options: options) } catch {
            throw ToolError.failed("the schema cannot be used: \(error)")
        }
        let result = schema.validate(arguments["instance"] ?? .null)
        let out: JSONValue = .object(JSONObject([
            ("valid", .bool(result.valid)),
            ("errors", .array(result.errors.map(\.json))),
        ]))
        let text = result.valid ? "valid" : "invalid: " + result.summary
        return ToolOutput(structured: out, text: text)
    }
}
