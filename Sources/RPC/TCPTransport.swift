import Foundation
import JSONSchema
import NIOCore
import NIOPosix

/// JSON-RPC over TCP, newline-delimited, on SwiftNIO. Binds loopback by default; any other address
/// needs a token, and then each connection must authenticate first with
/// `{"jsonrpc":"2.0","id":…,"method":"auth","params":{"token":"…"}}`.
public final class TCPTransport: @unchecked Sendable {
    let handler: RPCHandler
    let limits: RPCLimits
    let token: String?
    let group: MultiThreadedEventLoopGroup
    private var channel: Channel?

    public enum Failure: Error, CustomStringConvertible {
        case tokenRequired(String)
        public var description: String {
            switch self {
            case .tokenRequired(let host):
                return "binding \(host) exposes the server beyond this machine: pass --token SECRET (clients then send {\"method\":\"auth\",\"params\":{\"token\":…}} first)"
            }
        }
    }

    public init(handler: RPCHandler, limits: RPCLimits = .init(), token: String? = nil, threads: Int = System.coreCount) {
        self.handler = handler
        self.limits = limits
        self.token = token
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Binds and returns the actual port (useful with port 0).
    public func start(host: String, port: Int) throws -> Int {
        if !Self.isLoopback(host) && (token ?? "").isEmpty { throw Failure.tokenRequired(host) }
        let handler = self.handler, limits = self.limits, token = self.token
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sink = ChannelSink(channel: channel)
                    let connection = RPCConnection(
                        handler: token == nil ? handler : AuthGate(inner: handler, token: token!, sink: sink),
                        sink: sink, limits: limits, transport: "tcp", executor: EventLoopTaskExecutor(channel.eventLoop))
                    try channel.pipeline.syncOperations.addHandler(LineHandler(connection: connection, maxBytes: limits.maxMessageBytes))
                }
            }
        let ch = try bootstrap.bind(host: host, port: port).wait()
        channel = ch
        return ch.localAddress?.port ?? port
    }

    /// Blocks until the server channel closes.
    public func wait() throws {
        try channel?.closeFuture.wait()
    }

    public func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Runs request tasks on the connection's event loop: a short request is read, handled and answered
/// on one thread. Work that may block or run long is moved off it by the tool layer (see ToolRegistry).
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let loop: EventLoop
    init(_ loop: EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let me = asUnownedTaskExecutor()
        loop.execute { unowned.runSynchronously(on: me) }
    }
}

/// Writes answers to a socket. Lines written during one event-loop tick go out with one flush, so a
/// client that pipelines requests gets its answers in few `writev` calls instead of one `write` each.
final class ChannelSink: MessageSink, @unchecked Sendable {
    let channel: Channel
    /// Touched only on the channel's event loop.
    private var flushScheduled = false

    init(channel: Channel) { self.channel = channel }

    func send(_ line: [UInt8]) {
        let loop = channel.eventLoop
        if loop.inEventLoop { enqueue(line) } else { loop.execute { self.enqueue(line) } }
    }

    private func enqueue(_ line: [UInt8]) {
        var buf = channel.allocator.buffer(capacity: line.count)
        buf.writeBytes(line)
        channel.write(buf, promise: nil)
        guard !flushScheduled else { return }
        flushScheduled = true
        // Runs after the tasks already queued on this loop (the other requests read in this tick).
        channel.eventLoop.execute {
            self.flushScheduled = false
            self.channel.flush()
        }
    }

    func close() {
        channel.eventLoop.execute { self.channel.flush(); self.channel.close(promise: nil) }
    }
}

/// Frames lines (with the size limit) and feeds them to the connection; a closed socket cancels its work.
final class LineHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let connection: RPCConnection
    var splitter: LineSplitter

    init(connection: RPCConnection, maxBytes: Int) {
        self.connection = connection
        self.splitter = LineSplitter(maxBytes: maxBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buf = unwrapInboundIn(data)
        let connection = self.connection
        buf.withUnsafeReadableBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            splitter.feed(bytes) { event in
                switch event {
                case .line(let l): connection.receive(l)
                case .oversized: connection.rejectOversized()
                }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.abort()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Requires `auth` with the right token as the first message; anything else closes the connection.
struct AuthGate: RPCHandler {
    let inner: RPCHandler
    let token: String
    let sink: MessageSink

    static let authenticatedKey = "rpc.authenticated"

    func admit(_ request: RPCRequest, connection: RPCConnection) -> RPCError? {
        if connection[state: Self.authenticatedKey] == .bool(true) { return inner.admit(request, connection: connection) }
        guard request.method == "auth" else {
            // The connection answers with this refusal; the close is queued behind that answer.
            sink.close()
            return RPCError(code: RPCError.unauthorizedCode, message: "Unauthorized: the first message must be 'auth' with the server's token")
        }
        return nil
    }

    func handle(_ request: RPCRequest, context: RPCContext) async throws -> JSONValue {
        if request.method == "auth" && context.connection[state: Self.authenticatedKey] != .bool(true) {
            let given = request.param("token", position: 0)?.stringValue ?? ""
            guard constantTimeEqual(Array(given.utf8), Array(token.utf8)) else {
                // The thrown error is the answer; the close is queued behind it.
                sink.close()
                throw RPCError(code: RPCError.unauthorizedCode, message: "Unauthorized: wrong token")
            }
            context.connection[state: Self.authenticatedKey] = .bool(true)
            return .object(JSONObject([("authenticated", true)]))
        }
        return try await inner.handle(request, context: context)
    }

    func notify(_ request: RPCRequest, connection: RPCConnection) {
        if request.method == "auth" {
            let given = request.param("token", position: 0)?.stringValue ?? ""
            if constantTimeEqual(Array(given.utf8), Array(token.utf8)) {
                connection[state: Self.authenticatedKey] = .bool(true)
            } else {
                sink.close()
            }
            return
        }
        inner.notify(request, connection: connection)
    }
}

/// Compares without an early exit, so timing does not reveal how much of a guess was right.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var diff = UInt8(a.count == b.count ? 0 : 1)
    let n = max(a.count, b.count)
    for i in 0..<n {
        let x = i < a.count ? a[i] : 0, y = i < b.count ? b[i] : 0
        diff |= x ^ y
    }
    return diff == 0
}
