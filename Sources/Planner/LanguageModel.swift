import Foundation

/// A chat model that can call tools: a remote OpenAI-compatible endpoint or the offline planner.
public protocol LanguageModel: Sendable {
    /// Shown in traces, e.g. "xai/grok-4" or "local/router".
    var name: String { get }
    /// The context window in tokens; the agent keeps conversations within it.
    var contextWindow: Int { get }
    /// Price of the tokens this model spends, if it costs anything.
    var prices: PriceTable? { get }
    /// Sends one turn. `onDelta` sees the answer as it streams (never called for non-streaming models).
    func chat(_ request: ChatRequest, onDelta: @escaping @Sendable (ChatDelta) -> Void) async throws -> ChatResponse
}

/// How a model call can fail. Messages say what to do about it.
public enum LanguageModelError: Error, Sendable, CustomStringConvertible {
    case missingAPIKey(variable: String, provider: String)
    case http(status: Int, message: String, provider: String)
    case rateLimited(provider: String, attempts: Int, message: String)
    case transport(String, provider: String)
    case timedOut(seconds: Double, provider: String)
    case malformedResponse(String, provider: String)
    case unsupported(String)
    case cancelled

    public var description: String {
        switch self {
        case .missingAPIKey(let v, let p):
            return "no API key for provider '\(p)': set the environment variable \(v) (or choose another with --api-key-env), or use --provider local to plan offline"
        case .http(let s, let m, let p):
            let hint: String
            switch s {
            case 401, 403: hint = " (check the API key)"
            case 404: hint = " (check the base URL and model name)"
            default: hint = ""
            }
            return "\(p) answered HTTP \(s)\(hint): \(m)"
        case .rateLimited(let p, let n, let m): return "\(p) kept rate-limiting after \(n) attempts: \(m)"
        case .transport(let m, let p): return "could not reach \(p): \(m)"
        case .timedOut(let s, let p): return "\(p) did not answer within \(Int(s)) s"
        case .malformedResponse(let m, let p): return "\(p) sent a response that is not a valid chat completion: \(m)"
        case .unsupported(let m): return m
        case .cancelled: return "the model call was cancelled"
        }
    }

    /// Worth another attempt after a pause.
    var isRetryable: Bool {
        switch self {
        case .http(let s, _, _): return s == 408 || s == 409 || s >= 500
        case .transport, .timedOut: return true
        default: return false
        }
    }
}
