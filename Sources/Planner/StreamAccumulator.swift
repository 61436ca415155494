import Foundation
import JSONSchema

/// Rebuilds a whole chat completion from its streamed chunks. Handles both ways servers send tool
/// calls: OpenAI's fragments (the first delta of a call carries `index`, `id` and the name; later ones
/// only `index` and a piece of `arguments`) and xAI's whole calls (each call complete in one chunk).
/// Also reads a non-streamed completion body.
struct StreamAccumulator {
    private(set) var content = ""
    private var calls: [(id: String, name: String, arguments: String)] = []
    /// Server index → position in `calls`.
    private var byIndex: [Int: Int] = [:]
    private(set) var finishReason: String?
    private(set) var usage: Usage?
    private(set) var model: String?
    let provider: String

    init(provider: String) { self.provider = provider }

    var response: ChatResponse {
        ChatResponse(content: content, toolCalls: calls.map { ToolCall(id: $0.id, name: $0.name, arguments: $0.arguments) },
                     finishReason: finishReason, usage: usage, model: model)
    }

    /// Applies one `chat.completion.chunk`; returns the deltas for live views.
    mutating func apply(chunk: JSONValue) throws -> [ChatDelta] {
        if let e = chunk["error"] { throw LanguageModelError.http(status: 200, message: Self.errorMessage(e), provider: provider) }
        if let m = chunk["model"]?.stringValue { model = m }
        if let u = chunk["usage"], u.objectValue != nil { usage = Self.usage(u) }
        var deltas: [ChatDelta] = []
        for choice in chunk["choices"]?.arrayValue ?? [] {
            // n = 1 is all we ask for; other choices would be alternatives, not parts.
            if let i = choice["index"]?.intValue, i != 0 { continue }
            if let r = choice["finish_reason"]?.stringValue { finishReason = r }
            guard let delta = choice["delta"] ?? choice["message"] else { continue }
            if let text = delta["content"]?.stringValue, !text.isEmpty {
                content += text
                deltas.append(.content(text))
            }
            for tc in delta["tool_calls"]?.arrayValue ?? [] {
                deltas += try applyToolCall(tc)
            }
        }
        return deltas
    }

    private mutating func applyToolCall(_ tc: JSONValue) throws -> [ChatDelta] {
        let id = tc["id"]?.stringValue
        let name = tc["function"]?["name"]?.stringValue
        let args = tc["function"]?["arguments"]
        let argText: String
        switch args {
        case .string(let s)?: argText = s
        case nil, .null?: argText = ""
        case let v?: argText = JSONWriter.string(v)  // a few servers send arguments as an object
        }
        var position: Int?
        if let i = tc["index"]?.intValue {
            position = byIndex[i]
            // A new id at a known index is a new call (servers that restart indexes per chunk).
            if let p = position, let id, !id.isEmpty, calls[p].id != id, !calls[p].id.isEmpty { position = nil }
            if position == nil {
                calls.append((id ?? "", name ?? "", ""))
                position = calls.count - 1
                byIndex[i] = position
            }
        } else if let id, let p = calls.firstIndex(where: { $0.id == id }) {
            position = p
        } else if id != nil || name != nil || calls.isEmpty {
            calls.append((id ?? "", name ?? "", ""))
            position = calls.count - 1
        } else {
            position = calls.count - 1  // a bare fragment continues the last call
        }
        let p = position!
        var deltas: [ChatDelta] = []
        if let id, !id.isEmpty { calls[p].id = id }
        if let name, !name.isEmpty, calls[p].name.isEmpty {
            calls[p].name = name
            deltas.append(.toolCallStarted(index: p, name: name))
        }
        if !argText.isEmpty {
            calls[p].arguments += argText
            deltas.append(.toolCallArguments(index: p, fragment: argText))
        }
        return deltas
    }

    /// Calls without an id get one, so tool results can answer them.
    mutating func finalize() throws -> ChatResponse {
        for i in calls.indices {
            if calls[i].name.isEmpty { throw LanguageModelError.malformedResponse("tool call \(i) has no function name", provider: provider) }
            if calls[i].id.isEmpty { calls[i].id = "call_\(i)" }
        }
        return response
    }

    static func usage(_ u: JSONValue) -> Usage {
        Usage(promptTokens: u["prompt_tokens"]?.intValue ?? 0,
              completionTokens: u["completion_tokens"]?.intValue ?? 0,
              reasoningTokens: u["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0,
              totalTokens: u["total_tokens"]?.intValue)
    }

    static func errorMessage(_ e: JSONValue) -> String {
        if let m = e["message"]?.stringValue { return m }
        if let s = e.stringValue { return s }
        return JSONWriter.string(e)
    }
}
