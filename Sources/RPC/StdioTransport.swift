#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSONSchema

/// Writes lines to a file descriptor, whole lines at a time, from any thread.
public final class FileDescriptorSink: MessageSink, @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()

    public init(fd: Int32) { self.fd = fd }

    public func send(_ line: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        line.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    return  // the reader went away; nothing useful to do
                }
                off += n
            }
        }
    }

    public func close() {}
}

/// Splits a byte stream into lines with a size limit: an oversized line is reported once and skipped
/// up to its newline, so the stream stays usable.
public struct LineSplitter {
    public let maxBytes: Int
    private var buffer: [UInt8] = []
    private var discarding = false

    public init(maxBytes: Int) { self.maxBytes = maxBytes }

    public enum Event {
        case line(UnsafeBufferPointer<UInt8>)
        case oversized
    }

    /// Feeds a chunk; `emit` sees each complete line (trailing `\r` removed, empty lines skipped).
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ emit: (Event) -> Void) {
        var start = 0
        for i in 0..<chunk.count where chunk[i] == 0x0A {
            if discarding {
                discarding = false
            } else if buffer.isEmpty {
                emitLine(UnsafeBufferPointer(rebasing: chunk[start..<i]), emit)
            } else {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start..<i]))
                if buffer.count > maxBytes {
                    emit(.oversized)
                } else {
                    let line = buffer
                    line.withUnsafeBufferPointer { emitLine($0, emit) }
                }
                buffer.removeAll(keepingCapacity: buffer.count < 1 << 20)
            }
            start = i + 1
        }
        if start < chunk.count && !discarding {
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start...]))
            if buffer.count > maxBytes {
                emit(.oversized)
                buffer.removeAll()
                discarding = true
            }
        }
    }

    /// At end of input: whatever is left is the last line.
    public mutating func finish(_ emit: (Event) -> Void) {
        if !buffer.isEmpty && !discarding {
            let line = buffer
            line.withUnsafeBufferPointer { emitLine($0, emit) }
        }
        buffer.removeAll()
        discarding = false
    }

    private func emitLine(_ raw: UnsafeBufferPointer<UInt8>, _ emit: (Event) -> Void) {
        var line = raw
        if let last = line.last, last == 0x0D { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        if line.count > maxBytes { emit(.oversized); return }
        emit(.line(line))
    }
}

/// JSON-RPC over stdin/stdout. stdin is read on a plain blocking thread, because an epoll-based
/// reader fails when stdin is /dev/null or a regular file.
public final class StdioTransport: @unchecked Sendable {
    let handler: RPCHandler
    let limits: RPCLimits
    let input: Int32
    let output: Int32

    public init(handler: RPCHandler, limits: RPCLimits = .init(), input: Int32 = 0, output: Int32 = 1) {
        self.handler = handler
        self.limits = limits
        self.input = input
        self.output = output
    }

    /// Serves until the input ends, lets in-flight work finish within the grace period, then returns.
    public func run() {
        let connection = RPCConnection(handler: handler, sink: FileDescriptorSink(fd: output), limits: limits, transport: "stdio")
        let done = DispatchSemaphore(value: 0)
        let input = self.input
        let maxBytes = limits.maxMessageBytes
        let thread = Thread {
            var splitter = LineSplitter(maxBytes: maxBytes)
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let handle: (LineSplitter.Event) -> Void = { event in
                switch event {
                case .line(let l): connection.receive(l)
                case .oversized: connection.rejectOversized()
                }
            }
            while true {
                let n = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                chunk.withUnsafeBufferPointer { buf in
                    splitter.feed(UnsafeBufferPointer(rebasing: buf[0..<n]), handle)
                }
            }
            splitter.finish(handle)
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        done.wait()
        // Give requests that arrived just before EOF a moment to be admitted, then drain.
        Thread.sleep(forTimeInterval: 0.01)
        connection.close(grace: limits.shutdownGraceSeconds)
    }
}
