import Foundation
import JSONSchema
import Orchestrator
import Planner
import RPC

/// The Model Context Protocol over our JSON-RPC layer, both eras on one endpoint:
/// - legacy handshake (2025-06-18, 2025-11-25): `initialize`, `notifications/initialized`, `ping`;
/// - stateless 2026-07-28: `server/discover`, and every request carries its protocol version and client
///   capabilities in `_meta` (`io.modelcontextprotocol/protocolVersion`, `…/clientCapabilities`).
/// Atelier's own methods sit beside MCP's: `plan/execute` and `jobs/start|list|get|cancel`.
public final class MCPServer: RPCHandler, @unchecked Sendable {
    public static let legacyVersions = ["2025-11-25", "2025-06-18"]
    public static let statelessVersions = ["2026-07-28"]
    public static let metaVersionKey = "io.modelcontextprotocol/protocolVersion"
    public static let metaCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    public static let metaClientInfoKey = "io.modelcontextprotocol/clientInfo"
    public static let metaServerInfoKey = "io.modelcontextprotocol/serverInfo"
    static let pageSize = 100
    /// ttlMs and cacheScope per cacheable method (2026-07-28): lists of fixed things are public and long-lived;
    /// resources are read from the server's state, so they are private and not cached.
    static let cachePolicy: [String: (Int, String)] = [
        "server/discover": (3_600_000, "public"), "tools/list": (60_000, "public"), "prompts/list": (600_000, "public"),
        "resources/list": (0, "private"), "resources/templates/list": (0, "private"), "resources/read": (0, "private"),
    ]
    /// Atelier's own error codes sit outside JSON-RPC's and MCP's reserved range (-32768…-32000).
    public static let jobsUnavailableCode = -31003
    public static let plannerUnavailableCode = -31004

    public let registry: ToolRegistry
    public let executor: Executor
    public let jobs: JobManager?
    public let name: String
    public let version: String
    let prompts: PromptCatalog
    let resources: ResourceCatalog

    /// Makes the model for `agent/run`; without it the method answers that no planner is configured.
    public let modelResolver: ModelResolver?

    public init(registry: ToolRegistry, jobs: JobManager?, name: String = "atelier", version: String, modelResolver: ModelResolver? = nil) {
        self.registry = registry
        self.modelResolver = modelResolver
        self.executor = Executor(registry: registry)
        self.jobs = jobs
        self.name = name
        self.version = version
        self.prompts = PromptCatalog(registry: registry)
        self.resources = ResourceCatalog(registry: registry)
    }

    var serverInfo: JSONValue { .object(JSONObject([("name", .string(name)), ("version", .string(version))])) }

    var capabilities: JSONValue {
        .object(JSONObject([
            ("tools", .object(JSONObject([("listChanged", false)]))),
            ("resources", .object(JSONObject())),
            ("prompts", .object(JSONObject())),
        ]))
    }

    // MARK: RPCHandler

    public func notify(_ request: RPCRequest, connection: RPCConnection) {
        switch request.method {
        case "notifications/initialized":
            connection[state: "mcp.initialized"] = .bool(true)
        case "notifications/cancelled":
            if let raw = request.param("requestId"), let id = RPCID(raw) { connection.cancel(requestID: id) }
        default:
            break  // Unknown notifications are ignored, as JSON-RPC requires.
        }
    }

