import Foundation
import JSONSchema
import Orchestrator
import Planner

/// `llm_generate`: Atelier's own GGUF engine as a tool — a chat turn or a raw completion, optionally
/// constrained to a JSON Schema. Models are loaded once and kept (the file stays memory-mapped).
public struct LLMGenerateTool: Tool {
    public let descriptor = ToolCatalog.descriptor("llm_generate")
    let sandbox: RootSandbox
    let models: LLMModels

    init(sandbox: RootSandbox, models: LLMModels = LLMModels()) {
        self.sandbox = sandbox
        self.models = models
    }

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let path = try arguments["model"]?.stringValue.map { try sandbox.resolve($0).path } ?? LLMDefaults.modelPath
        var o = SamplingOptions()
        if let v = arguments["temperature"]?.doubleValue { o.temperature = Float(v) }
        if let v = arguments["top_k"]?.intValue { o.topK = v }
        if let v = arguments["top_p"]?.doubleValue { o.topP = Float(v) }
        if let v = arguments["min_p"]?.doubleValue { o.minP = Float(v) }
        if let v = arguments["repeat_penalty"]?.doubleValue { o.repeatPenalty = Float(v) }
        if let v = arguments["seed"]?.intValue { o.seed = UInt64(v) }
        do { try o.validate() } catch { throw ToolError.failed(error.description) }
        let options = o
        let prompt = arguments["prompt"]!.stringValue!
        let raw = arguments["raw"]?.boolValue ?? false
        let system = arguments["system"]?.stringValue
        let maxTokens = arguments["max_tokens"]?.intValue ?? 256
        let stop = arguments["stop"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let schema = arguments["schema"]

        let flag = OneWaySwitch()
        let deadline = context.deadline
        let models = self.models
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (k: CheckedContinuation<ToolOutput, Error>) in
                // Generation holds a core for its whole length: off the cooperative pool.
                Thread.detachNewThread {
                    k.resume(with: Result {
                        let model = try models.model(path)
                        let ids: [Int]
                        do { ids = try model.promptTokens(prompt, system: system, raw: raw) } catch { throw ToolError.failed("\(error)") }
                        let capacity = min(model.config.contextLength, ids.count + maxTokens)
                        guard ids.count < min(model.config.contextLength, 32_768) else {
                            throw ToolError.failed("the prompt is \(ids.count) tokens but the model's context holds \(model.config.contextLength); shorten it")
                        }
                        var constraint: JSONConstraint?
                        if let schema {
                            do { constraint = try JSONConstraint(schema: schema, vocabulary: models.vocabulary(path, model)) } catch {
                                throw ToolError.failed("\(error)")
                            }
                        }
                        var produced = 0
                        let g: Generation
                        do {
                            g = try model.generate(prompt: ids, maxTokens: maxTokens, sampling: options, stop: stop, constraint: constraint,
                                                   cache: model.makeCache(capacity: max(capacity, ids.count + 1)),
                                                   isCancelled: { flag.isSet || deadline.map { Date() >= $0 } == true },
                                                   onText: { _ in
                                produced += 1
                                if produced % 16 == 0 { context.progress(Double(produced), total: Double(maxTokens), message: "generating") }
                            })
                        } catch LlamaModel.Failure.cancelled {
                            throw ToolError.cancelled
                        }
                        var out = JSONObject()
                        out["text"] = .string(g.text)
                        if constraint != nil {
                            // Unfinished JSON (the token limit came first) is said, not returned half-parsed.
                            guard let value = try? JSONParser.parse(g.text), constraint!.canEnd else {
                                throw ToolError.failed("the output reached max_tokens (\(maxTokens)) before the JSON was complete: \(g.text.prefix(200))…; raise max_tokens or bound the schema's strings (maxLength) and arrays (maxItems)")
                            }
                            out["value"] = value
                        }
                        out["stop"] = .string(g.stop.rawValue)
                        out["tokens"] = .number(JSONNumber(g.tokens.count))
                        out["prompt_tokens"] = .number(JSONNumber(g.promptTokens))
                        out["tokens_per_second"] = .number(JSONNumber(g.generateSeconds > 0 ? Double(g.tokens.count) / g.generateSeconds : 0))
                        out["model"] = .string(URL(fileURLWithPath: path).lastPathComponent)
                        return ToolOutput(structured: .object(out), text: g.text)
                    })
                }
            }
        } onCancel: { flag.set() }
    }
}

/// Models by path, loaded on first use and kept, with their constraint vocabularies.
final class LLMModels: @unchecked Sendable {
    private var models: [String: LlamaModel] = [:]
    private var vocabularies: [String: TokenVocabulary] = [:]
    private let lock = NSLock()

    func model(_ path: String) throws -> LlamaModel {
        try lock.withLock {
            if let m = models[path] { return m }
            guard FileManager.default.fileExists(atPath: path) else {
                throw ToolError.failed("no model at \(path)\(path == LLMDefaults.modelPath ? " (run `make bootstrap` to fetch the embedded one)" : "")")
            }
            do {
                let m = try LlamaModel(path: path)
                models[path] = m
                return m
            } catch {
                throw ToolError.failed("\(path): \(error)")
            }
        }
    }

    func vocabulary(_ path: String, _ model: LlamaModel) -> TokenVocabulary {
        lock.withLock {
            if let v = vocabularies[path] { return v }
            let v = TokenVocabulary(tokenizer: model.tokenizer)
            vocabularies[path] = v
            return v
        }
    }
}
