import Foundation
import Orchestrator
import Planner
import Text

/// Chooses the model that plans a run: what the caller asks for (`provider`, `baseURL`), else the
/// configuration's `planner` section, else the offline planner. Failures say what to set.
public struct PlannerFactory: Sendable {
    public let config: AtelierConfig.Planner?
    public let roots: [URL]
    public let environment: [String: String]

    public init(config: AtelierConfig.Planner?, roots: [URL], environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.config = config
        self.roots = roots
        self.environment = environment
    }

    public var resolver: ModelResolver { { try self.make($0) } }

    public func make(_ choice: ModelChoice) throws -> LanguageModel {
        let provider = choice.provider ?? (choice.baseURL != nil ? "custom" : nil) ?? config?.provider ?? "local"
        if provider == "local" {
            guard choice.baseURL == nil else { throw LanguageModelError.unsupported("--base-url needs a remote provider (custom, xai or openai), not local") }
            let planner = OfflinePlanner(embed: { texts in try SentenceEmbedder.defaultModel().embed(texts) }, roots: roots)
            planner.loadDecoder = { ArgumentDecoder.embedded() }
            return planner
        }
        var c: ProviderConfig
        if let preset = ProviderConfig.preset(provider) {
            c = preset
        } else if provider == "custom" {
            guard let base = choice.baseURL ?? config?.baseURL else {
                throw LanguageModelError.unsupported("provider 'custom' needs a base URL (--base-url http://host:port/v1 or planner.baseURL in the config)")
            }
            c = .custom(baseURL: base)
        } else {
            throw LanguageModelError.unsupported("unknown provider '\(provider)': use local, xai, openai or custom (with a base URL)")
        }
        // The config's settings apply to the provider it names.
        if let p = config, (p.provider ?? "local") == provider {
            if let v = p.baseURL, choice.baseURL == nil { c.baseURL = v }
            if let v = p.model { c.model = v }
            if let v = p.apiKeyEnv { c.apiKeyEnv = v }
            if let v = p.contextWindow { c.contextWindow = v }
            if let i = p.inputPricePerMillion, let o = p.outputPricePerMillion {
                c.prices = PriceTable(inputPerMillion: i, outputPerMillion: o)
            }
            if let v = p.timeoutSeconds { c.timeoutSeconds = v }
            if let v = p.maxRetries { c.maxRetries = v }
        }
        if let v = choice.baseURL { c.baseURL = v }
        if let v = choice.model { c.model = v }
        if let v = choice.apiKeyEnv { c.apiKeyEnv = v; c.requiresKey = true }
        return try OpenAICompatibleModel(config: c, environment: environment)
    }
}
