import Foundation
import XCTest
import JSONSchema
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The real binary over TCP with raw sockets, as scripts use it.
final class TCPServerTests: XCTestCase {
    /// Starts `serve --tcp 127.0.0.1:0` and reads the bound port from stderr.
    func startServer(_ extra: [String] = [], host: String = "127.0.0.1") throws -> (ServerProcess, Int) {
        let s = try ServerProcess(["serve", "--tcp", "\(host):0", "--debug-tools"] + extra)
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            text += String(decoding: s.stderr.fileHandleForReading.availableData, as: UTF8.self)
            if let r = text.range(of: "listening on "), let nl = text[r.upperBound...].firstIndex(of: "\n") {
                let hostPort = text[r.upperBound..<nl]
                return (s, Int(hostPort.split(separator: ":").last!)!)
            }
        }
        throw XCTSkip("server did not start: \(text)")
    }

    final class Client {
        let fd: Int32
        var buffer: [UInt8] = []

        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { throw XCTSkip("connect failed") }
        }

        func send(_ line: String) {
            let b = Array((line + "\n").utf8)
            _ = b.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }

        /// One message, or nil when the server closed the connection.
        func read() -> JSONValue? {
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                if let nl = buffer.firstIndex(of: 0x0A) {
                    let line = Array(buffer[..<nl])
                    buffer.removeFirst(nl + 1)
                    return try? JSONParser.parse(line)
                }
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return nil }
                buffer.append(contentsOf: chunk[..<n])
            }
        }

        deinit { close(fd) }
    }

    func testManyConcurrentClients() throws {
        let (server, port) = try startServer()
        defer { server.process.terminate() }
        let clients = try (0..<16).map { _ in try Client(port: port) }
        for (i, c) in clients.enumerated() {
            c.send(#"{"jsonrpc":"2.0","id":\#(i),"method":"tools/call","params":{"name":"debug_sleep","arguments":{"ms":100}}}"#)
        }
        for (i, c) in clients.enumerated() {
            XCTAssertEqual(c.read()?["id"], JSONValue(i))
        }
    }

    /// A client that sends many requests at once gets every answer exactly once, each on its own line,
    /// however the server groups its writes.
    func testPipelinedRequestsAreEachAnsweredOnce() throws {
        let (server, port) = try startServer()
        defer { server.process.terminate() }
        let client = try Client(port: port)
        let n = 200
        let lines = (0..<n).map { i in
            #"{"jsonrpc":"2.0","id":\#(i),"method":"tools/call","params":{"name":"schema_validate","arguments":{"schema":{"type":"integer","maximum":99},"instance":\#(i)}}}"#
        }
        client.send(lines.joined(separator: "\n"))
        var seen: [Int: Bool] = [:]
        for _ in 0..<n {
            guard let reply = client.read(), let id = reply["id"]?.intValue else { return XCTFail("an answer is missing or malformed") }
            XCTAssertNil(seen[id], "id \(id) answered twice")
            seen[id] = reply["result"]?["structuredContent"]?["valid"]?.boolValue
        }
        XCTAssertEqual(seen.count, n)
        XCTAssertEqual(seen.filter { $0.value == true }.count, 100, "0 ... 99 are valid, 100 ... 199 exceed the maximum")
    }

    func testADisconnectingClientLeavesOthersServed() throws {
        let (server, port) = try startServer()
        defer { server.process.terminate() }
        do {
            let leaving = try Client(port: port)
            leaving.send(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"debug_sleep","arguments":{"ms":60000}}}"#)
        }
        let staying = try Client(port: port)
        staying.send(#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
        XCTAssertEqual(staying.read()?["id"], 2)
    }

    func testNonLoopbackBindingNeedsATokenAndClientsMustAuthenticate() throws {
        let (status, _, err) = try runAtelier(["serve", "--tcp", "0.0.0.0:0"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(err.contains("--token"), err)

        let (server, port) = try startServer(["--token", "s3cret"], host: "0.0.0.0")
        defer { server.process.terminate() }
        let intruder = try Client(port: port)
        intruder.send(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        XCTAssertEqual(intruder.read()?["error"]?["code"], -31002)
        XCTAssertNil(intruder.read(), "the connection is closed")

        let wrong = try Client(port: port)
        wrong.send(#"{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"guess"}}"#)
        XCTAssertEqual(wrong.read()?["error"]?["code"], -31002)

        let friend = try Client(port: port)
        friend.send(#"{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"s3cret"}}"#)
        XCTAssertEqual(friend.read()?["result"]?["authenticated"], true)
        friend.send(#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
        XCTAssertEqual(friend.read()?["id"], 2)
    }
}
