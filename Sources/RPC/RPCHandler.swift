import JSONSchema

/// What a server application implements. The RPC layer knows nothing of MCP or tools.
public protocol RPCHandler: Sendable {
    /// Answers a request. Throw `RPCError` for a JSON-RPC error; other errors become -32603.
    func handle(_ request: RPCRequest, context: RPCContext) async throws -> JSONValue
    /// Handles a notification. Runs on the reader, in order, before later messages: keep it quick
    /// (cancellation and handshake bookkeeping), start tasks for anything longer.
    func notify(_ request: RPCRequest, connection: RPCConnection)
    /// Called for every message before dispatch; return an error to refuse it (e.g. before authentication).
    func admit(_ request: RPCRequest, connection: RPCConnection) -> RPCError?
}

extension RPCHandler {
    public func admit(_ request: RPCRequest, connection: RPCConnection) -> RPCError? { nil }
}

/// What a running request can reach: its id, its connection (for notifications), and cancellation.
public struct RPCContext: Sendable {
    public let requestID: RPCID?
    public let connection: RPCConnection

    public init(requestID: RPCID?, connection: RPCConnection) {
        self.requestID = requestID
        self.connection = connection
    }

    /// Sends a notification to the client on this request's connection.
    public func notify(_ method: String, _ params: JSONValue?) {
        connection.send(RPCEncoder.notification(method, params))
    }
}

/// Where outgoing lines go. Implementations must be safe to call from any thread.
public protocol MessageSink: Sendable {
    func send(_ line: [UInt8])
    func close()
}

public struct RPCLimits: Sendable {
    /// Largest accepted message, in bytes (one line).
    public var maxMessageBytes: Int
    /// Requests allowed in flight per connection before "busy" errors.
    public var maxInFlight: Int
    /// How long in-flight work may finish after the input ends (stdio EOF).
    public var shutdownGraceSeconds: Double

    public init(maxMessageBytes: Int = 16 << 20, maxInFlight: Int = 256, shutdownGraceSeconds: Double = 5) {
        self.maxMessageBytes = maxMessageBytes
        self.maxInFlight = maxInFlight
        self.shutdownGraceSeconds = shutdownGraceSeconds
    }
}