    public func handle(_ request: RPCRequest, context: RPCContext) async throws -> JSONValue {
        let meta = request.param("_meta")?.objectValue
        var stateless = false
        if let v = meta?[Self.metaVersionKey] {
            guard let s = v.stringValue, Self.statelessVersions.contains(s) || Self.legacyVersions.contains(s) else {
                throw RPCError(code: -32022, message: "Unsupported protocol version",
                               data: .object(JSONObject([("supported", .array((Self.statelessVersions + Self.legacyVersions).map { .string($0) })),
                                                         ("requested", v)])))
            }
            stateless = Self.statelessVersions.contains(s)
            if stateless && meta?[Self.metaCapabilitiesKey]?.objectValue == nil {
                throw RPCError.invalidParams("_meta must carry '\(Self.metaCapabilitiesKey)' (an object; {} for none) in protocol version \(s)")
            }
        }
        var result = try await dispatch(request, context: context, stateless: stateless)
        if stateless, case .object(var o) = result {
            if o["resultType"] == nil { o["resultType"] = "complete" }
            // Results the 2026-07-28 era lets clients cache must say for how long and for whom.
            if let (ttl, scope) = Self.cachePolicy[request.method], o["ttlMs"] == nil {
                o["ttlMs"] = JSONValue(ttl)
                o["cacheScope"] = .string(scope)
            }
            result = .object(o)
        }
        return result
    }

    func dispatch(_ request: RPCRequest, context: RPCContext, stateless: Bool) async throws -> JSONValue {
        switch request.method {
        case "initialize": return initialize(request, context.connection)
        case "server/discover": return discover()
        case "ping": return .object(JSONObject())
        case "tools/list": return try listTools(request)
        case "tools/call": return try await callTool(request, context)
        case "resources/list": return try page(resources.list(), key: "resources", request)
        case "resources/templates/list": return .object(JSONObject([("resourceTemplates", .array([]))]))
        case "resources/read": return try resources.read(request, stateless: stateless)
        case "prompts/list": return try page(prompts.list(), key: "prompts", request)
        case "prompts/get": return try prompts.get(request)
        case "plan/execute": return try await executePlan(request, context)
        case "agent/run": return try await runAgent(request, context)
        case "jobs/start": return try startJob(request, context)
        case "jobs/list": return try listJobs(request)
        case "jobs/get": return try getJob(request)
        case "jobs/cancel": return try cancelJob(request)
        default: throw RPCError.methodNotFound(request.method)
        }
    }

    // MARK: Lifecycle

    func initialize(_ request: RPCRequest, _ connection: RPCConnection) -> JSONValue {
        let requested = request.param("protocolVersion")?.stringValue ?? ""
        // Negotiation: echo a version we speak, else offer our latest legacy one.
        let chosen = Self.legacyVersions.contains(requested) ? requested : Self.legacyVersions[0]
        connection[state: "mcp.protocolVersion"] = .string(chosen)
        return .object(JSONObject([
            ("protocolVersion", .string(chosen)),
            ("capabilities", capabilities),
            ("serverInfo", serverInfo),
            ("instructions", .string("Atelier runs tools (see tools/list) concurrently with JSON-Schema-validated arguments. Use plan/execute for several calls at once.")),
        ]))
    }

    func discover() -> JSONValue {
        .object(JSONObject([
            ("supportedVersions", .array((Self.statelessVersions + Self.legacyVersions).map { .string($0) })),
            ("capabilities", capabilities),
            ("_meta", .object(JSONObject([(Self.metaServerInfoKey, serverInfo)]))),
        ]))
    }

    // MARK: Tools

    func page(_ items: [JSONValue], key: String, _ request: RPCRequest) throws -> JSONValue {
        var start = 0
        if let c = request.param("cursor"), !c.isNull {
            guard let s = c.stringValue, let decoded = Cursor.decode(s), decoded <= items.count else {
                throw RPCError.invalidParams("unknown or expired cursor; start again without one")
            }
            start = decoded
        }
        let end = min(items.count, start + Self.pageSize)
        var o = JSONObject([(key, .array(Array(items[start..<end])))])
        if end < items.count { o["nextCursor"] = .string(Cursor.encode(end)) }
        return .object(o)
    }

    func listTools(_ request: RPCRequest) throws -> JSONValue {
        try page(registry.descriptors.map(\.json), key: "tools", request)
    }

