import Foundation
import JSONSchema
import Planner

/// The planner loop: request → model → validated tool calls run in parallel → results back to the
/// model → … → answer. Bad arguments and failed calls go back to the model as tool results so it can
/// correct itself; limits end the run with a stated reason; the trace records everything.
public struct Agent: Sendable {
    public let model: LanguageModel
    public let registry: ToolRegistry
    public let options: AgentOptions

    public init(model: LanguageModel, registry: ToolRegistry, options: AgentOptions = AgentOptions()) {
        self.model = model
        self.registry = registry
        self.options = options
    }

    /// The tools offered to the model: the allow-list applied, this agent's own entry points removed.
    public var toolSpecs: [ToolSpec] {
        let allowed = options.allowedTools.map(Set.init)
        return registry.descriptors
            .filter { allowed?.contains($0.name) ?? true }
            .filter { !Self.excludedTools.contains($0.name) }
            .map(\.toolSpec)
    }

    /// Tools that would start an agent inside the agent.
    static let excludedTools: Set<String> = ["ask"]

    public func run(prompt: String, attachments: [String] = [], context: ToolContext = .init(),
                    onEvent: @escaping @Sendable (AgentEvent) -> Void = { _ in }) async -> AgentResult {
        let state = RunState(model: model.name)
        let work = Task { await loop(prompt: prompt, attachments: attachments, context: context, state: state, onEvent: onEvent) }
        // The overall deadline cancels the run wherever it is (model stream or tool calls).
        var timer: DispatchWorkItem?
        if let deadline = options.deadline {
            let t = DispatchWorkItem { state.deadlinePassed = true; work.cancel() }
            DispatchQueue.global().asyncAfter(deadline: .now() + max(0, deadline.timeIntervalSinceNow), execute: t)
            timer = t
        }
        var result = await withTaskCancellationHandler { await work.value } onCancel: { work.cancel() }
        timer?.cancel()
        result.trace.durationMs = Date().timeIntervalSince(state.start) * 1000
        return result
    }

