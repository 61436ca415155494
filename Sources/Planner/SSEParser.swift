import Foundation

/// Server-sent events, fed with bytes as they arrive (chunks split anywhere, even inside a UTF-8
/// character). Follows the WHATWG event-stream rules that matter for chat APIs: `data:` lines of one
/// event are joined with newlines, comment lines (`:`) and other fields are skipped, an event ends at a
/// blank line, and CR, LF or CRLF end lines.
public struct SSEParser: Sendable {
    public struct Event: Sendable, Equatable {
        public var event: String?
        public var data: String
    }

    private var buffer: [UInt8] = []
    private var dataLines: [String] = []
    private var eventName: String?
    private var lastWasCR = false

    public init() {}

    /// Feeds bytes; returns the events they complete.
    public mutating func feed<S: Sequence>(_ bytes: S) -> [Event] where S.Element == UInt8 {
        var events: [Event] = []
        for b in bytes {
            if b == 10, lastWasCR { lastWasCR = false; continue }  // the LF of a CRLF
            lastWasCR = b == 13
            if b == 10 || b == 13 {
                if let e = endLine() { events.append(e) }
            } else {
                buffer.append(b)
            }
        }
        return events
    }

    /// Call at the end of the stream: an event not closed by a blank line is still delivered.
    public mutating func finish() -> [Event] {
        var events: [Event] = []
        if !buffer.isEmpty, let e = endLine() { events.append(e) }
        if let e = endLine() { events.append(e) }
        return events
    }

    private mutating func endLine() -> Event? {
        defer { buffer.removeAll(keepingCapacity: true) }
        if buffer.isEmpty {
            guard !dataLines.isEmpty else { eventName = nil; return nil }
            let e = Event(event: eventName, data: dataLines.joined(separator: "\n"))
            dataLines.removeAll()
            eventName = nil
            return e
        }
        if buffer[0] == 58 { return nil }  // ":" comment (keep-alives)
        let line = String(decoding: buffer, as: UTF8.self)
        let field: Substring, value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            var v = line[line.index(after: colon)...]
            if v.first == " " { v = v.dropFirst() }
            value = v
        } else {
            field = Substring(line); value = ""
        }
        switch field {
        case "data": dataLines.append(String(value))
        case "event": eventName = String(value)
        default: break
        }
        return nil
    }
}
