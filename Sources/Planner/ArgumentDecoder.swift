import Foundation
import JSONSchema
import Text

/// The local model's part in planning: the required arguments the deterministic extractors could not
/// find, written by grounded constrained decoding. The model sees the tool and the request and writes
/// JSON for the missing properties only; the grammar makes it valid for the tool's schema, and
/// grounding makes every string a span of the request (or one of the existing paths it names), so the
/// model chooses among the request's own words instead of inventing values (DESIGN.md: a 135M model
/// invents `https://example.com/...` when left free). Paths are never guessed: the extractors already
/// tried every existing path the request names, so a path argument still missing stays missing and the
/// planner asks.
public final class ArgumentDecoder: @unchecked Sendable {
    let model: LlamaModel
    let vocabulary: TokenVocabulary
    private let lock = NSLock()

    public init(model: LlamaModel) throws {
        // A model whose chat template is unknown cannot be prompted: refused here, not on every call.
        _ = try model.template()
        self.model = model
        vocabulary = TokenVocabulary(tokenizer: model.tokenizer)
    }

    /// The embedded SmolLM2 when it is installed, else nil (planning then uses the extractors alone).
    public static func embedded() -> ArgumentDecoder? {
        let path = LLMDefaults.modelPath
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try? ArgumentDecoder(model: LlamaModel(path: path))
    }

    /// Values for `missing` (required properties of `schema`), merged into `known`; nil when the model
    /// cannot give valid ones.
    public func fill(tool: ToolSpec, known: JSONObject, missing: [String], clause: String) -> JSONValue? {
        guard let props = tool.parameters["properties"]?.objectValue else { return nil }
        var sub = JSONObject()
        var grounding: [String: JSONMatcher.Sources] = [:]
        for name in missing {
            guard var p = props[name]?.objectValue else { return nil }
            let kind = p["x-grounding"]?.stringValue ?? ArgumentFiller.inferGrounding(name, .object(p))
            switch kind {
            case "file", "directory", "path", "none":
                // The extractors already tried every existing path the request names.
                return nil
            case "symbol":
                // A name in the code: one of the request's words that could be one, not its verbs and
                // function words, nor the tool's own vocabulary ("outline", "defined").
                let words = Self.candidateNames(in: clause, excluding: tool.name + " " + tool.description)
                guard !words.isEmpty else { return nil }
                p["x-grounding"] = .string("symbol")
                grounding["symbol"] = .init(values: words)
            default:
                if p["type"]?.stringValue == "string" || p["type"] == nil {
                    p["x-grounding"] = .string("request")
                    grounding["request"] = .init(spans: [clause])
                }
            }
            p["default"] = nil
            sub[name] = .object(p)
        }
        let schema: JSONValue = .object(JSONObject([("type", "object"), ("properties", .object(sub)),
                                                    ("required", .array(missing.map { .string($0) })), ("additionalProperties", false)]))
        guard let grammar = try? JSONGrammar(schema: schema) else { return nil }
        guard let ids = try? model.chatTokens([
            .init(role: "system", content: "You fill in the arguments of a tool call as JSON, copying the values from the request."),
            .init(role: "user", content: "Tool: \(tool.name): \(tool.description)\nRequest: \(clause)\nArguments (\(missing.joined(separator: ", "))):")])
        else { return nil }
        let constraint = JSONConstraint(grammar: grammar, vocabulary: vocabulary, grounding: grounding)
        // One generation at a time on the shared model; a short, greedy answer.
        let text: String? = lock.withLock {
            guard let g = try? model.generate(prompt: ids, maxTokens: 48, constraint: constraint,
                                              cache: model.makeCache(capacity: min(model.config.contextLength, ids.count + 64))),
                  constraint.canEnd else { return nil }
            return g.text
        }
        guard let text, case .object(let values)? = try? JSONParser.parse(text) else { return nil }
        var merged = known
        for (k, v) in values { merged[k] = v }
        guard let s = try? Schema(tool.parameters), s.validate(.object(merged)).valid else { return nil }
        return .object(merged)
    }
}

