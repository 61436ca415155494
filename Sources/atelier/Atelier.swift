import ArgumentParser
import Foundation
import Neural

@main
struct Atelier: AsyncParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "atelier",
        abstract: "A tool-orchestration server: JSON-RPC 2.0 and MCP over stdio and TCP, schema-validated parallel tool calls.",
        version: version,
        subcommands: [ServeCommand.self, ToolsCommand.self, CallCommand.self, AskCommand.self, PlanCommand.self, SchemaCommand.self, JobsCommand.self,
                      IngestCommand.self, SearchCommand.self, OCRCommand.self, CodeCommand.self, SampleCommand.self, PretrainCommand.self, DemoCommand.self, TrainCommand.self, RunsCommand.self, EmbedCommand.self, BenchCommand.self, EvalCommand.self, LLMCommand.self]
    )

    /// Tesseract parallelises inside a page with OpenMP, which on a busy machine is many times slower
    /// than our page-level parallelism. OpenMP reads OMP_THREAD_LIMIT once, when the library loads,
    /// so when it is unset the program sets it and runs itself again.
    static func main() async {
        // Only commands that may run OCR pay for the second start.
        let ocrCommands: Set<String> = ["ocr", "serve", "ingest", "call", "ask", "plan", "jobs", "bench"]
        if ProcessInfo.processInfo.environment["OMP_THREAD_LIMIT"] == nil, CommandLine.arguments.count > 1, ocrCommands.contains(CommandLine.arguments[1]) {
            setenv("OMP_THREAD_LIMIT", "1", 1)
            let args = CommandLine.arguments.map { strdup($0) } + [nil]
            execv("/proc/self/exe", args)
            // execv returns only on failure: carry on with OpenMP's defaults.
        }
        Allocator.keepFreedMemory()
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand { try await async.run() } else { try command.run() }
        } catch {
            exit(withError: error)
        }
    }
}
