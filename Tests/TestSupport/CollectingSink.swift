import Foundation
import JSONSchema
import RPC

/// A `MessageSink` that keeps every line sent, for tests that drive an `RPCConnection` directly.
public final class CollectingSink: MessageSink, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [JSONValue] = []
    public private(set) var closed = false

    public init() {}

    public func send(_ line: [UInt8]) {
        let v = try! JSONParser.parse(Array(line.dropLast()))
        lock.withLock { lines.append(v) }
    }

    public func close() { lock.withLock { closed = true } }

    public var messages: [JSONValue] { lock.withLock { lines } }

    /// Waits until `count` messages arrived (or `timeout` passes) and returns what is there.
    public func wait(for count: Int, timeout: Double = 10) -> [JSONValue] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let m = messages
            if m.count >= count { return m }
            Thread.sleep(forTimeInterval: 0.002)
        }
        return messages
    }

    /// The response with the given id, waiting for it.
    public func response(id: JSONValue, timeout: Double = 10) -> JSONValue? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let r = messages.first(where: { $0["id"] == id && ($0["result"] != nil || $0["error"] != nil) }) { return r }
            Thread.sleep(forTimeInterval: 0.002)
        }
        return nil
    }
}

extension RPCConnection {
    /// Feeds one message as a line, as a transport would.
    public func receive(_ text: String) {
        var t = text
        t.withUTF8 { receive($0) }
    }
}

/// Where the repository is, for tests that run the built binary or read its files.
public enum Repository {
    public static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The debug binary `swift build` produced (ATELIER_BIN overrides).
    public static var binary: String {
        if let b = ProcessInfo.processInfo.environment["ATELIER_BIN"] {
            return b.hasPrefix("/") ? b : root.appendingPathComponent(b).path
        }
        return root.appendingPathComponent(".build/debug/atelier").path
    }

    /// Where the bootstrap installed the model files: $ATELIER_MODELS, else ~/.cache/atelier/models.
    public static var models: String {
        if let d = ProcessInfo.processInfo.environment["ATELIER_MODELS"], !d.isEmpty { return d }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/atelier/models").path
    }
}
