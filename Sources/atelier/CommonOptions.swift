import ArgumentParser
import Foundation
import Orchestrator
import Tools

/// Options every command that builds a tool registry shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (YAML or JSON; schema in schemas/config/atelier.json).")
    var config: String?

    @Option(name: .long, help: "Log level on stderr: error, warning, info, debug.")
    var logLevel: LogLevel = .info

    @Flag(name: .long, help: "Also register diagnostic tools (debug_sleep).")
    var debugTools = false

    func loadConfig() throws -> AtelierConfig? {
        guard let config else { return nil }
        do { return try AtelierConfig.load(path: config) } catch { throw ValidationError("\(error)") }
    }

    /// Builds the registry the server, `call` and `plan run` all use.
    func makeRegistry(_ config: AtelierConfig?) throws -> ToolRegistry {
        Log.level = logLevel
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let registry = ToolRegistry(roots: config?.rootURLs(default: cwd) ?? [cwd],
                                    defaultTimeoutMs: config?.limits?.defaultTimeoutMs ?? 600_000)
        do {
            try ToolCatalog.registerDefaults(in: registry, config: config, debugTools: debugTools)
        } catch { throw ValidationError("\(error)") }
        return registry
    }

    func jobsDatabasePath(_ config: AtelierConfig?) -> String {
        if let p = config?.jobsDatabase { return p.hasPrefix("/") ? p : (config?.baseDirectory ?? ".") + "/" + p }
        if let p = ProcessInfo.processInfo.environment["ATELIER_JOBS_DB"] { return p }
        let home = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")
        return home + "/atelier/jobs.sqlite"
    }
}

enum LogLevel: String, ExpressibleByArgument, Comparable, Sendable {
    case error, warning, info, debug
    var rank: Int { [.error: 0, .warning: 1, .info: 2, .debug: 3][self]! }
    static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

/// Logs go to stderr only: stdout belongs to the protocol.
enum Log {
    nonisolated(unsafe) static var level: LogLevel = .info

    static func write(_ l: LogLevel, _ message: @autoclosure () -> String) {
        guard l <= level else { return }
        FileHandle.standardError.write(Data("atelier [\(l.rawValue)] \(message())\n".utf8))
    }
    static func info(_ m: @autoclosure () -> String) { write(.info, m()) }
    static func warning(_ m: @autoclosure () -> String) { write(.warning, m()) }
    static func error(_ m: @autoclosure () -> String) { write(.error, m()) }
}

/// Prints a JSON value on stdout, one line.
func printJSON(_ value: JSONValueConvertible, pretty: Bool = false) {
    print(value.jsonText(pretty: pretty))
}

protocol JSONValueConvertible {
    func jsonText(pretty: Bool) -> String
}

/// A command's JSON report: pretty, sorted, snake_case keys, paths with plain slashes.
func reportJSON<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try encoder.encode(value)
}
