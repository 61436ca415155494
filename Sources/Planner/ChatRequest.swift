import Foundation
import JSONSchema

/// A tool as a model sees it: name, description and the JSON Schema of its arguments. `examples`
/// are requests that should lead to this tool (used by the offline router, not sent to remote models).
public struct ToolSpec: Sendable {
    public var name: String
    public var description: String
    public var parameters: JSONValue
    public var examples: [String]

    public init(name: String, description: String, parameters: JSONValue, examples: [String] = []) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.examples = examples
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("type", "function"),
            ("function", .object(JSONObject([
                ("name", .string(name)), ("description", .string(description)), ("parameters", Self.forModel(parameters)),
            ]))),
        ]))
    }

    /// Our schemas carry annotations of their own (`x-…` keywords); models need not see them.
    static func forModel(_ schema: JSONValue) -> JSONValue {
        switch schema {
        case .object(let o):
            var out = JSONObject()
            for (k, v) in o where !k.hasPrefix("x-") { out[k] = forModel(v) }
            return .object(out)
        case .array(let a): return .array(a.map(forModel))
        default: return schema
        }
    }
}

/// Whether and which tools the model must call.
public enum ToolChoice: Sendable, Equatable {
    case auto, none, required
    case function(String)

    public var json: JSONValue {
        switch self {
        case .auto: return "auto"
        case .none: return "none"
        case .required: return "required"
        case .function(let n):
            return .object(JSONObject([("type", "function"), ("function", .object(JSONObject([("name", .string(n))])))]))
        }
    }
}

/// One chat turn to send to a model.
public struct ChatRequest: Sendable {
    public var messages: [ChatMessage]
    public var tools: [ToolSpec]
    public var toolChoice: ToolChoice
    public var parallelToolCalls: Bool
    /// When set, the answer must be JSON valid against this schema.
    public var responseSchema: JSONValue?
    public var maxTokens: Int?
    public var temperature: Double?
    public var model: String?

    public init(messages: [ChatMessage], tools: [ToolSpec] = [], toolChoice: ToolChoice = .auto,
                parallelToolCalls: Bool = true, responseSchema: JSONValue? = nil,
                maxTokens: Int? = nil, temperature: Double? = nil, model: String? = nil) {
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.responseSchema = responseSchema
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.model = model
    }
}
