import ArgumentParser
import Foundation
import JSONSchema
import Neural
import Planner
import Text

/// `atelier llm "…"`: Atelier's own GGUF engine from a terminal — a chat turn (the file's template) or
/// a raw completion, sampled as llama.cpp samples, optionally constrained to a JSON Schema.
struct LLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm",
        abstract: "Generate text with a local GGUF model (default: the embedded SmolLM2-135M-Instruct).",
        discussion: """
        The text streams to stdout; timings go to stderr. With --schema the output is JSON that validates \
        against the schema (constrained decoding: compact JSON, properties in the schema's order).
        """)

    @Argument(help: "The prompt (a user message unless --raw).") var prompt: String
    @Option(name: .long, help: "GGUF file (llama, mistral).") var model: String?
    @Option(name: .long, help: "System message (default: the template's own).") var system: String?
    @Flag(name: .long, help: "Send the prompt as is, without the chat template.") var raw = false
    @Option(name: .long, help: "Most tokens to generate.") var maxTokens: Int = 256
    @Option(name: .long, help: "Temperature; 0 is greedy.") var temperature: Float = 0.8
    @Option(name: .long, help: "Top-k (0: off).") var topK: Int = 40
    @Option(name: .long, help: "Top-p (1: off).") var topP: Float = 0.95
    @Option(name: .long, help: "Min-p (0: off).") var minP: Float = 0.05
    @Option(name: .long, help: "Repetition penalty (1: off).") var repeatPenalty: Float = 1
    @Option(name: .long, help: "Tokens the repetition penalty looks back over.") var repeatLastN: Int = 64
    @Option(name: .long, help: "Random seed.") var seed: UInt64 = 0
    @Option(name: .long, parsing: .singleValue, help: "Stop at this text (repeatable).") var stop: [String] = []
    @Option(name: .long, help: "JSON Schema (file or inline JSON) the output must validate against.") var schema: String?
    @Option(name: .long, help: "Context size in tokens (default: the file's, at most 4096).") var context: Int?
    @Option(name: .long, help: "Threads (default: every core).") var threads: Int?
    @Flag(name: .long, help: "Keep generating past end-of-turn tokens (benchmarks).") var ignoreEos = false
    @Flag(name: .long, help: "Compute the whole token mask at every step instead of checking the first draw (benchmarks).") var maskEveryToken = false
    @Flag(name: .long, help: "Print one JSON object (text, tokens, stop reason, timings) instead of streaming.") var json = false

    func run() throws {
        if let threads { ParallelRows.threads = max(1, threads) }
        let path = model ?? LLMDefaults.modelPath
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("no model at \(path)\(model == nil ? " (run `make bootstrap` to fetch the embedded one)" : "")")
        }
        let m = try LlamaModel(path: path)
        var options = SamplingOptions()
        options.temperature = temperature
        options.topK = topK
        options.topP = topP
        options.minP = minP
        options.repeatPenalty = repeatPenalty
        options.repeatLastN = repeatLastN
        options.seed = seed
        do { try options.validate() } catch { throw ValidationError(error.description) }

        let ids = try m.promptTokens(prompt, system: system, raw: raw)
        let capacity = min(context ?? min(m.config.contextLength, 4096), m.config.contextLength)
        if ids.count >= capacity {
            throw ValidationError("the prompt is \(ids.count) tokens but the context holds \(capacity); shorten it or pass a larger --context")
        }
        var constraint: JSONConstraint?
        if let schema {
            let s = try AskCommand.loadSchema(schema)
            do { constraint = try JSONConstraint(schema: s, vocabulary: TokenVocabulary(tokenizer: m.tokenizer)) } catch {
                throw ValidationError(error.description)
            }
        }
        let streaming = !json
        let g = try m.generate(prompt: ids, maxTokens: maxTokens, sampling: options, ignoreEOS: ignoreEos, stop: stop,
                               constraint: constraint, maskEveryToken: maskEveryToken, cache: m.makeCache(capacity: capacity),
                               onText: { piece in if streaming { FileHandle.standardOutput.write(Data(piece.utf8)) } })
        let ppRate = Double(g.promptTokens) / max(g.promptSeconds, 1e-9), tgRate = Double(g.tokens.count) / max(g.generateSeconds, 1e-9)
        if json {
            var o = JSONObject()
            o["text"] = .string(g.text)
            o["tokens"] = .number(JSONNumber(g.tokens.count))
            o["ids"] = .array(g.tokens.map { JSONValue.number(JSONNumber($0)) })
            o["prompt_tokens"] = .number(JSONNumber(g.promptTokens))
            o["stop"] = .string(g.stop.rawValue)
            o["prompt_tokens_per_second"] = .number(JSONNumber(ppRate))
            o["tokens_per_second"] = .number(JSONNumber(tgRate))
            o["constraint_ms_per_token"] = .number(JSONNumber(g.tokens.isEmpty ? 0 : g.constraintSeconds * 1000 / Double(g.tokens.count)))
            o["full_masks"] = .number(JSONNumber(g.fullMasks))
            print(JSONWriter.string(.object(o)))
        } else {
            print("")
            FileHandle.standardError.write(Data(String(format: "[%d prompt tokens at %.1f/s · %d generated at %.1f/s · stop: %@]\n",
                                                       g.promptTokens, ppRate, g.tokens.count, tgRate, g.stop.rawValue).utf8))
        }
    }
}
