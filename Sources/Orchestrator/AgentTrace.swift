import Foundation
import JSONSchema
import Planner

/// Everything a run did, for people and scripts: each turn's model output and calls, with timings,
/// token usage and cost.
public struct AgentTrace: Sendable {
    public struct Call: Sendable {
        public var id: String
        public var name: String
        /// The arguments as parsed, or the model's raw text when it was not JSON.
        public var arguments: JSONValue
        /// ok, invalid, error, timeout, cancelled, skipped
        public var status: String
        public var result: JSONValue?
        public var error: String?
        /// Milliseconds from the start of the run.
        public var startedMs: Double
        public var durationMs: Double

        public init(id: String, name: String, arguments: JSONValue, status: String, result: JSONValue?, error: String?,
                    startedMs: Double, durationMs: Double) {
            self.id = id
            self.name = name
            self.arguments = arguments
            self.status = status
            self.result = result
            self.error = error
            self.startedMs = startedMs
            self.durationMs = durationMs
        }

        public var json: JSONValue {
            var o = JSONObject([("id", .string(id)), ("name", .string(name)), ("arguments", arguments), ("status", .string(status))])
            if let result { o["result"] = result }
            if let error { o["error"] = .string(error) }
            o["startedMs"] = Self.ms(startedMs)
            o["durationMs"] = Self.ms(durationMs)
            return .object(o)
        }

        static func ms(_ v: Double) -> JSONValue { .number(JSONNumber((v * 10).rounded() / 10)) }
    }

    public struct Turn: Sendable {
        public var index: Int
        public var content: String
        public var calls: [Call]
        public var usage: Usage
        public var modelMs: Double

        public var json: JSONValue {
            .object(JSONObject([
                ("turn", JSONValue(index)), ("content", .string(content)), ("calls", .array(calls.map(\.json))),
                ("usage", usage.json), ("modelMs", Call.ms(modelMs)),
            ]))
        }
    }

    public var model: String
    public var turns: [Turn] = []
    public var usage = Usage()
    public var costUSD: Double = 0
    public var durationMs: Double = 0

    public init(model: String) { self.model = model }

    public var json: JSONValue {
        .object(JSONObject([
            ("model", .string(model)), ("turns", .array(turns.map(\.json))), ("usage", usage.json),
            ("costUSD", .number(JSONNumber((costUSD * 1_000_000).rounded() / 1_000_000))),
            ("durationMs", Call.ms(durationMs)),
        ]))
    }
}

/// Why a run ended.
public enum StopReason: String, Sendable {
    case answered, dryRun = "dry_run"
    case maxTurns = "max_turns", maxToolCalls = "max_tool_calls", tokenBudget = "token_budget", costBudget = "cost_budget"
    case deadline, cancelled, contextOverflow = "context_overflow", modelError = "model_error"
    case invalidAnswer = "invalid_answer"

    /// Said to the user when the run ends without an answer.
    func explanation(_ o: AgentOptions) -> String {
        switch self {
        case .answered: return "answered"
        case .dryRun: return "planned only (dry run); nothing was executed"
        case .maxTurns: return "the run reached its limit of \(o.maxTurns) model turns before an answer"
        case .maxToolCalls: return "the run reached its limit of \(o.maxToolCalls) tool calls"
        case .tokenBudget: return "the run spent its token budget of \(o.maxTokens ?? 0) tokens"
        case .costBudget: return "the run reached its cost budget of $\(o.maxCostUSD ?? 0)"
        case .deadline: return "the run passed its deadline"
        case .cancelled: return "the run was cancelled"
        case .contextOverflow: return "the conversation no longer fits the model's context window, even with old tool results dropped"
        case .modelError: return "the model call failed"
        case .invalidAnswer: return "the model's answer did not validate against the response schema after repair attempts"
        }
    }
}

/// The outcome of a run.
public struct AgentResult: Sendable {
    public var answer: String
    /// The answer parsed as JSON, when a response schema was given and it validated.
    public var structured: JSONValue?
    public var stopReason: StopReason
    public var error: String?
    public var trace: AgentTrace

    public var json: JSONValue {
        var o = JSONObject([("answer", .string(answer))])
        if let structured { o["structured"] = structured }
        o["stopReason"] = .string(stopReason.rawValue)
        if let error { o["error"] = .string(error) }
        o["trace"] = trace.json
        return .object(o)
    }
}

/// What a run reports as it goes (for progress notifications and live terminal views).
public enum AgentEvent: Sendable {
    case turnStarted(turn: Int)
    case delta(ChatDelta)
    case plan(turn: Int, calls: [ToolCall])
    case callStarted(turn: Int, id: String, name: String, arguments: JSONValue)
    case callFinished(turn: Int, call: AgentTrace.Call)
    case usage(total: Usage, costUSD: Double)

    public var json: JSONValue {
        switch self {
        case .turnStarted(let t): return ["event": "turn", "turn": JSONValue(t)]
        case .delta(.content(let s)): return ["event": "delta", "content": .string(s)]
        case .delta(.toolCallStarted(let i, let n)): return ["event": "delta", "toolCall": JSONValue(i), "name": .string(n)]
        case .delta(.toolCallArguments(let i, let f)): return ["event": "delta", "toolCall": JSONValue(i), "arguments": .string(f)]
        case .plan(let t, let calls):
            return ["event": "plan", "turn": JSONValue(t),
                    "calls": .array(calls.map { ["id": .string($0.id), "name": .string($0.name)] })]
        case .callStarted(let t, let id, let n, let a):
            return ["event": "call_started", "turn": JSONValue(t), "id": .string(id), "name": .string(n), "arguments": a]
        case .callFinished(let t, let c):
            var o = c.json.objectValue ?? JSONObject()
            o["event"] = "call_finished"
            o["turn"] = JSONValue(t)
            return .object(o)
        case .usage(let u, let c):
            return ["event": "usage", "usage": u.json, "costUSD": .number(JSONNumber((c * 1_000_000).rounded() / 1_000_000))]
        }
    }

    /// One line for progress messages and terminals.
    public var summary: String? {
        switch self {
        case .turnStarted(let t): return "turn \(t): asking the model"
        case .delta: return nil
        case .plan(_, let calls): return "plan: " + calls.map(\.name).joined(separator: ", ")
        case .callStarted(_, _, let n, let a): return "→ \(n) \(JSONWriter.string(a).prefix(120))"
        case .callFinished(_, let c):
            return "\(c.status == "ok" ? "✓" : "✗") \(c.name) \(c.status) in \(Int(c.durationMs)) ms" + (c.error.map { ": \($0.prefix(160))" } ?? "")
        case .usage(let u, let c): return "tokens \(u.totalTokens)" + (c > 0 ? String(format: ", $%.4f", c) : "")
        }
    }
}