    private func loop(prompt: String, attachments: [String], context: ToolContext, state: RunState,
                      onEvent: @escaping @Sendable (AgentEvent) -> Void) async -> AgentResult {
        let tools = toolSpecs
        let pager = ResultPager()
        var messages: [ChatMessage] = [.system(options.systemPrompt ?? AgentOptions.defaultSystemPrompt)]
        var user = prompt
        if !attachments.isEmpty {
            user += "\n\nAttached files (paths the tools can read):\n" + attachments.map { "- \($0)" }.joined(separator: "\n")
        }
        messages.append(.user(user))
        var offered = tools
        var trace = AgentTrace(model: model.name)
        var callsMade = 0
        var repairs = 0
        var lastContent = ""
        let responseSchema = try? options.responseSchema.map { try Schema($0) }

        func finish(_ reason: StopReason, answer: String? = nil, structured: JSONValue? = nil, error: String? = nil) -> AgentResult {
            let text = answer ?? (lastContent.isEmpty ? "Stopped: \(reason.explanation(options))." : lastContent)
            return AgentResult(answer: text, structured: structured, stopReason: reason, error: error, trace: trace)
        }
        func interrupted() -> StopReason? {
            if state.deadlinePassed || (options.deadline.map { Date() >= $0 } ?? false) { return .deadline }
            if Task.isCancelled { return .cancelled }
            return nil
        }
        if options.responseSchema != nil, responseSchema == nil {
            return finish(.invalidAnswer, error: "the response schema is not a valid JSON Schema")
        }

        for turn in 1...max(1, options.maxTurns) {
            if let r = interrupted() { return finish(r) }
            // Keep the conversation inside the window: drop old tool results first (they stay pageable).
            let budget = Int(Double(model.contextWindow) * 0.85) - (options.responseSchema == nil ? 1024 : 2048)
            if !ContextWindow.fit(&messages, tools: offered, budget: budget) {
                return finish(.contextOverflow)
            }
            if let maxCost = options.maxCostUSD, let prices = model.prices,
               trace.costUSD + prices.cost(Usage(promptTokens: ContextWindow.estimate(messages, tools: offered))) > maxCost {
                return finish(.costBudget)
            }
            onEvent(.turnStarted(turn: turn))
            let modelStart = Date()
            let request = ChatRequest(messages: messages, tools: offered, toolChoice: .auto, parallelToolCalls: true,
                                      responseSchema: options.responseSchema, maxTokens: options.maxOutputTokens)
            let response: ChatResponse
            do {
                response = try await model.chat(request) { onEvent(.delta($0)) }
            } catch {
                if let r = interrupted() { return finish(r) }
                if case LanguageModelError.cancelled = error { return finish(.cancelled) }
                return finish(.modelError, error: "\(error)")
            }
            let usage = response.usage ?? Usage(promptTokens: ContextWindow.estimate(messages, tools: offered),
                                                completionTokens: ContextWindow.estimate(text: response.content + response.toolCalls.map(\.arguments).joined()))
            trace.usage = trace.usage + usage
            trace.costUSD += model.prices?.cost(usage) ?? 0
            onEvent(.usage(total: trace.usage, costUSD: trace.costUSD))
            var record = AgentTrace.Turn(index: turn, content: response.content, calls: [], usage: usage,
                                         modelMs: Date().timeIntervalSince(modelStart) * 1000)
            if !response.content.isEmpty { lastContent = response.content }
            messages.append(response.message)

            if response.toolCalls.isEmpty {
                trace.turns.append(record)
                // The answer: checked against the response schema when there is one.
                guard let schema = responseSchema else { return finish(.answered, answer: response.content) }
                let problem: String
                do {
                    let value = try JSONParser.parse(Self.stripFence(response.content))
                    let v = schema.validate(value)
                    if v.valid { return finish(.answered, answer: response.content, structured: value) }
                    problem = v.errors.map(\.description).joined(separator: "; ")
                } catch {
                    problem = "the answer is not JSON: \(error)"
                }
                guard repairs < options.maxRepairs else { return finish(.invalidAnswer, error: problem) }
                repairs += 1
                messages.append(.user("Your answer does not validate against the required response schema: \(problem). Answer again with only the JSON value, valid against the schema."))
                continue
            }

            onEvent(.plan(turn: turn, calls: response.toolCalls))
            let room = options.maxToolCalls - callsMade
            let calls = Array(response.toolCalls.prefix(max(0, room)))
            if options.dryRun {
                record.calls = calls.map { c in
                    let (args, problem) = check(c)
                    return AgentTrace.Call(id: c.id, name: c.name, arguments: args, status: problem == nil ? "planned" : "invalid",
                                           result: nil, error: problem, startedMs: state.elapsedMs, durationMs: 0)
                }
                trace.turns.append(record)
                let plan = record.calls.map { "\($0.name) \(JSONWriter.string($0.arguments))" }.joined(separator: "\n")
                return finish(.dryRun, answer: "Plan (not executed):\n" + plan)
            }
            let results = await execute(calls, turn: turn, pager: pager, context: context, state: state, onEvent: onEvent)
            callsMade += calls.count
            record.calls = results.map(\.call)
            trace.turns.append(record)
            for r in results { messages.append(.tool(r.message, callId: r.call.id, name: r.call.name, data: r.call.status == "ok" ? r.call.result : nil)) }
            // Unanswered calls would make the conversation invalid for the API: answer them as skipped.
            for c in response.toolCalls.dropFirst(calls.count) {
                messages.append(.tool("<tool_result name=\"\(c.name)\" status=\"skipped\">\nnot run: the tool-call budget is spent\n</tool_result>", callId: c.id, name: c.name))
            }
            if let r = interrupted() { return finish(r) }
            if pager.hasStored, !offered.contains(where: { $0.name == ResultPager.toolName }) { offered.append(ResultPager.spec) }
            if response.toolCalls.count > calls.count || callsMade >= options.maxToolCalls { return finish(.maxToolCalls) }
            if let maxTokens = options.maxTokens, trace.usage.totalTokens >= maxTokens { return finish(.tokenBudget) }
            if let maxCost = options.maxCostUSD, trace.costUSD >= maxCost { return finish(.costBudget) }
        }
        return finish(.maxTurns)
    }

