import Foundation
import JSONSchema

/// The tools the server offers, with their compiled schemas. Every call goes through `call`, which
/// validates arguments before the tool runs and structured output after, and applies the deadline.
public final class ToolRegistry: @unchecked Sendable {
    private struct Entry {
        let tool: Tool
        let input: Schema
        let output: Schema?
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    public let roots: [URL]
    /// Deadline for calls that give none.
    public var defaultTimeoutMs: Int

    public enum Failure: Error, CustomStringConvertible {
        case duplicate(String)
        case badSchema(tool: String, SchemaError)
        public var description: String {
            switch self {
            case .duplicate(let n): return "a tool named '\(n)' is already registered"
            case .badSchema(let t, let e): return "tool '\(t)' has an invalid schema: \(e)"
            }
        }
    }

    public init(roots: [URL] = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)], defaultTimeoutMs: Int = 600_000) {
        self.roots = roots
        self.defaultTimeoutMs = defaultTimeoutMs
    }

    public func register(_ tool: Tool) throws {
        let d = tool.descriptor
        let input: Schema, output: Schema?
        do {
            input = try Schema(d.inputSchema)
            output = try d.outputSchema.map { try Schema($0) }
        } catch let e as SchemaError { throw Failure.badSchema(tool: d.name, e) }
        try lock.withLock {
            guard entries[d.name] == nil else { throw Failure.duplicate(d.name) }
            entries[d.name] = Entry(tool: tool, input: input, output: output)
            order.append(d.name)
        }
    }

    public var descriptors: [ToolDescriptor] {
        lock.withLock { order.compactMap { entries[$0]?.tool.descriptor } }
    }

    public var names: [String] { lock.withLock { order } }

    private var providers: [ResourceProvider] = []

    /// Adds a source of MCP resources (collections and the like).
    public func addResourceProvider(_ p: ResourceProvider) { lock.withLock { providers.append(p) } }
    public var resourceProviders: [ResourceProvider] { lock.withLock { providers } }

    public func descriptor(_ name: String) -> ToolDescriptor? {
        lock.withLock { entries[name]?.tool.descriptor }
    }

    /// Validates the arguments of a call without running it.
    public func validate(_ name: String, _ arguments: JSONValue) throws(ToolError) {
        guard let e = lock.withLock({ entries[name] }) else { throw .unknownTool(name, known: names) }
        let r = e.input.validate(arguments)
        if !r.valid { throw .invalidArguments(tool: name, errors: r.errors) }
    }

    /// Runs one call: validate, run under a deadline, validate the structured output.
    public func call(_ name: String, _ arguments: JSONValue, context: ToolContext = .init(), timeoutMs: Int? = nil) async throws(ToolError) -> ToolOutput {
        guard let e = lock.withLock({ entries[name] }) else { throw .unknownTool(name, known: names) }
        let r = e.input.validate(arguments)
        if !r.valid { throw .invalidArguments(tool: name, errors: r.errors) }
        let ms = timeoutMs ?? defaultTimeoutMs
        let deadline = Date().addingTimeInterval(Double(ms) / 1000)
        let ctx = ToolContext(progress: { p, t, m in context.progress(p, total: t, message: m) },
                              deadline: min(deadline, context.deadline ?? deadline),
                              roots: context.roots.isEmpty ? roots : context.roots)
        let out = try await Self.runWithDeadline(e.tool, arguments, ctx, ms: ms)
        if let schema = e.output {
            guard let s = out.structured else {
                throw .invalidOutput(tool: name, errors: [ValidationError(instanceLocation: "", keywordLocation: "", absoluteKeywordLocation: nil, message: "the tool returned no structured content")])
            }
            let v = schema.validate(s)
            if !v.valid { throw .invalidOutput(tool: name, errors: v.errors) }
        }
        return out
    }

    /// Runs the tool in its own task and cancels it at the deadline. A dispatch timer is much cheaper
    /// than a racing sleep task, and this is on every call's path.
    private static func runWithDeadline(_ tool: Tool, _ args: JSONValue, _ ctx: ToolContext, ms: Int) async throws(ToolError) -> ToolOutput {
        let name = tool.descriptor.name
        if tool.isBoundedCompute {
            do { return try await tool.run(args, context: ctx) }
            catch let e as ToolError { throw e }
            catch is CancellationError { throw .cancelled }
            catch { throw .failed("\(error)") }
        }
        let timedOut = OneWaySwitch()
        // Off the caller's executor (it may be an I/O thread): tools may block or run long.
        let work = Task(executorPreference: globalConcurrentExecutor) { () async -> Result<ToolOutput, ToolError> in
            do { return .success(try await tool.run(args, context: ctx)) }
            catch let e as ToolError { return .failure(e) }
            catch is CancellationError { return .failure(timedOut.isSet ? .timedOut(tool: name, ms: ms) : .cancelled) }
            catch { return .failure(.failed("\(error)")) }
        }
        let timer = DispatchWorkItem { timedOut.set(); work.cancel() }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(min(ms, Int(Int32.max))), execute: timer)
        let outcome = await withTaskCancellationHandler { await work.value } onCancel: { work.cancel() }
        timer.cancel()
        if case .failure(let e) = outcome, timedOut.isSet, case .cancelled = e { throw .timedOut(tool: name, ms: ms) }
        if Task.isCancelled, case .failure = outcome { throw .cancelled }
        return try outcome.get()
    }
}

/// A thread-safe one-way switch.
public final class OneWaySwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    public init() {}
    public func set() { lock.withLock { value = true } }
    public var isSet: Bool { lock.withLock { value } }
}
