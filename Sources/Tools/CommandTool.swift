import Foundation
import JSONSchema
import Orchestrator

/// A program declared in the config as a tool. Validated arguments fill the argv template and are
/// passed to the program directly (posix_spawn via Foundation's Process), never through a shell.
public struct CommandTool: Tool {
    public let descriptor: ToolDescriptor
    let template: [String]
    let outputIsJSON: Bool
    let workingDirectory: String?
    let environment: [String: String]?

    public init(spec: AtelierConfig.CommandToolSpec, baseDirectory: String?) throws {
        var d = JSONObject([("name", .string(spec.name)), ("description", .string(spec.description)), ("inputSchema", spec.inputSchema)])
        if let t = spec.title { d["title"] = .string(t) }
        if let o = spec.outputSchema { d["outputSchema"] = o }
        descriptor = try ToolDescriptor(json: .object(d))
        template = spec.command
        outputIsJSON = spec.output == "json"
        workingDirectory = spec.workingDirectory.map { w in
            w.hasPrefix("/") ? w : URL(fileURLWithPath: baseDirectory ?? ".").appendingPathComponent(w).path
        }
        environment = spec.env
        if outputIsJSON == false && spec.outputSchema != nil {
            throw ToolDescriptor.Failure.invalid("command tool '\(spec.name)': an outputSchema needs output: json")
        }
    }

    /// The text of a value as one argv element.
    static func text(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .number(let n): return n.text
        case .bool(let b): return b ? "true" : "false"
        case .null: return ""
        default: return JSONWriter.string(v)
        }
    }

    /// Fills the template: "{{x}}" alone → the value (arrays become several elements; absent → dropped);
    /// "{{x}}" inside a longer element → the value's text.
    public static func expand(_ template: [String], _ args: JSONValue) -> [String] {
        var argv: [String] = []
        for element in template {
            if element.hasPrefix("{{"), element.hasSuffix("}}"), element.count > 4,
               !element.dropFirst(2).dropLast(2).contains("{") {
                let name = String(element.dropFirst(2).dropLast(2)).trimmingCharacters(in: .whitespaces)
                switch args[name] {
                case nil, .null?: continue
                case .array(let items)?: argv.append(contentsOf: items.map(text))
                case let v?: argv.append(text(v))
                }
                continue
            }
            var out = ""
            var rest = Substring(element)
            while let open = rest.firstRange(of: "{{"), let close = rest[open.upperBound...].firstRange(of: "}}") {
                out += rest[..<open.lowerBound]
                let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
                out += args[name].map(text) ?? ""
                rest = rest[close.upperBound...]
            }
            argv.append(out + rest)
        }
        return argv
    }

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let argv = Self.expand(template, arguments)
        let result = try await ProcessRunner.run(argv: argv, workingDirectory: workingDirectory, environment: environment)
        guard result.status == 0 else {
            let err = String(decoding: result.stderr.suffix(4000), as: UTF8.self)
            throw ToolError.failed("'\(argv[0])' exited with status \(result.status)" + (err.isEmpty ? "" : ": \(err)"))
        }
        let stdout = String(decoding: result.stdout, as: UTF8.self)
        if outputIsJSON {
            do {
                let value = try JSONParser.parse(result.stdout)
                return ToolOutput(structured: value, text: stdout)
            } catch {
                throw ToolError.failed("'\(argv[0])' was declared to print JSON but printed something else (\(error))")
            }
        }
        return ToolOutput(structured: nil, text: stdout)
    }
}

/// Runs a program to completion, collecting its output; cancelling the task terminates the program.
enum ProcessRunner {
    struct Result {
        var status: Int32
        var stdout: [UInt8]
        var stderr: [UInt8]
    }

    static let maxOutput = 64 << 20

    static func run(argv: [String], workingDirectory: String?, environment: [String: String]?) async throws -> Result {
        let p = Process()
        let exe = argv[0]
        if exe.contains("/") {
            p.executableURL = URL(fileURLWithPath: exe)
        } else if let found = lookup(exe) {
            p.executableURL = URL(fileURLWithPath: found)
        } else {
            throw ToolError.failed("program '\(exe)' was not found on PATH")
        }
        p.arguments = Array(argv.dropFirst())
        if let workingDirectory { p.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let collector = OutputCollector()
        let finished = AsyncStream<Int32> { cont in
            p.terminationHandler = { proc in cont.yield(proc.terminationStatus); cont.finish() }
        }
        do { try p.run() } catch { throw ToolError.failed("cannot start '\(exe)': \(error.localizedDescription)") }
        // Blocking readers on threads of their own (FileHandle.readabilityHandler can crash on Linux
        // when it is cleared while a callback runs). Not on Dispatch's global queues: on Linux those
        // are the same few threads (one per core) that run Swift tasks, so a fan-out of blocked
        // readers would stall every other call. They end when the pipes close.
        let readers = DispatchGroup()
        for (handle, key) in [(out.fileHandleForReading, \OutputCollector.Buffers.stdout), (err.fileHandleForReading, \.stderr)] {
            readers.enter()
            let reader = Thread {
                while true {
                    let d = handle.availableData
                    if d.isEmpty { break }
                    collector.append(d, to: key)
                }
                readers.leave()
            }
            reader.stackSize = 256 << 10
            reader.start()
        }
        let pid = p.processIdentifier
        let status: Int32 = await withTaskCancellationHandler {
            var s: Int32 = -1
            for await v in finished { s = v }
            return s
        } onCancel: {
            // SIGKILL: a deadline or a cancelled call must end the program, whatever it traps.
            kill(pid, SIGKILL)
        }
        if Task.isCancelled {
            kill(pid, SIGKILL)
            // Grandchildren may still hold the pipes open: do not wait for the readers.
            throw CancellationError()
        }
        // Output is complete once the pipes close; a background grandchild holding them gets 2 s.
        // Waited for without blocking a task thread.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let once = OneShot(done)
            readers.notify(queue: .global()) { once.resume() }
            DispatchQueue.global().asyncAfter(deadline: .now() + 2) { once.resume() }
        }
        let (o, e) = collector.take()
        return Result(status: status, stdout: o, stderr: e)
    }

    static func lookup(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Resumes a continuation once, whichever of its resumers comes first.
final class OneShot: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    init(_ c: CheckedContinuation<Void, Never>) { continuation = c }
    func resume() { lock.withLock { let c = continuation; continuation = nil; return c }?.resume() }
}

final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var buffers = Buffers()

    struct Buffers: Sendable {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
    }

    func append(_ data: Data, to key: WritableKeyPath<Buffers, [UInt8]>) {
        guard !data.isEmpty else { return }
        lock.withLock {
            if buffers[keyPath: key].count < ProcessRunner.maxOutput { buffers[keyPath: key].append(contentsOf: data) }
        }
    }

    func take() -> ([UInt8], [UInt8]) { lock.withLock { (buffers.stdout, buffers.stderr) } }
}
