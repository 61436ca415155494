import Foundation
import JSONSchema
import Orchestrator
import Planner

/// `ask`: an editor or agent delegates a whole task to Atelier's planner loop. Progress reports each
/// step (plan, calls starting and finishing, tokens); the result carries the answer and the trace.
public struct AskTool: Tool {
    public let descriptor = ToolCatalog.descriptor("ask")
    let registry: ToolRegistry
    let resolver: ModelResolver

    public init(registry: ToolRegistry, resolver: @escaping ModelResolver) {
        self.registry = registry
        self.resolver = resolver
    }

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let request = AgentRequest(json: arguments)
        let model: LanguageModel
        do { model = try resolver(request.choice) } catch { throw ToolError.failed("\(error)") }
        var options = request.options
        if let d = context.deadline { options.deadline = min(options.deadline ?? d, d) }
        let steps = StepCounter()
        let result = await Agent(model: model, registry: registry, options: options)
            .run(prompt: request.prompt, attachments: request.attachments, context: context) { event in
                guard let line = event.summary else { return }
                context.progress(steps.next(), message: line)
            }
        if result.stopReason == .cancelled { throw CancellationError() }
        return ToolOutput(structured: result.json, text: result.answer)
    }
}
