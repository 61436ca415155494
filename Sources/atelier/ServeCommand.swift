import ArgumentParser
import Foundation
import MCP
import Orchestrator
import Tools
import RPC

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve JSON-RPC 2.0 / MCP on stdio or TCP (newline-delimited JSON).")

    @Flag(name: .long, help: "Serve on stdin/stdout (the MCP stdio transport).")
    var stdio = false

    @Option(name: .long, help: "Serve on TCP at HOST:PORT (127.0.0.1 unless --token is given).")
    var tcp: String?

    @Option(name: .long, help: "Shared secret clients must send first ({\"method\":\"auth\",\"params\":{\"token\":…}}); required off loopback.")
    var token: String?

    @Option(name: .long, help: "Largest accepted message in bytes (default 16 MiB).")
    var maxMessageBytes: Int?

    @Option(name: .long, help: "Requests allowed in flight per connection (default 256).")
    var maxInFlight: Int?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if stdio == (tcp != nil) { throw ValidationError("choose one transport: --stdio or --tcp HOST:PORT") }
    }

    func run() throws {
        let config = try common.loadConfig()
        let registry = try common.makeRegistry(config)
        var jobs: JobManager? = nil
        do { jobs = try JobManager(databasePath: common.jobsDatabasePath(config), registry: registry) } catch {
            Log.warning("jobs disabled: \(error)")
        }
        let server = MCPServer(registry: registry, jobs: jobs, version: Atelier.version,
                               modelResolver: PlannerFactory(config: config?.planner, roots: registry.roots).resolver)
        var limits = RPCLimits()
        if let m = maxMessageBytes ?? config?.limits?.maxMessageBytes { limits.maxMessageBytes = m }
        if let m = maxInFlight ?? config?.limits?.maxInFlight { limits.maxInFlight = m }
        signal(SIGPIPE, SIG_IGN)
        if stdio {
            Log.info("serving on stdio with \(registry.names.count) tools")
            StdioTransport(handler: server, limits: limits).run()
            return
        }
        let (host, port) = try Self.parseHostPort(tcp!)
        let transport = TCPTransport(handler: server, limits: limits, token: token)
        do {
            let bound = try transport.start(host: host, port: port)
            Log.info("serving on tcp://\(host):\(bound) with \(registry.names.count) tools")
            // Scripts read the port from stderr when they ask for port 0.
            FileHandle.standardError.write(Data("listening on \(host):\(bound)\n".utf8))
            try transport.wait()
        } catch let e as TCPTransport.Failure {
            throw ValidationError(e.description)
        }
    }

    static func parseHostPort(_ s: String) throws -> (String, Int) {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--tcp expects HOST:PORT, e.g. 127.0.0.1:7300")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }
}
