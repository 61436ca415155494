import Foundation
import JSONSchema

/// How a tool presents itself: exactly the file `schemas/tools/<name>.json`.
public struct ToolDescriptor: Sendable {
    public static let namePattern = "^[a-zA-Z0-9_-]{1,64}$"

    public let name: String
    public let title: String?
    public let description: String
    public let inputSchema: JSONValue
    public let outputSchema: JSONValue?
    /// The descriptor as written in its file (served by `tools/list`).
    public let json: JSONValue

    public enum Failure: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String { switch self { case .invalid(let s): return s } }
    }

    public init(json: JSONValue) throws {
        guard let name = json["name"]?.stringValue else { throw Failure.invalid("a tool descriptor needs a string 'name'") }
        guard Self.isValidName(name) else {
            throw Failure.invalid("tool name '\(name)' must match \(Self.namePattern) (valid for MCP and OpenAI function names)")
        }
        guard let description = json["description"]?.stringValue else { throw Failure.invalid("tool '\(name)' needs a 'description'") }
        guard let input = json["inputSchema"], input["type"] == .string("object") else {
            throw Failure.invalid("tool '\(name)' needs an 'inputSchema' of type object")
        }
        if let out = json["outputSchema"], out["type"] != .string("object") {
            throw Failure.invalid("tool '\(name)': 'outputSchema' must be of type object")
        }
        self.name = name
        self.title = json["title"]?.stringValue
        self.description = description
        self.inputSchema = input
        self.outputSchema = json["outputSchema"]
        self.json = json
    }

    public static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45
        }
    }
}

/// What a tool returns: structured data (checked against the output schema) and/or text for people.
public struct ToolOutput: Sendable {
    public var structured: JSONValue?
    public var text: String?

    public init(structured: JSONValue? = nil, text: String? = nil) {
        self.structured = structured
        self.text = text
    }

    /// The value a later plan step sees through `$from`.
    public var value: JSONValue { structured ?? .string(text ?? "") }
}

/// A capability the registry can call.
public protocol Tool: Sendable {
    var descriptor: ToolDescriptor { get }
    /// `arguments` were validated against `descriptor.inputSchema` already.
    func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput
    /// True for tools whose work is short and bounded by their input (no waiting on the outside world):
    /// they run in the caller's task without a deadline timer, saving a task hop on every call.
    var isBoundedCompute: Bool { get }
}

extension Tool {
    public var isBoundedCompute: Bool { false }
}

/// Errors a call can end with. Messages are written for the model or person who made the call.
public enum ToolError: Error, Sendable, CustomStringConvertible {
    case unknownTool(String, known: [String])
    case invalidArguments(tool: String, errors: [ValidationError])
    case invalidOutput(tool: String, errors: [ValidationError])
    case failed(String)
    case timedOut(tool: String, ms: Int)
    case cancelled

    public var description: String {
        switch self {
        case .unknownTool(let n, let known):
            let close = known.filter { $0.hasPrefix(String(n.prefix(3))) }.prefix(3)
            return "unknown tool '\(n)'" + (close.isEmpty ? "" : "; did you mean \(close.map { "'\($0)'" }.joined(separator: ", "))?")
        case .invalidArguments(let t, let errs):
            return "invalid arguments for '\(t)': " + errs.map(\.description).joined(separator: "; ")
        case .invalidOutput(let t, let errs):
            return "tool '\(t)' produced output that does not match its outputSchema: " + errs.map(\.description).joined(separator: "; ")
        case .failed(let m): return m
        case .timedOut(let t, let ms): return "tool '\(t)' did not finish within its deadline of \(ms) ms"
        case .cancelled: return "the call was cancelled"
        }
    }

    /// A short machine-readable status for plan results.
    public var status: String {
        switch self {
        case .timedOut: return "timeout"
        case .cancelled: return "cancelled"
        default: return "error"
        }
    }
}

/// Everything a running tool may use: progress reporting, its deadline, cancellation, and its file roots.
public struct ToolContext: Sendable {
    public typealias ProgressSink = @Sendable (_ progress: Double, _ total: Double?, _ message: String?) -> Void
    private let progressSink: ProgressSink?
    public let deadline: Date?
    public let roots: [URL]

    public init(progress: ProgressSink? = nil, deadline: Date? = nil, roots: [URL] = []) {
        self.progressSink = progress
        self.deadline = deadline
        self.roots = roots
    }

    public func progress(_ value: Double, total: Double? = nil, message: String? = nil) {
        progressSink?(value, total, message)
    }

    /// Throws `CancellationError` when the call was cancelled or its deadline has passed.
    public func checkCancellation() throws {
        try Task.checkCancellation()
        if let deadline, Date() >= deadline { throw CancellationError() }
    }

    public func with(progress: ProgressSink?) -> ToolContext {
        ToolContext(progress: progress, deadline: deadline, roots: roots)
    }

    public func with(deadline: Date?) -> ToolContext {
        ToolContext(progress: progressSink, deadline: deadline, roots: roots)
    }
}
