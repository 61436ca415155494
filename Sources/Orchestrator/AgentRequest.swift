import Foundation
import JSONSchema
import Planner

/// Which model plans a run: a preset (`xai`, `openai`), `local` (the offline planner) or an
/// OpenAI-compatible base URL.
public struct ModelChoice: Sendable, Equatable {
    public var provider: String?
    public var baseURL: String?
    public var model: String?
    public var apiKeyEnv: String?

    public init(provider: String? = nil, baseURL: String? = nil, model: String? = nil, apiKeyEnv: String? = nil) {
        self.provider = provider
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnv = apiKeyEnv
    }
}

/// Turns a choice into a model; the server's wiring supplies it (it knows the config and the embedder).
public typealias ModelResolver = @Sendable (ModelChoice) throws -> LanguageModel

/// The parameters of `agent/run` and of the `ask` tool (one schema: `schemas/tools/ask.json`).
public struct AgentRequest: Sendable {
    public var prompt: String
    public var attachments: [String]
    public var choice: ModelChoice
    public var options: AgentOptions

    public init(prompt: String, attachments: [String] = [], choice: ModelChoice = ModelChoice(), options: AgentOptions = AgentOptions()) {
        self.prompt = prompt
        self.attachments = attachments
        self.choice = choice
        self.options = options
    }

    /// `params` were validated against the schema already.
    public init(json p: JSONValue) {
        prompt = p["prompt"]?.stringValue ?? ""
        attachments = (p["attachments"]?.arrayValue ?? []).compactMap(\.stringValue)
        choice = ModelChoice(provider: p["provider"]?.stringValue, baseURL: p["baseURL"]?.stringValue,
                             model: p["model"]?.stringValue, apiKeyEnv: p["apiKeyEnv"]?.stringValue)
        var o = AgentOptions()
        if let v = p["maxTurns"]?.intValue { o.maxTurns = v }
        if let v = p["maxToolCalls"]?.intValue { o.maxToolCalls = v }
        o.maxTokens = p["maxTokens"]?.intValue
        o.maxCostUSD = p["maxCostUSD"]?.doubleValue
        o.callTimeoutMs = p["callTimeoutMs"]?.intValue
        if let ms = p["timeoutMs"]?.intValue { o.deadline = Date().addingTimeInterval(Double(ms) / 1000) }
        o.allowedTools = p["tools"]?.arrayValue?.compactMap(\.stringValue)
        o.responseSchema = p["responseSchema"]
        o.dryRun = p["dryRun"]?.boolValue ?? false
        options = o
    }
}