extension ArgumentDecoder {
    /// A response schema's answer written by the model, for a schema the results cannot fill by name
    /// (`StructuredAnswer`): every string is a span of the request, the written answer or the tool
    /// results, enums and booleans are choices, and the grammar makes the whole validate. Numbers would
    /// be invented, so a schema that asks for one gets nil (the caller reports what is missing).
    public func structuredAnswer(schema: JSONValue, request: String, answer: String, results: [String]) -> JSONValue? {
        guard let grounded = Self.groundingStrings(schema), let grammar = try? JSONGrammar(schema: grounded) else { return nil }
        let context = ([answer] + results).map { String($0.prefix(1500)) }
        let sources = JSONMatcher.Sources(spans: [request] + context)
        guard let ids = try? model.chatTokens([
            .init(role: "system", content: "You answer as JSON, copying the values from the request and the results."),
            .init(role: "user", content: "Request: \(request)\nResults:\n\(context.joined(separator: "\n").prefix(4000))\nAnswer as JSON:")])
        else { return nil }
        let constraint = JSONConstraint(grammar: grammar, vocabulary: vocabulary, grounding: ["sources": sources])
        let text: String? = lock.withLock {
            guard ids.count + 256 <= model.config.contextLength,
                  let g = try? model.generate(prompt: ids, maxTokens: 256, constraint: constraint, cache: model.makeCache(capacity: ids.count + 257)),
                  constraint.canEnd else { return nil }
            return g.text
        }
        guard let text, let value = try? JSONParser.parse(text), let s = try? Schema(schema), s.validate(value).valid else { return nil }
        return value
    }

    /// `schema` with every free string tied to the "sources" grounding; nil when it asks for a number.
    static func groundingStrings(_ schema: JSONValue) -> JSONValue? {
        switch schema {
        case .array(let items):
            var out: [JSONValue] = []
            for i in items { guard let g = groundingStrings(i) else { return nil }; out.append(g) }
            return .array(out)
        case .object(var o):
            let types = o["type"]?.stringValue.map { [$0] } ?? o["type"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if types.contains("number") || types.contains("integer") { return nil }
            // Values, not schemas, under these keys.
            for (k, v) in o where !["enum", "const", "default", "examples", "required"].contains(k) {
                guard let g = groundingStrings(v) else { return nil }
                o[k] = g
            }
            if types.contains("string"), o["enum"] == nil, o["const"] == nil, o["pattern"] == nil { o["x-grounding"] = "sources" }
            return .object(o)
        default:
            return schema
        }
    }

    static let functionWords: Set<String> = [
        "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "about", "and", "or", "but", "is", "are",
        "was", "be", "it", "its", "this", "that", "these", "those", "my", "our", "your", "me", "i", "we", "you", "please",
        "where", "what", "which", "who", "whom", "how", "why", "when", "does", "do", "did", "can", "could", "would", "should",
        "show", "find", "list", "give", "tell", "get", "read", "open", "search", "look", "see", "want", "need", "all", "any",
        "calls", "call", "called", "uses", "use", "used", "defined", "define", "definition", "declared", "references",
        "reference", "outline", "symbol", "symbols", "function", "functions", "method", "methods", "class", "classes",
        "type", "types", "file", "files", "code", "here", "there", "everything", "anything", "something",
    ]

    /// Words of `clause` that could name something in code, in order, without repeats.
    static func candidateNames(in clause: String, excluding context: String) -> [String] {
        let toolWords = Set(context.lowercased().split { !$0.isLetter && !$0.isNumber && $0 != "_" }.map(String.init))
        var seen: Set<String> = [], out: [String] = []
        for raw in clause.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "_" && $0 != "." }) {
            let w = String(raw).trimmingCharacters(in: CharacterSet(charactersIn: "."))
            let lower = w.lowercased()
            guard w.count >= 2, w.first!.isLetter || w.first == "_", !functionWords.contains(lower), !toolWords.contains(lower),
                  seen.insert(w).inserted else { continue }
            out.append(w)
        }
        return out
    }
}

/// Where the embedded local model lives.
public enum LLMDefaults {
    public static var modelPath: String {
        ModelStore.directory + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
    }
}