    /// Parses and validates a call's arguments; the problem is worded for the model.
    private func check(_ c: ToolCall) -> (JSONValue, String?) {
        let text = c.arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        let args: JSONValue
        do { args = text.isEmpty ? .object(JSONObject()) : try JSONParser.parse(text) } catch {
            return (.string(c.arguments), "the arguments are not valid JSON (\(error)); send a JSON object")
        }
        if c.name == ResultPager.toolName { return (args, nil) }
        if Self.excludedTools.contains(c.name) || (options.allowedTools.map { !$0.contains(c.name) } ?? false) {
            return (args, "tool '\(c.name)' is not available in this run; available: \(toolSpecs.map(\.name).joined(separator: ", "))")
        }
        do { try registry.validate(c.name, args) } catch {
            return (args, error.description)
        }
        return (args, nil)
    }

    private struct Outcome: Sendable {
        var call: AgentTrace.Call
        var message: String
    }

    /// Runs the turn's calls concurrently; invalid ones are answered without running.
    private func execute(_ calls: [ToolCall], turn: Int, pager: ResultPager, context: ToolContext, state: RunState,
                         onEvent: @escaping @Sendable (AgentEvent) -> Void) async -> [Outcome] {
        let limit = options.maxResultChars
        return await withTaskGroup(of: (Int, Outcome).self) { group in
            for (i, c) in calls.enumerated() {
                let (args, problem) = check(c)
                group.addTask {
                    let started = state.elapsedMs
                    onEvent(.callStarted(turn: turn, id: c.id, name: c.name, arguments: args))
                    var call = AgentTrace.Call(id: c.id, name: c.name, arguments: args, status: "ok", result: nil, error: nil,
                                               startedMs: started, durationMs: 0)
                    var body: String
                    if let problem {
                        call.status = "invalid"
                        call.error = problem
                        body = problem
                    } else if c.name == ResultPager.toolName {
                        let (text, error) = pager.page(args, limit: limit)
                        call.status = error == nil ? "ok" : "error"
                        call.error = error
                        body = error ?? text
                    } else {
                        switch await callTool(c.name, args, context) {
                        case .success(let out):
                            call.result = out.structured ?? out.text.map { .string($0) }
                            body = pager.fit(out.text ?? out.structured.map { JSONWriter.string($0) } ?? "", callId: c.id, limit: limit)
                        case .failure(let error):
                            call.status = error.status
                            call.error = error.description
                            body = error.description
                        }
                    }
                    call.durationMs = state.elapsedMs - started
                    onEvent(.callFinished(turn: turn, call: call))
                    let message = "<tool_result name=\"\(c.name)\" status=\"\(call.status)\">\n\(body)\n</tool_result>"
                    return (i, Outcome(call: call, message: message))
                }
            }
            var out = [Outcome?](repeating: nil, count: calls.count)
            for await (i, o) in group { out[i] = o }
            return out.map { $0! }
        }
    }

    private func callTool(_ name: String, _ args: JSONValue, _ context: ToolContext) async -> Result<ToolOutput, ToolError> {
        do { return .success(try await registry.call(name, args, context: context.with(progress: nil), timeoutMs: options.callTimeoutMs)) }
        catch { return .failure(error) }
    }

    /// Models often wrap JSON answers in a Markdown code fence.
    static func stripFence(_ s: String) -> String {
        var t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.hasPrefix("```") {
            if let nl = t.firstIndex(of: "\n") { t = String(t[t.index(after: nl)...]) }
            if t.hasSuffix("```") { t = String(t.dropLast(3)) }
        }
        return t
    }
}

/// Shared between the run and its deadline timer.
final class RunState: @unchecked Sendable {
    let start = Date()
    private let lock = NSLock()
    private var _deadlinePassed = false
    init(model: String) {}
    var deadlinePassed: Bool {
        get { lock.withLock { _deadlinePassed } }
        set { lock.withLock { _deadlinePassed = newValue } }
    }
    var elapsedMs: Double { Date().timeIntervalSince(start) * 1000 }
}

extension ToolDescriptor {
    /// The tool as a model sees it; example requests come from the descriptor's `_meta`.
    public var toolSpec: ToolSpec {
        let examples = (json["_meta"]?["atelier/examples"]?.arrayValue ?? []).compactMap(\.stringValue)
        return ToolSpec(name: name, description: description, parameters: inputSchema, examples: examples)
    }
}
