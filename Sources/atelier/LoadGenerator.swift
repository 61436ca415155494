import ArgumentParser
import Foundation
import JSONSchema
#if canImport(Glibc)
import Glibc
#endif

/// `atelier bench rpc-load`: a compiled JSON-RPC load client, so RPC benchmarks measure the servers
/// rather than a Python client. Each client thread keeps `window` requests in flight on its own
/// connection and records every request's latency.
struct RPCLoadBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc-load",
        abstract: "Drive a JSON-RPC/MCP server with tools/call requests and print one JSON line of throughput and latency.")

    @Option(name: .long, help: "Server at HOST:PORT (newline-delimited JSON-RPC over TCP).") var tcp: String?
    @Option(name: .long, help: "Command line of a stdio server to start (one client).") var spawn: String?
    @Flag(name: .long, help: "Drive a bare in-process epoll server that answers every line with a fixed result: the machine's floor for a TCP round trip.")
    var echoFloor = false
    @Option(name: .long) var clients: Int = 1
    @Option(name: .long, help: "Requests per client.") var requests: Int = 2000
    @Option(name: .long, help: "Requests kept in flight per client (1 = one at a time).") var window: Int = 1
    @Option(name: .long, help: "Stop each client after this many seconds.") var seconds: Double = 10
    @Option(name: .long, help: "params of each tools/call request.")
    var params: String = #"{"name":"schema_validate","arguments":{"schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}},"ok":{"type":"boolean"}},"required":["id","name"]},"instance":{"id":1,"name":"x","tags":["a","b"],"ok":true}}}"#

    func validate() throws {
        if [tcp != nil, spawn != nil, echoFloor].filter({ $0 }).count != 1 {
            throw ValidationError("give one of --tcp HOST:PORT, --spawn COMMAND or --echo-floor")
        }
        if spawn != nil && clients != 1 { throw ValidationError("--spawn drives one stdio connection: use --clients 1") }
    }

    final class Link: @unchecked Sendable {
        let readFD: Int32, writeFD: Int32
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        init(readFD: Int32, writeFD: Int32) { self.readFD = readFD; self.writeFD = writeFD }

        func send(_ s: String) {
            var b = Array(s.utf8); b.append(0x0A)
            var off = 0
            while off < b.count {
                let n = b.withUnsafeBytes { write(writeFD, $0.baseAddress! + off, $0.count - off) }
                if n <= 0 { return }
                off += n
            }
        }

        /// The next response id (notifications skipped); nil at end of stream.
        func readResponse() -> (id: Int, ok: Bool)? {
            while true {
                if let nl = buffer.firstIndex(of: 0x0A) {
                    let line = Array(buffer[..<nl])
                    buffer.removeSubrange(...nl)
                    guard let v = try? JSONParser.parse(line), let id = v["id"]?.intValue else { continue }
                    let ok = v["result"] != nil && v["result"]?["isError"] != .bool(true)
                    return (id, ok)
                }
                let n = chunk.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
                if n <= 0 { return nil }
                buffer.append(contentsOf: chunk[..<n])
            }
        }
    }

    struct Outcome { var latencies: [Double] = []; var errors = 0; var elapsed = 0.0 }

    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var outcomes: [Outcome] = []
        func add(_ o: Outcome) { lock.withLock { outcomes.append(o) } }
        var all: [Outcome] { lock.withLock { outcomes } }
    }

    func drive(_ link: Link) -> Outcome {
        let initialize = #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"atelier-load","version":"1"}}}"#
        link.send(initialize)
        _ = link.readResponse()
        link.send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        var nextID = 1
        func request() -> String {
            defer { nextID += 1 }
            return #"{"jsonrpc":"2.0","id":\#(nextID),"method":"tools/call","params":\#(params)}"#
        }
        for _ in 0..<20 { link.send(request()); _ = link.readResponse() }  // warm-up
        var out = Outcome()
        var sentAt: [Int: Double] = [:]
        let start = now()
        var sent = 0, received = 0
        while sent < min(window, requests) { sentAt[nextID] = now(); link.send(request()); sent += 1 }
        while received < sent {
            guard let (id, ok) = link.readResponse() else { break }
            received += 1
            if let t = sentAt.removeValue(forKey: id) { out.latencies.append(now() - t) }
            if !ok { out.errors += 1 }
            if sent < requests && now() - start < seconds { sentAt[nextID] = now(); link.send(request()); sent += 1 }
        }
        out.elapsed = now() - start
        return out
    }

    func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func connectTCP(_ hostPort: String) throws -> Link {
        let (host, port) = try ServeCommand.parseHostPort(hostPort)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw ValidationError("cannot connect to \(hostPort)") }
        return Link(readFD: fd, writeFD: fd)
    }

    func run() throws {
        let collected = Collected()
        var process: Process? = nil
        if let spawn {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "exec " + spawn]
            let inPipe = Pipe(), outPipe = Pipe()
            p.standardInput = inPipe
            p.standardOutput = outPipe
            p.standardError = FileHandle.nullDevice
            try p.run()
            process = p
            collected.add(drive(Link(readFD: outPipe.fileHandleForReading.fileDescriptor, writeFD: inPipe.fileHandleForWriting.fileDescriptor)))
        } else {
            var target = tcp ?? ""
            if echoFloor { target = "127.0.0.1:\(try EchoFloorServer(threads: ProcessInfo.processInfo.activeProcessorCount).port)" }
            let links = try (0..<clients).map { _ in try connectTCP(target) }
            let command = self
            let group = DispatchGroup()
            for link in links {
                let t = Thread {
                    let o = command.drive(link)
                    collected.add(o)
                    close(link.readFD)
                    group.leave()
                }
                group.enter()
                t.start()
            }
            group.wait()
        }
        process?.terminate()
        let results = collected.all
        let lat = results.flatMap(\.latencies).sorted()
        let elapsed = results.map(\.elapsed).max() ?? 0
        func pct(_ q: Double) -> Double { lat.isEmpty ? 0 : lat[min(lat.count - 1, Int((q * Double(lat.count - 1)).rounded()))] * 1000 }
        print(JSONWriter.string(.object(JSONObject([
            ("requests", JSONValue(lat.count)), ("errors", JSONValue(results.reduce(0) { $0 + $1.errors })),
            ("seconds", JSONValue(elapsed)), ("rps", JSONValue(elapsed > 0 ? Double(lat.count) / elapsed : 0)),
            ("p50Ms", JSONValue(pct(0.5))), ("p99Ms", JSONValue(pct(0.99))),
        ]))))
    }
}
