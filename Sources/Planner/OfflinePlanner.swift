import Foundation
import JSONSchema

/// The planner that needs no network and no key. A 135M model cannot choose tools (DESIGN.md), so:
/// a semantic router (MiniLM) picks the tools for each clause of the request, grounded extraction
/// fills their arguments from the request's own words and the files under the roots, and the answer
/// is written from the results by a template. It speaks the `LanguageModel` protocol, so the agent
/// loop runs it exactly like a remote model: stages of a "… then …" request become successive turns.
public final class OfflinePlanner: LanguageModel, @unchecked Sendable {
    public let name = "local/router"
    public let contextWindow = 1 << 20
    public let prices: PriceTable? = nil
    public let router: ToolRouter
    let filler: ArgumentFiller
    /// Below this similarity a clause is not routed to a tool.
    public var threshold: Float = Float(ProcessInfo.processInfo.environment["ATELIER_ROUTER_THRESHOLD"] ?? "") ?? 0.3
    /// How much grounding (required arguments filled from the request) moves a tool's score.
    public var fillBonus: Float = Float(ProcessInfo.processInfo.environment["ATELIER_ROUTER_FILL_BONUS"] ?? "") ?? 0.08
    /// Loads the local model, for required arguments the extractors cannot find (nil: ask instead).
    /// Loaded on first need: most requests never need it.
    public var loadDecoder: (@Sendable () -> ArgumentDecoder?)? {
        didSet { decoderLock.withLock { loaded = nil } }
    }
    private var loaded: ArgumentDecoder??
    private let decoderLock = NSLock()
    var decoder: ArgumentDecoder? {
        decoderLock.withLock {
            if loaded == nil { loaded = .some(loadDecoder?()) }
            return loaded!
        }
    }

    public init(embed: @escaping ToolRouter.Embed, roots: [URL]) {
        router = ToolRouter(embed: embed)
        filler = ArgumentFiller(roots: roots)
    }

    /// One planned call, with why it was chosen.
    public struct PlannedCall: Sendable {
        public let clause: String
        public let tool: String
        public let score: Float
        public let arguments: JSONValue?
        /// Required arguments the request does not give.
        public let missing: [String]
        /// With `missing`: the arguments it does give.
        var known = JSONObject()
    }

