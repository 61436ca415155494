import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import JSONSchema

/// A chat model behind an OpenAI-compatible `/chat/completions` endpoint: xAI, OpenAI, llama.cpp,
/// vLLM, Ollama. Streams by default (SSE), retries 429 and 5xx with backoff (honouring
/// `retry-after`), and never lets the API key reach an error message or a log.
public struct OpenAICompatibleModel: LanguageModel {
    public let config: ProviderConfig
    private let apiKey: String?

    public var name: String { "\(config.name)/\(config.model)" }
    public var contextWindow: Int { config.contextWindow }
    public var prices: PriceTable? { config.prices }

    /// Reads the key from the environment variable the config names.
    public init(config: ProviderConfig, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.config = config
        let key = config.apiKeyEnv.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
        if config.requiresKey, key == nil {
            throw LanguageModelError.missingAPIKey(variable: config.apiKeyEnv ?? "?", provider: config.name)
        }
        apiKey = key
    }

    public func chat(_ request: ChatRequest, onDelta: @escaping @Sendable (ChatDelta) -> Void) async throws -> ChatResponse {
        let body = JSONWriter.bytes(requestBody(request))
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await send(body, onDelta: onDelta)
            } catch let e as Retry {
                guard attempt <= config.maxRetries else {
                    if e.status == 429 { throw LanguageModelError.rateLimited(provider: config.name, attempts: attempt, message: e.message) }
                    throw e.error
                }
                try await Task.sleep(nanoseconds: UInt64(backoff(attempt: attempt, retryAfter: e.retryAfter) * 1e9))
            } catch is CancellationError {
                throw LanguageModelError.cancelled
            }
        }
    }

    /// Exponential backoff with jitter, or the server's own `retry-after`, capped at 30 s.
    func backoff(attempt: Int, retryAfter: Double?) -> Double {
        if let r = retryAfter { return min(max(r, 0), 30) }
        return min(0.5 * pow(2, Double(attempt - 1)) * Double.random(in: 0.8...1.2), 30)
    }

    /// A failure worth another attempt (nothing of the answer was shown yet).
    private struct Retry: Error {
        let error: LanguageModelError
        let status: Int
        let message: String
        let retryAfter: Double?
    }

    func requestBody(_ r: ChatRequest) -> JSONValue {
        var o = JSONObject([("model", .string(r.model ?? config.model)), ("messages", .array(r.messages.map(\.json)))])
        if config.stream {
            o["stream"] = true
            o["stream_options"] = .object(JSONObject([("include_usage", true)]))
        }
        if !r.tools.isEmpty {
            o["tools"] = .array(r.tools.map(\.json))
            o["tool_choice"] = r.toolChoice.json
            o["parallel_tool_calls"] = .bool(r.parallelToolCalls)
        }
        if let schema = r.responseSchema {
            o["response_format"] = .object(JSONObject([
                ("type", "json_schema"),
                ("json_schema", .object(JSONObject([
                    ("name", "answer"), ("strict", .bool(Self.isStrictCompatible(schema))), ("schema", ToolSpec.forModel(schema)),
                ]))),
            ]))
        }
        if let m = r.maxTokens { o["max_tokens"] = .number(JSONNumber(m)) }
        if let t = r.temperature { o["temperature"] = .number(JSONNumber(t)) }
        return .object(o)
    }

    /// Strict structured output (OpenAI, xAI) accepts only schemas whose objects close their
    /// properties and require all of them; others are sent non-strict and checked by the agent.
    static func isStrictCompatible(_ schema: JSONValue) -> Bool {
        guard case .object(let o) = schema else { return true }
        if o["type"] == "object" || o["properties"] != nil {
            guard o["additionalProperties"] == .bool(false) else { return false }
            let props = o["properties"]?.objectValue?.keys ?? []
            let required = Set((o["required"]?.arrayValue ?? []).compactMap(\.stringValue))
            guard Set(props) == required else { return false }
        }
        for (_, v) in o {
            switch v {
            case .object: if !isStrictCompatible(v) { return false }
            case .array(let a): if !a.allSatisfy(isStrictCompatible) { return false }
            default: break
            }
        }
        return true
    }

    private func send(_ body: [UInt8], onDelta: @escaping @Sendable (ChatDelta) -> Void) async throws -> ChatResponse {
        let base = config.baseURL.hasSuffix("/") ? String(config.baseURL.dropLast()) : config.baseURL
        guard let url = URL(string: base + "/chat/completions"), url.scheme == "http" || url.scheme == "https" else {
            throw LanguageModelError.unsupported("'\(config.baseURL)' is not an http(s) base URL (e.g. http://127.0.0.1:8080/v1)")
        }
        var req = URLRequest(url: url, timeoutInterval: config.timeoutSeconds)
        req.httpMethod = "POST"
        req.httpBody = Data(body)
        req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        req.setValue(config.stream ? "text/event-stream" : "application/json", forHTTPHeaderField: "Accept")
        if let apiKey { req.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }

        let http = HTTPStream()
        let head: HTTPStream.Head
        do { head = try await http.start(req) } catch { throw transportFailure(error) }
        var acc = StreamAccumulator(provider: config.name)
        guard (200..<300).contains(head.status) else {
            var bytes = Data()
            do { for try await d in http.body { bytes.append(d); if bytes.count > 1 << 20 { break } } } catch {}
            let message = redact(Self.errorText(bytes))
            let error = LanguageModelError.http(status: head.status, message: message, provider: config.name)
            if head.status == 429 || error.isRetryable {
                throw Retry(error: error, status: head.status, message: message, retryAfter: head.headers["retry-after"].flatMap(Double.init))
            }
            throw error
        }
        let isSSE = head.headers["content-type"]?.contains("text/event-stream") ?? false
        var parser = SSEParser()
        var whole = Data()
        var emitted = false
        do {
            for try await chunk in http.body {
                if !isSSE { whole.append(chunk); continue }
                for event in parser.feed(chunk) {
                    if try handle(event, &acc, onDelta) { emitted = true }
                }
            }
            // A cancelled reader sees the body end early: that is not an answer.
            if Task.isCancelled { http.cancel(); throw LanguageModelError.cancelled }
            for event in parser.finish() { _ = try handle(event, &acc, onDelta) }
        } catch let e as LanguageModelError {
            throw e
        } catch is CancellationError {
            throw LanguageModelError.cancelled
        } catch {
            if Task.isCancelled { throw LanguageModelError.cancelled }
            // A stream cut before anything was shown is retried; after, the partial answer would repeat.
            let f = transportFailure(error)
            if let r = f as? Retry { throw emitted ? r.error : r }
            throw f
        }
        if !isSSE {
            let json: JSONValue
            do { json = try JSONParser.parse([UInt8](whole)) } catch {
                throw LanguageModelError.malformedResponse("body is not JSON (\(error))", provider: config.name)
            }
            _ = try acc.apply(chunk: json)
        }
        return try acc.finalize()
    }

    private func transportFailure(_ error: Error) -> Error {
        if error is CancellationError || Task.isCancelled { return LanguageModelError.cancelled }
        if let u = error as? URLError {
            switch u.code {
            case .cancelled: return LanguageModelError.cancelled
            case .timedOut:
                let e = LanguageModelError.timedOut(seconds: config.timeoutSeconds, provider: config.name)
                return Retry(error: e, status: 0, message: e.description, retryAfter: nil)
            default:
                let e = LanguageModelError.transport(redact(u.localizedDescription), provider: config.name)
                return Retry(error: e, status: 0, message: e.description, retryAfter: nil)
            }
        }
        return LanguageModelError.transport(redact("\(error)"), provider: config.name)
    }

    /// True when the event produced visible output.
    private func handle(_ event: SSEParser.Event, _ acc: inout StreamAccumulator, _ onDelta: @Sendable (ChatDelta) -> Void) throws -> Bool {
        let data = event.data.trimmingCharacters(in: .whitespaces)
        if data.isEmpty || data == "[DONE]" { return false }
        let json: JSONValue
        do { json = try JSONParser.parse(data) } catch {
            throw LanguageModelError.malformedResponse("stream event is not JSON: \(error)", provider: config.name)
        }
        let deltas = try acc.apply(chunk: json)
        for d in deltas { onDelta(d) }
        return !deltas.isEmpty
    }

    static func errorText(_ body: Data) -> String {
        if let json = try? JSONParser.parse([UInt8](body)) {
            if let e = json["error"] { return StreamAccumulator.errorMessage(e) }
            if let m = json["message"]?.stringValue { return m }
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "(empty body)" : text
    }

    private func redact(_ s: String) -> String {
        guard let apiKey, apiKey.count >= 4 else { return s }
        return s.replacingOccurrences(of: apiKey, with: "[redacted]")
    }
}
