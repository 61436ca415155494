import Foundation
import JSONSchema
import Planner

/// Keeps a conversation inside a model's context window. Counts are estimated before sending
/// (about four characters a token for English and JSON, a little pessimistic for safety); when the
/// estimate is over budget, the oldest tool results are replaced by a short notice — whole messages,
/// never cut mid-message — and the latest turn's results are kept.
enum ContextWindow {
    static func estimate(text: String) -> Int { (text.utf8.count + 2) / 3 }

    static func estimate(_ messages: [ChatMessage], tools: [ToolSpec]) -> Int {
        var n = 0
        for m in messages {
            n += 4 + estimate(text: m.content)
            for c in m.toolCalls { n += 8 + estimate(text: c.name + c.arguments) }
        }
        for t in tools { n += 8 + estimate(text: t.name + t.description + JSONWriter.string(t.parameters)) }
        return n
    }

    /// Returns false when even with every older tool result dropped the conversation does not fit.
    static func fit(_ messages: inout [ChatMessage], tools: [ToolSpec], budget: Int) -> Bool {
        var total = estimate(messages, tools: tools)
        if total <= budget { return true }
        // Results of the last assistant turn stay: the model has not seen them yet.
        let lastAssistant = messages.lastIndex { $0.role == .assistant } ?? messages.count
        for i in messages.indices where i < lastAssistant && messages[i].role == .tool {
            guard !messages[i].content.hasPrefix("[dropped") else { continue }
            let before = estimate(text: messages[i].content)
            messages[i].content = "[dropped to fit the context window: the result of \(messages[i].name ?? "a tool call") (about \(before) tokens). Call the tool again if you need it.]"
            total -= before - estimate(text: messages[i].content)
            if total <= budget { return true }
        }
        return total <= budget
    }
}