    /// The calls for one stage of clauses: each clause routed, " and "-joined clauses split when
    /// both halves clearly want different tools.
    public func plan(clauses: [String], request: String, tools: [ToolSpec], extraPaths: [String] = []) throws -> [PlannedCall] {
        guard !tools.isEmpty, !clauses.isEmpty else { return [] }
        // Each clause is embedded once; " and "-halves only when a split is tried.
        var units: [(clause: String, matches: [ToolRouter.Match])] = []
        for c in clauses {
            let whole = try router.rank(c, tools: tools)
            var best = [(c, whole)]
            for (a, b) in RequestClauses.andSplits(c) {
                let r = try router.rank([a, b], tools: tools)
                if r[0][0].tool != r[1][0].tool, r[0][0].score >= threshold, r[1][0].score >= threshold,
                   min(r[0][0].score, r[1][0].score) >= whole[0].score - 0.1 {
                    best = [(a, r[0]), (b, r[1])]
                    break
                }
            }
            units += best
        }
        var out: [PlannedCall] = []
        for (clause, matches) in units {
            // Similarity decides, nudged by grounding: a tool whose required arguments the request
            // fills (an existing path for a file tool), or that takes a path the request names, gains;
            // one it cannot fill loses, twice as much when a path was named that it could not take (a
            // folder for a file tool).
            let namesPaths = filler.namesPaths(clause)
            var best: (call: PlannedCall, adjusted: Float)?
            for m in matches.prefix(5) where m.score >= threshold - fillBonus {
                guard let spec = tools.first(where: { $0.name == m.tool }) else { continue }
                let call: PlannedCall, adjusted: Float
                switch filler.fill(spec.parameters, clause: clause, request: request, extraPaths: extraPaths) {
                case .filled(let args):
                    let grounded = Self.requiredCount(spec.parameters) > 0 || ArgumentFiller.takesAPath(spec.parameters, args)
                    call = PlannedCall(clause: clause, tool: m.tool, score: m.score, arguments: args, missing: [])
                    adjusted = m.score + (grounded ? fillBonus : 0)
                case .missing(let missing, let partial):
                    call = PlannedCall(clause: clause, tool: m.tool, score: m.score, arguments: nil, missing: missing, known: partial)
                    adjusted = m.score - fillBonus * (namesPaths ? 2 : 1)
                }
                if best == nil || adjusted > best!.adjusted { best = (call, adjusted) }
            }
            guard let c = best, c.adjusted >= threshold || (c.call.arguments == nil && c.call.score >= threshold) else { continue }
            guard let args = c.call.arguments, let spec = tools.first(where: { $0.name == c.call.tool }) else { out.append(c.call); continue }
            for a in filler.fanOut(spec.parameters, arguments: args, clause: clause)
            where !out.contains(where: { $0.tool == c.call.tool && $0.arguments == a }) {
                out.append(PlannedCall(clause: clause, tool: c.call.tool, score: c.call.score, arguments: a, missing: []))
            }
        }
        // Nothing to call, only tools whose required arguments are not in so many words: rather than
        // ask, the local model writes them, grounded in the request's spans (never a path: those come
        // from the roots or not at all). Only then — beside calls that are ready, an unfilled clause is
        // usually an aside ("… I want to rename it"), not a request.
        if !out.contains(where: { $0.arguments != nil }), let decoder {
            for (i, c) in out.enumerated() where c.arguments == nil && c.score >= threshold {
                guard let spec = tools.first(where: { $0.name == c.tool }),
                      let args = decoder.fill(tool: spec, known: c.known, missing: c.missing, clause: c.clause) else { continue }
                out[i] = PlannedCall(clause: c.clause, tool: c.tool, score: c.score, arguments: args, missing: [])
            }
        }
        return out
    }

    static func requiredCount(_ schema: JSONValue) -> Int { schema["required"]?.arrayValue?.count ?? 0 }

    public func chat(_ request: ChatRequest, onDelta: @escaping @Sendable (ChatDelta) -> Void) async throws -> ChatResponse {
        guard let user = request.messages.first(where: { $0.role == .user })?.content else {
            return ChatResponse(content: "There is no request to plan for.", finishReason: "stop")
        }
        let stages = RequestClauses.stages(user)
        let done = request.messages.filter { $0.role == .assistant && !$0.toolCalls.isEmpty }.count
        let results = request.messages.filter { $0.role == .tool }
        let attachments = Self.attachments(user)
        let tools = request.tools.filter { $0.name != "result_page" }
        if done < stages.count, request.toolChoice != .none {
            // Later stages may use paths that earlier results produced.
            let earlier = results.flatMap { ArgumentFiller.paths(in: $0.content) }
            let planned = try plan(clauses: stages[done], request: user, tools: tools, extraPaths: attachments + earlier)
            let calls = planned.filter { $0.arguments != nil }
            if !calls.isEmpty {
                let toolCalls = calls.enumerated().map { i, c in
                    ToolCall(id: "local_\(done + 1)_\(i + 1)", name: c.tool, arguments: JSONWriter.string(c.arguments!))
                }
                for (i, c) in toolCalls.enumerated() { onDelta(.toolCallStarted(index: i, name: c.name)) }
                return ChatResponse(toolCalls: toolCalls, finishReason: "tool_calls", usage: Usage(), model: name)
            }
            if done == 0 {
                return try final(clarification(planned, tools: tools, request: user), results: results, request: request, onDelta: onDelta)
            }
        }
        return try final(Self.answer(from: results), results: results, request: request, onDelta: onDelta)
    }

