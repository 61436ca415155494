import Foundation
import JSONSchema

/// Token counts of one model call (or of a whole run, summed).
public struct Usage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var reasoningTokens: Int
    /// As the server reports it. xAI counts reasoning tokens here but not in `completionTokens`;
    /// OpenAI counts them in both. Either way, total − prompt is what is billed as output.
    public var totalTokens: Int

    public init(promptTokens: Int = 0, completionTokens: Int = 0, reasoningTokens: Int = 0, totalTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.reasoningTokens = reasoningTokens
        self.totalTokens = max(totalTokens ?? 0, promptTokens + completionTokens)
    }

    public var outputTokens: Int { totalTokens - promptTokens }

    public static func + (a: Usage, b: Usage) -> Usage {
        Usage(promptTokens: a.promptTokens + b.promptTokens, completionTokens: a.completionTokens + b.completionTokens,
              reasoningTokens: a.reasoningTokens + b.reasoningTokens, totalTokens: a.totalTokens + b.totalTokens)
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("promptTokens", .number(JSONNumber(promptTokens))), ("completionTokens", .number(JSONNumber(completionTokens))),
            ("reasoningTokens", .number(JSONNumber(reasoningTokens))), ("totalTokens", .number(JSONNumber(totalTokens))),
        ]))
    }
}

/// What a model answered: text and/or tool calls.
public struct ChatResponse: Sendable {
    public var content: String
    public var toolCalls: [ToolCall]
    public var finishReason: String?
    public var usage: Usage?
    /// The model that answered, as the server names it.
    public var model: String?

    public init(content: String = "", toolCalls: [ToolCall] = [], finishReason: String? = nil, usage: Usage? = nil, model: String? = nil) {
        self.content = content
        self.toolCalls = toolCalls
        self.finishReason = finishReason
        self.usage = usage
        self.model = model
    }

    public var message: ChatMessage { .assistant(content, toolCalls: toolCalls) }
}

/// A piece of a streamed answer, for live views.
public enum ChatDelta: Sendable {
    case content(String)
    /// A tool call's name became known (index in the response's calls).
    case toolCallStarted(index: Int, name: String)
    case toolCallArguments(index: Int, fragment: String)
}
