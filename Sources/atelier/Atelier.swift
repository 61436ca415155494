import ArgumentParser

@main
struct Atelier: AsyncParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "atelier",
        abstract: "A tool-orchestration server: JSON-RPC 2.0 and MCP over stdio and TCP, schema-validated parallel tool calls.",
        version: version,
        subcommands: [ServeCommand.self, ToolsCommand.self, CallCommand.self, AskCommand.self, PlanCommand.self, SchemaCommand.self, JobsCommand.self,
                      IngestCommand.self, SearchCommand.self, EmbedCommand.self, BenchCommand.self, EvalCommand.self]
    )
}