    func callTool(_ request: RPCRequest, _ context: RPCContext) async throws -> JSONValue {
        guard let name = request.param("name")?.stringValue else { throw RPCError.invalidParams("'name' must be the tool's name") }
        guard registry.descriptor(name) != nil else {
            throw RPCError.invalidParams("unknown tool '\(name)'", data: .object(JSONObject([("tools", .array(registry.names.map { .string($0) }))])))
        }
        let args = request.param("arguments") ?? .object(JSONObject())
        let ctx = ToolContext(progress: progressSink(request, context))
        do {
            let out = try await registry.call(name, args, context: ctx)
            return Self.toolResult(out)
        } catch {
            if case .cancelled = error { throw CancellationError() }
            return Self.toolError(error)
        }
    }

    static func toolResult(_ out: ToolOutput) -> JSONValue {
        var o = JSONObject()
        let text = out.text ?? out.structured.map { JSONWriter.string($0) } ?? ""
        o["content"] = .array([.object(JSONObject([("type", "text"), ("text", .string(text))]))])
        if let s = out.structured { o["structuredContent"] = s }
        o["isError"] = false
        return .object(o)
    }

    static func toolError(_ error: ToolError) -> JSONValue {
        .object(JSONObject([
            ("content", .array([.object(JSONObject([("type", "text"), ("text", .string(error.description))]))])),
            ("isError", true),
        ]))
    }

    /// Progress notifications for a request that gave `_meta.progressToken`; strictly increasing.
    func progressSink(_ request: RPCRequest, _ context: RPCContext) -> ToolContext.ProgressSink? {
        guard let token = request.param("_meta")?["progressToken"], !token.isNull else { return nil }
        let last = ProgressState()
        return { progress, total, message in
            guard last.advance(to: progress) else { return }
            var p = JSONObject([("progressToken", token), ("progress", .number(JSONNumber(progress)))])
            if let total { p["total"] = .number(JSONNumber(total)) }
            if let message { p["message"] = .string(message) }
            context.notify("notifications/progress", .object(p))
        }
    }

    // MARK: Plans and jobs

    func executePlan(_ request: RPCRequest, _ context: RPCContext) async throws -> JSONValue {
        guard let params = request.params, params.objectValue != nil else { throw RPCError.invalidParams("expected {calls:[{id, name, arguments}], maxParallel?, timeoutMs?}") }
        let plan: Plan
        do { plan = try Plan(json: params) } catch { throw RPCError.invalidParams(error.description) }
        let start = Date()
        let results = await executor.run(plan, context: ToolContext(progress: progressSink(request, context)))
        if Task.isCancelled { throw CancellationError() }
        let ok = results.filter { $0.status == "ok" }.count
        return .object(JSONObject([
            ("results", .array(results.map(\.json))),
            ("succeeded", JSONValue(ok)), ("failed", JSONValue(results.count - ok)),
            ("durationMs", .number(JSONNumber((Date().timeIntervalSince(start) * 10000).rounded() / 10))),
        ]))
    }

    /// `agent/run`: the planner loop. Parameters are those of the `ask` tool; each step is sent as an
    /// `agent/event` notification (and as `notifications/progress` when a progress token is given).
    func runAgent(_ request: RPCRequest, _ context: RPCContext) async throws -> JSONValue {
        guard var params = request.params?.objectValue else { throw RPCError.invalidParams("expected {prompt, provider?, model?, tools?, maxTurns?, responseSchema?, attachments?, …}") }
        params["_meta"] = nil
        let wantDeltas = params["streamDeltas"]?.boolValue ?? false
        params["streamDeltas"] = nil
        do { try registry.validate("ask", .object(params)) } catch {
            if case .invalidArguments(_, let errs) = error {
                throw RPCError.invalidParams(errs.map(\.description).joined(separator: "; "))
            }
            throw RPCError.invalidParams(error.description)
        }
        guard let modelResolver else { throw RPCError(code: Self.plannerUnavailableCode, message: "no planner is configured on this server") }
        let agentRequest = AgentRequest(json: .object(params))
        let model: LanguageModel
        do { model = try modelResolver(agentRequest.choice) } catch {
            throw RPCError(code: Self.plannerUnavailableCode, message: "planner unavailable: \(error)")
        }
        let progress = progressSink(request, context)
        let steps = StepCounter()
        let result = await Agent(model: model, registry: registry, options: agentRequest.options)
            .run(prompt: agentRequest.prompt, attachments: agentRequest.attachments) { event in
                if case .delta = event, !wantDeltas { return }
                var e = event.json.objectValue ?? JSONObject()
                if let id = request.id { e["requestId"] = id.json }
                context.notify("agent/event", .object(e))
                if let line = event.summary, let progress { progress(steps.next(), nil, line) }
            }
        if result.stopReason == .cancelled, Task.isCancelled { throw CancellationError() }
        return result.json
    }

