import Foundation
import JSONSchema
import Planner

/// Keeps tool outputs too large for the conversation. The model sees the first part and a handle;
/// the built-in `result_page` tool returns later parts, so nothing is silently lost.
final class ResultPager: @unchecked Sendable {
    static let toolName = "result_page"
    private let lock = NSLock()
    private var stored: [String: String] = [:]

    static let spec = ToolSpec(
        name: toolName,
        description: "Read more of a tool result that was truncated. Give the handle from the truncation notice and the character offset to continue from.",
        parameters: [
            "type": "object",
            "properties": [
                "handle": ["type": "string", "description": "The handle named in the truncation notice"],
                "offset": ["type": "integer", "minimum": 0, "description": "Character offset to start from"],
                "length": ["type": "integer", "minimum": 1, "maximum": 100_000, "description": "How many characters (default: the page size)"],
            ],
            "required": ["handle", "offset"],
            "additionalProperties": false,
        ])

    var hasStored: Bool { lock.withLock { !stored.isEmpty } }

    /// Returns the text to put in the conversation: whole when it fits, else a page and a notice.
    func fit(_ text: String, callId: String, limit: Int) -> String {
        guard text.count > limit else { return text }
        let handle = "r_\(callId)"
        lock.withLock { stored[handle] = text }
        return String(text.prefix(limit)) + "\n[truncated: showing characters 0–\(limit) of \(text.count). Call result_page with handle \"\(handle)\" and offset \(limit) for more.]"
    }

    func page(_ args: JSONValue, limit: Int) -> (text: String, error: String?) {
        guard let handle = args["handle"]?.stringValue, let offset = args["offset"]?.intValue, offset >= 0 else {
            return ("", "result_page needs {handle: string, offset: integer ≥ 0}")
        }
        guard let text = lock.withLock({ stored[handle] }) else {
            return ("", "no stored result with handle '\(handle)'")
        }
        let length = min(args["length"]?.intValue ?? limit, 100_000)
        guard offset < text.count else { return ("", "offset \(offset) is past the end (the result has \(text.count) characters)") }
        let start = text.index(text.startIndex, offsetBy: offset)
        let end = text.index(start, offsetBy: min(length, text.count - offset))
        let more = text.distance(from: text.startIndex, to: end) < text.count
        return (String(text[start..<end]) + (more ? "\n[more: continue at offset \(offset + length) of \(text.count)]" : "\n[end of result]"), nil)
    }
}
