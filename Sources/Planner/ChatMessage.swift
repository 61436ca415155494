import Foundation
import JSONSchema

/// One message of a conversation, in the shape OpenAI-compatible chat APIs use.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable {
        case system, user, assistant, tool
    }

    public var role: Role
    public var content: String
    /// Calls an assistant message asks for.
    public var toolCalls: [ToolCall]
    /// For `tool` messages: the call this message answers.
    public var toolCallId: String?
    /// For `tool` messages: the tool's name (some servers want it).
    public var name: String?
    /// For `tool` messages: the tool's structured result, for a planner that reads data rather than
    /// text (the offline planner filling a response schema). Never sent to a remote API.
    public var data: JSONValue?

    public init(role: Role, content: String, toolCalls: [ToolCall] = [], toolCallId: String? = nil, name: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallId = toolCallId
        self.name = name
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }
    public static func assistant(_ text: String, toolCalls: [ToolCall] = []) -> ChatMessage {
        ChatMessage(role: .assistant, content: text, toolCalls: toolCalls)
    }
    public static func tool(_ text: String, callId: String, name: String, data: JSONValue? = nil) -> ChatMessage {
        var m = ChatMessage(role: .tool, content: text, toolCallId: callId, name: name)
        m.data = data
        return m
    }

    /// The message as the chat-completions API takes it.
    public var json: JSONValue {
        var o = JSONObject([("role", .string(role.rawValue))])
        if role == .assistant, !toolCalls.isEmpty {
            o["content"] = content.isEmpty ? .null : .string(content)
            o["tool_calls"] = .array(toolCalls.map(\.json))
        } else {
            o["content"] = .string(content)
        }
        if let toolCallId { o["tool_call_id"] = .string(toolCallId) }
        if role == .tool, let name { o["name"] = .string(name) }
        return .object(o)
    }
}

/// A call the model asks for. `arguments` is the model's text, which may not even be JSON: the
/// agent parses and validates it and tells the model precisely what was wrong.
public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("id", .string(id)), ("type", "function"),
            ("function", .object(JSONObject([("name", .string(name)), ("arguments", .string(arguments))]))),
        ]))
    }
}
