import ArgumentParser
import Foundation
import JSONSchema
import Orchestrator
import Planner
import Tools

/// `atelier ask "…"`: the planner loop from a terminal. The calls show live on stderr; the answer
/// (or with --json one object: answer, stopReason, trace) goes to stdout.
struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Ask in plain language: a planner chooses and runs the tools, then answers.",
        discussion: """
        Offline by default (semantic router + grounded arguments, nothing downloaded). With --provider xai \
        (XAI_API_KEY) or openai (OPENAI_API_KEY), or --base-url for any OpenAI-compatible server (llama.cpp, \
        vLLM, Ollama), a remote model plans instead.
        """)

    @Argument(help: "The request.") var prompt: String
    @Option(name: .long, help: "Planner: local, xai, openai or custom (default: the config's, else local).") var provider: String?
    @Option(name: .long, help: "OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1.") var baseUrl: String?
    @Option(name: .long, help: "Model name at the provider (xai: grok-4).") var model: String?
    @Option(name: .long, help: "Environment variable holding the API key.") var apiKeyEnv: String?
    @Flag(name: .long, help: "Plan only: show the first turn's calls without running them.") var dryRun = false
    @Flag(name: .long, help: "Print one JSON object: answer, stopReason, trace.") var json = false
    @Option(name: .long, help: "Most model turns.") var maxTurns: Int = 10
    @Option(name: .long, help: "Most tool calls.") var maxToolCalls: Int = 64
    @Option(name: .long, help: "Token budget for the run.") var maxTokens: Int?
    @Option(name: .long, help: "Cost budget in US dollars.") var maxCost: Double?
    @Option(name: .long, help: "Deadline for the whole run, in seconds.") var timeout: Double?
    @Option(name: .long, help: "Deadline per tool call, in milliseconds.") var callTimeoutMs: Int?
    @Option(name: .long, parsing: .upToNextOption, help: "Only these tools may be called.") var tools: [String] = []
    @Flag(name: .long, help: "Offer no tools: the model answers from the request alone.") var noTools = false
    @Option(name: .long, parsing: .upToNextOption, help: "Files the request refers to.") var attach: [String] = []
    @Option(name: .long, help: "JSON Schema (file path or inline JSON) the answer must validate against.") var responseSchema: String?
    @Flag(name: .long, help: "Show the calls on stderr even when it is not a terminal.") var verbose = false
    @OptionGroup var common: CommonOptions

    func run() async throws {
        let config = try common.loadConfig()
        let registry = try common.makeRegistry(config)
        let factory = PlannerFactory(config: config?.planner, roots: registry.roots)
        let choice = ModelChoice(provider: provider, baseURL: baseUrl, model: model, apiKeyEnv: apiKeyEnv)
        let languageModel: LanguageModel
        do { languageModel = try factory.make(choice) } catch {
            FileHandle.standardError.write(Data("atelier: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var o = AgentOptions()
        o.maxTurns = maxTurns
        o.maxToolCalls = maxToolCalls
        o.maxTokens = maxTokens
        o.maxCostUSD = maxCost
        o.callTimeoutMs = callTimeoutMs
        o.deadline = timeout.map { Date().addingTimeInterval($0) }
        o.allowedTools = noTools ? [] : (tools.isEmpty ? nil : tools)
        o.dryRun = dryRun
        if let responseSchema { o.responseSchema = try Self.loadSchema(responseSchema) }
        let live = verbose || isatty(2) != 0
        let view = LiveView(enabled: live)
        let result = await Agent(model: languageModel, registry: registry, options: o)
            .run(prompt: prompt, attachments: attach) { view.show($0) }
        if json {
            printJSON(result.json)
        } else {
            print(result.answer)
            if live {
                let u = result.trace.usage
                FileHandle.standardError.write(Data("[\(result.stopReason.rawValue) · \(result.trace.turns.count) turns · \(result.trace.turns.reduce(0) { $0 + $1.calls.count }) calls · \(u.totalTokens) tokens\(result.trace.costUSD > 0 ? String(format: " · $%.4f", result.trace.costUSD) : "") · \(Int(result.trace.durationMs)) ms]\n".utf8))
            }
        }
        switch result.stopReason {
        case .answered, .dryRun: return
        default:
            if let e = result.error { FileHandle.standardError.write(Data("atelier: \(e)\n".utf8)) }
            throw ExitCode(1)
        }
    }

    static func loadSchema(_ s: String) throws -> JSONValue {
        let text = s.trimmingCharacters(in: .whitespaces).hasPrefix("{") ? s : ((try? String(contentsOfFile: s, encoding: .utf8)) ?? s)
        do { return try JSONParser.parse(text) } catch { throw ValidationError("--response-schema is neither a JSON file nor inline JSON: \(error)") }
    }
}

/// The calls of a run as they happen, on stderr (the answer itself goes to stdout once, at the end).
final class LiveView: @unchecked Sendable {
    let enabled: Bool
    private let lock = NSLock()

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ e: AgentEvent) {
        guard enabled else { return }
        switch e {
        case .delta, .usage: return
        default:
            guard let line = e.summary else { return }
            lock.withLock { FileHandle.standardError.write(Data("  \(line)\n".utf8)) }
        }
    }
}
