import Foundation
import JSONSchema

/// Runs plans: every call as soon as its dependencies are done, at most `maxParallel` at once, each
/// with its own deadline and cancellation. One call failing never fails the others; calls that depend
/// on a failed call are skipped. Results come back in call order.
public struct Executor: Sendable {
    public let registry: ToolRegistry

    public init(registry: ToolRegistry) { self.registry = registry }

    public struct CallResult: Sendable {
        public let id: String
        public let name: String
        public let status: String
        public let output: ToolOutput?
        public let error: String?
        public let durationMs: Double

        public var json: JSONValue {
            var o = JSONObject([("id", .string(id)), ("name", .string(name)), ("status", .string(status))])
            if let output {
                if let s = output.structured { o["result"] = s }
                if let t = output.text { o["text"] = .string(t) }
            }
            if let error { o["error"] = .string(error) }
            o["durationMs"] = .number(JSONNumber((durationMs * 10).rounded() / 10))
            return .object(o)
        }
    }

    /// Runs the plan. `progress` sees (finished calls, total calls, message).
    public func run(_ plan: Plan, context: ToolContext = .init()) async -> [CallResult] {
        let gate = AsyncSemaphore(plan.maxParallel)
        let board = ResultBoard(count: plan.calls.count)
        let total = Double(plan.calls.count)
        let index = Dictionary(uniqueKeysWithValues: plan.calls.enumerated().map { ($1.id, $0) })
        await withTaskGroup(of: Void.self) { group in
            for (i, call) in plan.calls.enumerated() {
                group.addTask {
                    // Wait for dependencies (they are earlier or later in the list; the DAG is acyclic).
                    var outputs: [String: JSONValue] = [:]
                    for d in call.dependencies {
                        let r = await board.wait(index[d]!)
                        guard r.status == "ok", let out = r.output else {
                            await board.set(i, CallResult(id: call.id, name: call.name, status: "skipped", output: nil,
                                                          error: "skipped: call '\(d)' it depends on ended with status '\(r.status)'", durationMs: 0))
                            return
                        }
                        outputs[d] = out.value
                    }
                    if Task.isCancelled {
                        await board.set(i, CallResult(id: call.id, name: call.name, status: "cancelled", output: nil, error: ToolError.cancelled.description, durationMs: 0))
                        return
                    }
                    await gate.acquire()
                    let start = Date()
                    var result: CallResult
                    do {
                        let args = try Plan.substitute(call.arguments, outputs: outputs)
                        let out = try await registry.call(call.name, args, context: context.with(progress: nil), timeoutMs: plan.timeoutMs)
                        result = CallResult(id: call.id, name: call.name, status: "ok", output: out, error: nil, durationMs: Date().timeIntervalSince(start) * 1000)
                    } catch let e as ToolError {
                        result = CallResult(id: call.id, name: call.name, status: e.status, output: nil, error: e.description, durationMs: Date().timeIntervalSince(start) * 1000)
                    } catch {
                        result = CallResult(id: call.id, name: call.name, status: "error", output: nil, error: "\(error)", durationMs: Date().timeIntervalSince(start) * 1000)
                    }
                    await gate.release()
                    let done = await board.set(i, result)
                    context.progress(Double(done), total: total, message: "\(call.id) (\(call.name)): \(result.status)")
                }
            }
        }
        return await board.all()
    }
}

/// Bounded concurrency without blocking threads.
actor AsyncSemaphore {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { available = count }

    func acquire() async {
        if available > 0 { available -= 1; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { available += 1 } else { waiters.removeFirst().resume() }
    }
}

/// Results by call index; dependents wait on it.
actor ResultBoard {
    private var results: [Executor.CallResult?]
    private var waiting: [Int: [CheckedContinuation<Executor.CallResult, Never>]] = [:]
    private var finished = 0

    init(count: Int) { results = Array(repeating: nil, count: count) }

    @discardableResult
    func set(_ i: Int, _ r: Executor.CallResult) -> Int {
        results[i] = r
        finished += 1
        for w in waiting.removeValue(forKey: i) ?? [] { w.resume(returning: r) }
        return finished
    }

    func wait(_ i: Int) async -> Executor.CallResult {
        if let r = results[i] { return r }
        return await withCheckedContinuation { waiting[i, default: []].append($0) }
    }

    func all() -> [Executor.CallResult] { results.map { $0! } }
}
