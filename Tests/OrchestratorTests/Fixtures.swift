import Foundation
import JSONSchema
import Orchestrator

/// Tools for exercising the executor: they record how many run at once.
final class ConcurrencyProbe: @unchecked Sendable {
    let lock = NSLock()
    var running = 0
    var peak = 0
    func enter() { lock.withLock { running += 1; peak = max(peak, running) } }
    func leave() { lock.withLock { running -= 1 } }
}

struct WaitTool: Tool {
    let descriptor: ToolDescriptor
    let probe: ConcurrencyProbe

    init(name: String = "wait", probe: ConcurrencyProbe) {
        self.probe = probe
        descriptor = try! ToolDescriptor(json: try! JSONParser.parse(#"""
        {"name":"\#(name)","description":"waits then echoes","inputSchema":{"type":"object","properties":{"ms":{"type":"integer","minimum":0},"value":{},"fail":{"type":"boolean"}},"additionalProperties":false},
         "outputSchema":{"type":"object","properties":{"value":{}},"required":["value"]}}
        """#))
    }

    func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        probe.enter()
        defer { probe.leave() }
        try await Task.sleep(nanoseconds: UInt64(arguments["ms"]?.intValue ?? 0) * 1_000_000)
        if arguments["fail"]?.boolValue == true { throw ToolError.failed("asked to fail") }
        return ToolOutput(structured: .object(JSONObject([("value", arguments["value"] ?? .null)])))
    }
}

/// Returns whatever it is told, to check output-schema enforcement.
struct LiarTool: Tool {
    let descriptor = try! ToolDescriptor(json: try! JSONParser.parse(#"""
    {"name":"liar","description":"returns its argument as output","inputSchema":{"type":"object"},"outputSchema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}}
    """#))
    func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput { ToolOutput(structured: arguments) }
}

func temporaryDirectory() -> URL {
    let u = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-test-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    return u
}
