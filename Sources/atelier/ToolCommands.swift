import ArgumentParser
import Foundation
import JSONSchema
import Orchestrator

extension JSONValue: JSONValueConvertible {
    func jsonText(pretty: Bool) -> String { JSONWriter.string(self, pretty: pretty) }
}

struct ToolsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tools", abstract: "Inspect the tool registry.",
                                                    subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the registered tools.")
        @Flag(name: .long, help: "Print the full descriptors as JSON.") var json = false
        @OptionGroup var common: CommonOptions

        func run() throws {
            let registry = try common.makeRegistry(try common.loadConfig())
            if json {
                printJSON(JSONValue.array(registry.descriptors.map(\.json)), pretty: true)
            } else {
                for d in registry.descriptors { print("\(d.name)\t\(d.title ?? d.description)") }
            }
        }
    }
}

/// Failures of `call`/`plan run`: message on stderr, non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
}

struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call", abstract: "Call one tool in-process and print its result as JSON.")

    @Argument(help: "Tool name (see `atelier tools list`).") var name: String
    @Option(name: .long, help: "Arguments as a JSON object.") var args: String = "{}"
    @Option(name: .long, help: "Deadline in milliseconds.") var timeoutMs: Int?
    @OptionGroup var common: CommonOptions

    func run() async throws {
        let registry = try common.makeRegistry(try common.loadConfig())
        let arguments: JSONValue
        do { arguments = try JSONParser.parse(args) } catch { throw ValidationError("--args is not valid JSON: \(error)") }
        do {
            let out = try await registry.call(name, arguments, timeoutMs: timeoutMs)
            printJSON(out.structured ?? .object(JSONObject([("text", .string(out.text ?? ""))])), pretty: true)
        } catch {
            FileHandle.standardError.write(Data("atelier: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Run plans of tool calls.", subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a plan file ({calls:[{id, name, arguments}], maxParallel?, timeoutMs?}) and print the results as JSON.")
        @Argument(help: "Plan file (JSON), or - for stdin.") var file: String
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let registry = try common.makeRegistry(try common.loadConfig())
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : (FileManager.default.contents(atPath: file) ?? Data())
            let plan: Plan
            do { plan = try Plan(json: try JSONParser.parse(Array(data))) } catch {
                throw ValidationError("plan '\(file)' is unusable: \(error)")
            }
            let results = await Executor(registry: registry).run(plan)
            printJSON(JSONValue.object(JSONObject([("results", .array(results.map(\.json)))])), pretty: true)
            if results.contains(where: { $0.status != "ok" }) { throw ExitCode(1) }
        }
    }
}

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobs", abstract: "Inspect job records.", subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List recent jobs from the job database.")
        @OptionGroup var common: CommonOptions
        func run() throws {
            let config = try common.loadConfig()
            let jobs = try JobManager(databasePath: common.jobsDatabasePath(config), registry: try common.makeRegistry(config))
            printJSON(JSONValue.array(jobs.list().map(\.json)), pretty: true)
        }
    }
}
