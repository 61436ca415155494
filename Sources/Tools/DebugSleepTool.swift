import Foundation
import JSONSchema
import Orchestrator

/// `debug_sleep`: waits in steps, reporting progress; a probe for progress, cancellation and deadlines.
public struct DebugSleepTool: Tool {
    public let descriptor = ToolCatalog.descriptor("debug_sleep")
    public init() {}

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let ms = arguments["ms"]?.intValue ?? 0
        let steps = arguments["steps"]?.intValue ?? 1
        for i in 1...steps {
            try await Task.sleep(nanoseconds: UInt64(ms) * 1_000_000 / UInt64(steps))
            context.progress(Double(i), total: Double(steps), message: "step \(i) of \(steps)")
        }
        return ToolOutput(structured: .object(JSONObject([("sleptMs", .number(JSONNumber(ms)))])), text: "slept \(ms) ms")
    }
}
