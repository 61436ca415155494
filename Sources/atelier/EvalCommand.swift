import ArgumentParser
import Foundation
import JSONSchema
import Orchestrator
import Planner
import Tools

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Measure Atelier's components on labelled sets.",
                                                    subcommands: [PlannerEval.self])
}

/// `atelier eval planner FILE.jsonl`: each line is a request with the calls a good planner makes on
/// its first turn; reports tool-selection accuracy, exact argument match and schema validity.
struct PlannerEval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "planner",
        abstract: "Evaluate a planner's first-turn tool calls against expected ones.",
        discussion: """
        Each line: {"id", "family", "request", "expected": [{"name", "arguments": {only the arguments graded exactly}}]}. \
        An empty "expected" means no tool should be called. Calls are planned (dry run), never executed.
        """)

    @Argument(help: "Evaluation set (JSON lines).") var file: String
    @Option(name: .long, help: "Folder the requests' paths are relative to (the tools' root).") var root: String?
    @Option(name: .long, help: "Planner: local, xai, openai or custom.") var provider: String?
    @Option(name: .long, help: "OpenAI-compatible base URL.") var baseUrl: String?
    @Option(name: .long, help: "Model name at the provider.") var model: String?
    @Option(name: .long, help: "Environment variable holding the API key.") var apiKeyEnv: String?
    @Option(name: .long, help: "Grade another planner's calls instead of running one: JSON lines {id, calls: [{name, arguments}]}, optional \"planner\" name.") var predictions: String?
    @Flag(name: .long, help: "Print one JSON object with the figures and every request's outcome.") var json = false
    @OptionGroup var common: CommonOptions

    struct Item {
        let id: String
        let family: String
        let request: String
        let expected: [(name: String, arguments: JSONObject)]
    }

    struct Outcome {
        let item: Item
        let calls: [AgentTrace.Call]
        let toolsRight: Bool
        let argsExpected: Int
        let argsMatched: Int
        let validCalls: Int
        let unavailable: [String]
        let ms: Double
    }

    func run() async throws {
        let items = try Self.load(file)
        var config = try common.loadConfig() ?? AtelierConfig()
        if let root { config.roots = [URL(fileURLWithPath: root).standardizedFileURL.path] }
        // A private retrieval store: planning never touches the user's.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-eval-\(UUID().uuidString).sqlite").path
        config.ragDatabase = scratch
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let registry = try common.makeRegistry(config)
        if let predictions {
            let (name, predicted) = try Self.loadPredictions(predictions)
            let outcomes = items.map { item -> Outcome in
                let calls = (predicted[item.id]?.calls ?? []).map { c -> AgentTrace.Call in
                    var status = "planned", problem: String?
                    do { try registry.validate(c.name, c.arguments) } catch let e as ToolError { status = "invalid"; problem = e.description } catch { status = "invalid" }
                    return AgentTrace.Call(id: "", name: c.name, arguments: c.arguments, status: status, result: nil, error: problem, startedMs: 0, durationMs: 0)
                }
                return Self.grade(item, calls, ms: predicted[item.id]?.ms ?? 0, available: Set(registry.names))
            }
            let report = Self.report(outcomes, model: name)
            if json { printJSON(report) } else { print(Self.table(report)) }
            return
        }
        let languageModel: LanguageModel
        do {
            languageModel = try PlannerFactory(config: config.planner, roots: registry.roots)
                .make(ModelChoice(provider: provider, baseURL: baseUrl, model: model, apiKeyEnv: apiKeyEnv))
        } catch { throw ValidationError("\(error)") }
        var o = AgentOptions()
        o.dryRun = true
        o.maxTurns = 1
        let agent = Agent(model: languageModel, registry: registry, options: o)
        let available = Set(registry.names)
        var outcomes: [Outcome] = []
        let router = (languageModel as? OfflinePlanner)?.router
        // The tools' own embeddings (and the models) are made once, on the first request: warm them outside the timings.
        if router != nil, let first = items.first { _ = await agent.run(prompt: first.request) }
        var routerMs: [Double] = []
        for item in items {
            let t0 = Date(), r0 = router?.seconds ?? 0
            let r = await agent.run(prompt: item.request)
            let ms = Date().timeIntervalSince(t0) * 1000
            if let router { routerMs.append((router.seconds - r0) * 1000) }
            let calls = r.trace.turns.first?.calls ?? []
            outcomes.append(Self.grade(item, calls, ms: ms, available: available))
            if !json {
                let o = outcomes.last!
                FileHandle.standardError.write(Data("\(o.toolsRight ? "✓" : "✗") \(item.id): \(calls.map { "\($0.name) \(JSONWriter.string($0.arguments))" }.joined(separator: " | "))\n".utf8))
            }
        }
        var report = Self.report(outcomes, model: languageModel.name)
        if !routerMs.isEmpty, case .object(var o) = report {
            let sorted = routerMs.sorted()
            o["router"] = ["meanMs": .number(JSONNumber((sorted.reduce(0, +) / Double(sorted.count) * 10).rounded() / 10)),
                           "maxMs": .number(JSONNumber((sorted.last! * 10).rounded() / 10))]
            report = .object(o)
        }
        if json { printJSON(report) } else {
            print(Self.table(report))
            if let r = report["router"] { print("router (embedding the clauses, ranking the tools): mean \(r["meanMs"]!) ms, max \(r["maxMs"]!) ms per request") }
        }
    }

    static func load(_ path: String) throws -> [Item] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
        var items: [Item] = []
        for (n, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let v: JSONValue
            do { v = try JSONParser.parse(String(line)) } catch { throw ValidationError("\(path):\(n + 1): \(error)") }
            guard let id = v["id"]?.stringValue, let request = v["request"]?.stringValue, let expected = v["expected"]?.arrayValue else {
                throw ValidationError("\(path):\(n + 1): each line needs id, request and expected")
            }
            items.append(Item(id: id, family: v["family"]?.stringValue ?? "other", request: request,
                              expected: expected.map { ($0["name"]?.stringValue ?? "", $0["arguments"]?.objectValue ?? JSONObject()) }))
        }
        return items
    }

    static func loadPredictions(_ path: String) throws -> (String, [String: (calls: [(name: String, arguments: JSONValue)], ms: Double)]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
        var name = "external"
        var out: [String: (calls: [(name: String, arguments: JSONValue)], ms: Double)] = [:]
        for (n, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let v: JSONValue
            do { v = try JSONParser.parse(String(line)) } catch { throw ValidationError("\(path):\(n + 1): \(error)") }
            if let p = v["planner"]?.stringValue { name = p }
            guard let id = v["id"]?.stringValue else { continue }
            let calls = (v["calls"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? "", $0["arguments"] ?? .object(JSONObject())) }
            out[id] = (calls, v["ms"]?.doubleValue ?? 0)
        }
        return (name, out)
    }

    /// Paths compare without "./" and trailing slashes; numbers by value.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return norm(x) == norm(y)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.number(let x), .number(let y)): return x.double == y.double
        default: return a == b
        }
    }

    static func norm(_ s: String) -> String {
        var t = s
        while t.hasPrefix("./") { t.removeFirst(2) }
        while t.count > 1, t.hasSuffix("/") { t.removeLast() }
        return t
    }

    static func grade(_ item: Item, _ calls: [AgentTrace.Call], ms: Double, available: Set<String>) -> Outcome {
        let toolsRight = calls.map(\.name).sorted() == item.expected.map(\.name).sorted()
        var remaining = calls
        var expectedArgs = 0, matched = 0
        for e in item.expected {
            expectedArgs += e.arguments.count
            guard let i = remaining.firstIndex(where: { $0.name == e.name }) else { continue }
            let got = remaining.remove(at: i).arguments
            for (k, v) in e.arguments where got[k].map({ same($0, v) }) ?? false { matched += 1 }
        }
        return Outcome(item: item, calls: calls, toolsRight: toolsRight, argsExpected: expectedArgs, argsMatched: matched,
                       validCalls: calls.filter { $0.status == "planned" }.count,
                       unavailable: item.expected.map(\.name).filter { !available.contains($0) }, ms: ms)
    }

    static func report(_ outcomes: [Outcome], model: String) -> JSONValue {
        func figures(_ os: [Outcome]) -> JSONValue {
            let calls = os.reduce(0) { $0 + $1.calls.count }
            let argReqs = os.filter { $0.argsExpected > 0 }
            return [
                "requests": JSONValue(os.count),
                "toolSelection": ratio(os.filter(\.toolsRight).count, os.count),
                "argumentsExact": ratio(argReqs.filter { $0.toolsRight && $0.argsMatched == $0.argsExpected }.count, argReqs.count),
                "argumentValues": ratio(os.reduce(0) { $0 + $1.argsMatched }, os.reduce(0) { $0 + $1.argsExpected }),
                "schemaValid": ratio(os.reduce(0) { $0 + $1.validCalls }, calls),
                "calls": JSONValue(calls),
                "meanMs": .number(JSONNumber((os.map(\.ms).reduce(0, +) / Double(max(1, os.count)) * 10).rounded() / 10)),
            ]
        }
        let families = Dictionary(grouping: outcomes, by: \.item.family)
        var perFamily = JSONObject()
        for f in families.keys.sorted() { perFamily[f] = figures(families[f]!) }
        let ready = outcomes.filter(\.unavailable.isEmpty)
        return [
            "planner": .string(model),
            "all": figures(outcomes),
            "toolsAvailable": figures(ready),
            "families": .object(perFamily),
            "requests": .array(outcomes.map { o in
                [
                    "id": .string(o.item.id), "family": .string(o.item.family), "toolsRight": .bool(o.toolsRight),
                    "argsMatched": JSONValue(o.argsMatched), "argsExpected": JSONValue(o.argsExpected),
                    "calls": .array(o.calls.map { ["name": .string($0.name), "arguments": $0.arguments, "status": .string($0.status)] }),
                    "unavailableTools": .array(o.unavailable.map { .string($0) }),
                ]
            }),
        ]
    }

    static func ratio(_ a: Int, _ b: Int) -> JSONValue {
        b == 0 ? .null : .number(JSONNumber((Double(a) / Double(b) * 1000).rounded() / 1000))
    }

    static func table(_ r: JSONValue) -> String {
        func pct(_ v: JSONValue?) -> String { v?.doubleValue.map { String(format: "%.1f%%", $0 * 100) } ?? "—" }
        var lines = ["planner: \(r["planner"]?.stringValue ?? "?")",
                     "| set | requests | tool selection | arguments exact | argument values | schema-valid calls | mean ms |",
                     "|---|---:|---:|---:|---:|---:|---:|"]
        func row(_ name: String, _ f: JSONValue?) {
            guard let f else { return }
            lines.append("| \(name) | \(f["requests"]?.intValue ?? 0) | \(pct(f["toolSelection"])) | \(pct(f["argumentsExact"])) | \(pct(f["argumentValues"])) | \(pct(f["schemaValid"])) | \(f["meanMs"]?.doubleValue.map { String(format: "%.1f", $0) } ?? "—") |")
        }
        row("all", r["all"])
        row("tools available", r["toolsAvailable"])
        for (k, v) in r["families"]?.objectValue ?? JSONObject() { row(k, v) }
        return lines.joined(separator: "\n")
    }
}