    /// The last turn: the written answer, or with a response schema that answer and the tool results
    /// read into the schema's shape (see `StructuredAnswer`).
    private func final(_ text: String, results: [ChatMessage], request: ChatRequest,
                       onDelta: @escaping @Sendable (ChatDelta) -> Void) throws -> ChatResponse {
        var content = text
        if let schema = request.responseSchema {
            let data = results.compactMap { r -> JSONValue? in
                let (_, status, body) = Self.parse(r.content)
                return status == "ok" ? r.data ?? StructuredAnswer.value(of: body) : nil
            }
            do {
                content = JSONWriter.string(try StructuredAnswer(text: text, results: data, schema: schema).build())
            } catch {
                // Not in the results by name: the local model may write it from their words (strings as
                // spans, choices for enums and booleans; never a number), else the missing part is named.
                let user = request.messages.first(where: { $0.role == .user })?.content ?? ""
                guard let decoder, let value = decoder.structuredAnswer(schema: schema, request: user, answer: text,
                                                                       results: results.map { Self.parse($0.content).body }) else {
                    throw LanguageModelError.unsupported("\(error)")
                }
                content = JSONWriter.string(value)
            }
        }
        onDelta(.content(content))
        return ChatResponse(content: content, finishReason: "stop", usage: Usage(), model: name)
    }

    private func clarification(_ planned: [PlannedCall], tools: [ToolSpec], request: String) -> String {
        if let p = planned.first(where: { !$0.missing.isEmpty }) {
            let what = p.missing.map { name -> String in
                let d = tools.first { $0.name == p.tool }?.parameters["properties"]?[name]?["description"]?.stringValue
                return d.map { "\(name) (\($0.prefix(80)))" } ?? name
            }
            return "That looks like a job for \(p.tool), but the request does not say which \(what.joined(separator: " and ")). Please name it (for example a path relative to the workspace)."
        }
        let best = (try? router.rank(request, tools: tools))?.first
        let list = tools.prefix(12).map { "- \($0.name): \(ToolRouter.firstSentence($0.description))" }.joined(separator: "\n")
        return "I could not match this request to a tool with confidence" + (best.map { " (closest: \($0.tool), similarity \(String(format: "%.2f", $0.score)))" } ?? "") +
            ". Rephrase it, or ask for one of these:\n" + list
    }

    static func attachments(_ user: String) -> [String] {
        guard let r = user.range(of: "\n\nAttached files") else { return [] }
        return user[r.upperBound...].split(separator: "\n").compactMap { line in
            line.hasPrefix("- ") ? String(line.dropFirst(2)) : nil
        }
    }

    /// The final answer, written from the tool results: each result under its tool's name, errors
    /// stated, citations kept as the tools gave them.
    static func answer(from results: [ChatMessage]) -> String {
        guard !results.isEmpty else { return "Nothing to do." }
        var parts: [String] = []
        for r in results {
            let (name, status, body) = parse(r.content)
            // Match marks (⟦…⟧) help a model skim; in a written answer they get in the way.
            let clean = body.replacingOccurrences(of: "⟦", with: "").replacingOccurrences(of: "⟧", with: "")
            let shown = clean.count > 4000 ? String(clean.prefix(4000)) + "\n…" : clean
            if status == "ok" {
                parts.append("\(name):\n\(shown)")
            } else {
                parts.append("\(name) \(status): \(shown)")
            }
        }
        return parts.joined(separator: "\n\n")
    }

    /// Reads the `<tool_result name=… status=…>` fence the agent puts around results.
    static func parse(_ content: String) -> (name: String, status: String, body: String) {
        guard content.hasPrefix("<tool_result"), let close = content.firstIndex(of: ">") else { return ("result", "ok", content) }
        let head = String(content[..<close])
        func attr(_ key: String) -> String? {
            guard let r = head.range(of: "\(key)=\"") else { return nil }
            return String(head[r.upperBound...].prefix { $0 != "\"" })
        }
        var body = String(content[content.index(after: close)...])
        if body.hasSuffix("</tool_result>") { body = String(body.dropLast("</tool_result>".count)) }
        return (attr("name") ?? "result", attr("status") ?? "ok", body.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
