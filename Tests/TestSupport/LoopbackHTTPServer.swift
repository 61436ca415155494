import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP server on 127.0.0.1 for tests of HTTP clients: each request is answered by a
/// closure, and responses may be streamed chunk by chunk (with pauses) or left hanging, the way a
/// model server streams SSE. Every request is recorded.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public let method: String
        public let uri: String
        public let headers: [String: String]  // lower-cased names
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var chunks: [[UInt8]]
        /// Pause before each chunk after the first.
        public var chunkDelayMs: Int
        /// Keep the connection open after the last chunk, never ending the body.
        public var hang: Bool

        public init(status: Int = 200, headers: [(String, String)] = [], chunks: [[UInt8]], chunkDelayMs: Int = 0, hang: Bool = false) {
            self.status = status
            self.headers = headers
            self.chunks = chunks
            self.chunkDelayMs = chunkDelayMs
            self.hang = hang
        }

        public init(status: Int = 200, contentType: String, body: String, extraHeaders: [(String, String)] = []) {
            self.init(status: status, headers: [("content-type", contentType)] + extraHeaders, chunks: [Array(body.utf8)])
        }
    }

    public typealias Handler = @Sendable (Request) -> Response

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: Channel?
    private let lock = NSLock()
    private var _requests: [Request] = []
    public var port: Int { channel?.localAddress?.port ?? 0 }
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    public var requests: [Request] { lock.withLock { _requests } }

    public init(handler: @escaping Handler) throws {
        let record: @Sendable (Request) -> Void = { [unowned self] r in self.lock.withLock { self._requests.append(r) } }
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.pipeline.configureHTTPServerPipeline().flatMap {
                    ch.pipeline.addHandler(Exchange(handler: handler, record: record))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    public func shutdown() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    deinit { try? group.syncShutdownGracefully() }

    private final class Exchange: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let handler: Handler
        let record: @Sendable (Request) -> Void
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(handler: @escaping Handler, record: @escaping @Sendable (Request) -> Void) {
            self.handler = handler
            self.record = record
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h; body = []
            case .body(var b): body += b.readBytes(length: b.readableBytes) ?? []
            case .end:
                guard let head else { return }
                var headers: [String: String] = [:]
                for (k, v) in head.headers { headers[k.lowercased()] = v }
                let request = Request(method: "\(head.method)", uri: head.uri, headers: headers, body: body)
                record(request)
                respond(handler(request), context: context)
            }
        }

        private func respond(_ r: Response, context: ChannelHandlerContext) {
            var h = HTTPHeaders(r.headers)
            h.replaceOrAdd(name: "connection", value: "close")
            if !r.hang, r.chunkDelayMs == 0 {
                h.replaceOrAdd(name: "content-length", value: "\(r.chunks.reduce(0) { $0 + $1.count })")
            }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: r.status), headers: h))), promise: nil)
            let loop = context.eventLoop
            let ctx = NIOLoopBound(context, eventLoop: loop)
            func send(_ i: Int) {
                let context = ctx.value
                guard i < r.chunks.count else {
                    if r.hang { context.flush(); return }
                    context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in ctx.value.close(promise: nil) }
                    return
                }
                var buf = context.channel.allocator.buffer(capacity: r.chunks[i].count)
                buf.writeBytes(r.chunks[i])
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
                if r.chunkDelayMs > 0 {
                    loop.scheduleTask(in: .milliseconds(Int64(r.chunkDelayMs))) { send(i + 1) }
                } else {
                    send(i + 1)
                }
            }
            send(0)
        }
    }
}