    func requireJobs() throws -> JobManager {
        guard let jobs else { throw RPCError(code: Self.jobsUnavailableCode, message: "jobs are not available: the job database could not be opened") }
        return jobs
    }

    func startJob(_ request: RPCRequest, _ context: RPCContext) throws -> JSONValue {
        let jobs = try requireJobs()
        guard let name = request.param("name")?.stringValue else { throw RPCError.invalidParams("'name' must be a tool name") }
        let args = request.param("arguments") ?? .object(JSONObject())
        let token = request.param("_meta")?["progressToken"]
        let connection = context.connection
        let last = ProgressState()
        do {
            let rec = try jobs.start(tool: name, arguments: args) { rec in
                guard let token, !token.isNull else { return }
                if rec.status == "running", let p = rec.progress, last.advance(to: p) {
                    var o = JSONObject([("progressToken", token), ("progress", .number(JSONNumber(p)))])
                    if let t = rec.total { o["total"] = .number(JSONNumber(t)) }
                    if let m = rec.message { o["message"] = .string(m) }
                    connection.send(RPCEncoder.notification("notifications/progress", .object(o)))
                }
            }
            return rec.json
        } catch {
            throw RPCError.invalidParams(error.description)
        }
    }

    func listJobs(_ request: RPCRequest) throws -> JSONValue {
        let jobs = try requireJobs()
        let status = request.param("status")?.stringValue
        let limit = request.param("limit")?.intValue ?? 100
        return .object(JSONObject([("jobs", .array(jobs.list(status: status, limit: limit).map(\.json)))]))
    }

    func getJob(_ request: RPCRequest) throws -> JSONValue {
        let jobs = try requireJobs()
        guard let id = request.param("id", position: 0)?.stringValue else { throw RPCError.invalidParams("'id' must be a job id") }
        guard let rec = jobs.get(id) else { throw RPCError.invalidParams("no job with id '\(id)'") }
        return rec.json
    }

    func cancelJob(_ request: RPCRequest) throws -> JSONValue {
        let jobs = try requireJobs()
        guard let id = request.param("id", position: 0)?.stringValue else { throw RPCError.invalidParams("'id' must be a job id") }
        guard let rec = jobs.get(id) else { throw RPCError.invalidParams("no job with id '\(id)'") }
        let cancelled = rec.status == "running" && jobs.cancel(id)
        return .object(JSONObject([("id", .string(id)), ("cancelled", .bool(cancelled)), ("status", .string(cancelled ? "cancelling" : rec.status))]))
    }
}

/// Keeps progress strictly increasing, as MCP requires, across concurrent reporters.
final class ProgressState: @unchecked Sendable {
    private let lock = NSLock()
    private var last = -Double.infinity

    func advance(to value: Double) -> Bool {
        lock.withLock {
            guard value > last else { return false }
            last = value
            return true
        }
    }
}

/// Opaque pagination cursors: a versioned offset, base64-encoded.
enum Cursor {
    static func encode(_ offset: Int) -> String { Data("atelier:v1:\(offset)".utf8).base64EncodedString() }

    static func decode(_ s: String) -> Int? {
        guard let d = Data(base64Encoded: s), let text = String(data: d, encoding: .utf8), text.hasPrefix("atelier:v1:") else { return nil }
        return Int(text.dropFirst("atelier:v1:".count)).flatMap { $0 >= 0 ? $0 : nil }
    }
}
