import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The floor under any TCP JSON-RPC server on this machine: bare `poll` loops that answer each line
/// with a fixed `{"jsonrpc":"2.0","id":N,"result":{}}` and do no JSON, MCP or tool work at all.
/// With a closed-loop client, a round trip costs two socket writes and two thread wakeups; on a
/// small VM those dominate, so `bench rpc-load --echo-floor` shows how much of a server's time is
/// the machine's rather than the server's.
final class EchoFloorServer: @unchecked Sendable {
    let port: Int
    private let listenFD: Int32

    enum Failure: Error, CustomStringConvertible {
        case socket(String)
        var description: String {
            switch self { case .socket(let what): return "echo floor server: \(what) failed (errno \(errno))" }
        }
    }

    /// One I/O thread's sockets; the acceptor adds to them and wakes the thread through its pipe.
    final class Loop: @unchecked Sendable {
        let lock = NSLock()
        var added: [Int32] = []
        var wake: [Int32] = [0, 0]
        init() { _ = pipe(&wake) }
    }

    init(threads: Int) throws {
        listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listenFD >= 0 else { throw Failure.socket("socket") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let fd = listenFD
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 256) == 0 else { throw Failure.socket("bind/listen") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let loops = (0..<max(1, threads)).map { _ in Loop() }
        for loop in loops { Thread { Self.serve(loop) }.start() }
        Thread {
            var next = 0
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                var one: Int32 = 1
                setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                let loop = loops[next % loops.count]
                loop.lock.withLock { loop.added.append(c) }
                var byte: UInt8 = 1
                _ = write(loop.wake[1], &byte, 1)
                next += 1
            }
        }.start()
    }

    /// One event loop: read what is there, answer every complete line, keep partial lines per socket.
    private static func serve(_ loop: Loop) {
        var fds = [pollfd(fd: loop.wake[0], events: Int16(POLLIN), revents: 0)]
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var pending: [Int32: [UInt8]] = [:]
        var out: [UInt8] = []
        while true {
            let k = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), -1) }
            if k < 0 { if errno == EINTR { continue } else { return } }
            var closed: Set<Int32> = []
            for i in 1..<fds.count where fds[i].revents != 0 {
                let fd = fds[i].fd
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 {
                    close(fd)
                    closed.insert(fd)
                    pending[fd] = nil
                    continue
                }
                out.removeAll(keepingCapacity: true)
                if var buffer = pending.removeValue(forKey: fd) {
                    buffer.append(contentsOf: chunk[..<n])
                    let used = buffer.withUnsafeBufferPointer { answerLines($0, into: &out) }
                    if used < buffer.count { pending[fd] = Array(buffer[used...]) }
                } else {
                    let used = chunk.withUnsafeBufferPointer { answerLines(UnsafeBufferPointer(rebasing: $0[..<n]), into: &out) }
                    if used < n { pending[fd] = Array(chunk[used..<n]) }
                }
                var off = 0
                while off < out.count {
                    let w = out.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
                    if w <= 0 { break }
                    off += w
                }
            }
            if !closed.isEmpty { fds.removeAll { closed.contains($0.fd) } }
            if fds[0].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                _ = read(loop.wake[0], &drain, drain.count)
                let added = loop.lock.withLock { defer { loop.added.removeAll() }; return loop.added }
                fds += added.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            }
        }
    }

    /// Answers every complete line in `bytes`; returns how many bytes they took.
    private static func answerLines(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Int {
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            answer(UnsafeBufferPointer(rebasing: bytes[start..<i]), into: &out)
            start = i + 1
        }
        return start
    }

    /// Appends the fixed answer carrying the line's numeric `"id"` (the load client's requests have
    /// one, first in the line); a line without one is a notification and gets no answer.
    private static let idKey: [UInt8] = Array(#""id":"#.utf8)

    private static func answer(_ line: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let key = idKey
        guard line.count > key.count,
              let at = (0...(line.count - key.count)).first(where: { i in (0..<key.count).allSatisfy { line[i + $0] == key[$0] } })
        else { return }
        var end = at + key.count
        while end < line.count && line[end] >= 0x30 && line[end] <= 0x39 { end += 1 }
        if end == at + key.count { return }
        out.append(contentsOf: #"{"jsonrpc":"2.0","id":"#.utf8)
        out.append(contentsOf: UnsafeBufferPointer(rebasing: line[(at + key.count)..<end]))
        out.append(contentsOf: #","result":{}}"#.utf8)
        out.append(0x0A)
    }
}
