import Foundation

/// Where a remote planner lives and what it costs. The presets are the endpoints users ask for by
/// name; anything else OpenAI-compatible (llama.cpp, vLLM, Ollama) is a bare base URL.
public struct ProviderConfig: Sendable, Codable, Equatable {
    public var name: String
    public var baseURL: String
    public var model: String
    /// Environment variable holding the API key; the key itself is never stored, logged or traced.
    public var apiKeyEnv: String?
    public var requiresKey: Bool
    public var contextWindow: Int
    public var prices: PriceTable?
    /// Seconds without any byte from the server before a call is abandoned (and retried).
    public var timeoutSeconds: Double
    public var maxRetries: Int
    public var stream: Bool

    public init(name: String, baseURL: String, model: String, apiKeyEnv: String? = nil, requiresKey: Bool = false,
                contextWindow: Int = 8192, prices: PriceTable? = nil, timeoutSeconds: Double = 120,
                maxRetries: Int = 4, stream: Bool = true) {
        self.name = name
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnv = apiKeyEnv
        self.requiresKey = requiresKey
        self.contextWindow = contextWindow
        self.prices = prices
        self.timeoutSeconds = timeoutSeconds
        self.maxRetries = maxRetries
        self.stream = stream
    }

    /// xAI Grok 4: 256k context; $3 / $15 per million input / output tokens, both doubled when the
    /// prompt exceeds 128k tokens.
    public static let xai = ProviderConfig(
        name: "xai", baseURL: "https://api.x.ai/v1", model: "grok-4", apiKeyEnv: "XAI_API_KEY", requiresKey: true,
        contextWindow: 256_000,
        prices: PriceTable(inputPerMillion: 3, outputPerMillion: 15, longContextThreshold: 128_000, longContextMultiplier: 2))

    public static let openai = ProviderConfig(
        name: "openai", baseURL: "https://api.openai.com/v1", model: "gpt-4o-mini", apiKeyEnv: "OPENAI_API_KEY",
        requiresKey: true, contextWindow: 128_000, prices: PriceTable(inputPerMillion: 0.15, outputPerMillion: 0.6))

    /// A self-hosted OpenAI-compatible server: no key needed, no price.
    public static func custom(baseURL: String, model: String = "default", apiKeyEnv: String? = nil, contextWindow: Int = 8192) -> ProviderConfig {
        ProviderConfig(name: "custom", baseURL: baseURL, model: model, apiKeyEnv: apiKeyEnv, requiresKey: false, contextWindow: contextWindow)
    }

    public static func preset(_ name: String) -> ProviderConfig? {
        switch name.lowercased() {
        case "xai", "grok": return .xai
        case "openai": return .openai
        default: return nil
        }
    }
}
