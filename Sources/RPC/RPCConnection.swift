import Foundation
import JSONSchema

/// One client connection: decodes its lines, runs its requests concurrently (answers may come out of
/// order), tracks them for cancellation, and enforces the in-flight limit. Transport-independent.
public final class RPCConnection: @unchecked Sendable {
    public let id: Int
    public let transport: String
    let handler: RPCHandler
    let sink: MessageSink
    let limits: RPCLimits
    private let lock = NSLock()
    private var inFlight: [Int: Task<Void, Never>] = [:]
    private var byRequestID: [RPCID: Int] = [:]
    private var cancelledByClient: Set<Int> = []
    private var nextSlot = 0
    /// Requests admitted and not yet answered (tasks may not be registered yet).
    private var active = 0
    private var state: [String: JSONValue] = [:]
    private var closed = false
    private let idle = NSCondition()

    private static let counter = NSLock()
    nonisolated(unsafe) private static var lastID = 0

    /// Where request tasks run. A transport can run them on its own I/O thread so that answers are
    /// written without a thread hop; nil means Swift's global executor.
    let executor: (any TaskExecutor)?

    public init(handler: RPCHandler, sink: MessageSink, limits: RPCLimits, transport: String, executor: (any TaskExecutor)? = nil) {
        self.executor = executor
        Self.counter.lock()
        Self.lastID += 1
        id = Self.lastID
        Self.counter.unlock()
        self.handler = handler
        self.sink = sink
        self.limits = limits
        self.transport = transport
    }

    /// Per-connection application state (e.g. the negotiated MCP version).
    public subscript(state key: String) -> JSONValue? {
        get { lock.withLock { state[key] } }
        set { lock.withLock { state[key] = newValue } }
    }

    public var inFlightCount: Int { lock.withLock { active } }

    public func send(_ message: JSONValue) {
        if lock.withLock({ closed }) { return }
        sink.send(RPCEncoder.line(message))
    }

    /// Feeds one complete line (without its newline).
    public func receive(_ line: UnsafeBufferPointer<UInt8>) {
        switch RPCDecoder.decode(line) {
        case .response:
            return
        case .single(.failure(let f)):
            send(RPCEncoder.error(f.id, f.error))
        case .single(.success(let req)):
            if let refusal = handler.admit(req, connection: self) {
                if !req.isNotification { send(RPCEncoder.error(req.id, refusal)) }
                return
            }
            if req.isNotification {
                handler.notify(req, connection: self)
                return
            }
            start(req)
        case .batch(let items):
            runBatch(items)
        }
    }

    /// Answers a line that was too long to read.
    public func rejectOversized() {
        send(RPCEncoder.error(nil, .messageTooLarge(limits.maxMessageBytes)))
    }

    private func reserveSlot(for req: RPCRequest) -> Int? {
        lock.withLock {
            guard active < limits.maxInFlight, !closed else { return nil }
            active += 1
            nextSlot += 1
            if let id = req.id { byRequestID[id] = nextSlot }
            return nextSlot
        }
    }

    private func start(_ req: RPCRequest) {
        guard let slot = reserveSlot(for: req) else {
            send(RPCEncoder.error(req.id, .busy(limits.maxInFlight)))
            return
        }
        let task = Task(executorPreference: executor) { [self] in
            let response = await self.respond(req)
            self.finish(slot, req.id, response)
        }
        lock.withLock {
            // The task may already have finished and removed nothing; only keep it while it runs.
            if !finishedEarly.contains(slot) { inFlight[slot] = task } else { finishedEarly.remove(slot) }
        }
    }

    private var finishedEarly: Set<Int> = []

    private func finish(_ slot: Int, _ id: RPCID?, _ response: JSONValue?) {
        let suppressed: Bool = lock.withLock {
            active -= 1
            if inFlight.removeValue(forKey: slot) == nil { finishedEarly.insert(slot) }
            if let id, byRequestID[id] == slot { byRequestID.removeValue(forKey: id) }
            return cancelledByClient.remove(slot) != nil
        }
        if let response, !suppressed { send(response) }
        idle.lock(); idle.broadcast(); idle.unlock()
    }

    /// Runs one request to its response message (nil for notifications).
    func respond(_ req: RPCRequest) async -> JSONValue? {
        let ctx = RPCContext(requestID: req.id, connection: self)
        do {
            let result = try await handler.handle(req, context: ctx)
            guard let id = req.id else { return nil }
            return RPCEncoder.result(id, result)
        } catch let e as RPCError {
            return req.id.map { RPCEncoder.error($0, e) }
        } catch is CancellationError {
            return req.id.map { RPCEncoder.error($0, .requestCancelled) }
        } catch {
            return req.id.map { RPCEncoder.error($0, .internalError("\(error)")) }
        }
    }

    private func runBatch(_ items: [Result<RPCRequest, RPCDecodeFailure>]) {
        let n = items.reduce(0) { $0 + (((try? $1.get())?.isNotification ?? true) ? 0 : 1) }
        let over = lock.withLock {
            let over = active + n > limits.maxInFlight
            active += 1
            return over
        }
        Task { [self] in
            defer { batchFinished() }
            var responses: [JSONValue?] = Array(repeating: nil, count: items.count)
            await withTaskGroup(of: (Int, JSONValue?).self) { group in
                for (i, item) in items.enumerated() {
                    switch item {
                    case .failure(let f):
                        responses[i] = RPCEncoder.error(f.id, f.error)
                    case .success(let req):
                        if let refusal = handler.admit(req, connection: self) {
                            if !req.isNotification { responses[i] = RPCEncoder.error(req.id, refusal) }
                        } else if req.isNotification {
                            handler.notify(req, connection: self)
                        } else if over {
                            responses[i] = RPCEncoder.error(req.id, .busy(limits.maxInFlight))
                        } else {
                            group.addTask { (i, await self.respond(req)) }
                        }
                    }
                }
                for await (i, r) in group { responses[i] = r }
            }
            let out = responses.compactMap { $0 }
            if !out.isEmpty { send(.array(out)) }
        }
    }

    private func batchFinished() {
        lock.withLock { active -= 1 }
        idle.lock(); idle.broadcast(); idle.unlock()
    }

    /// Cancels a request at the client's wish: its work stops and no response is sent.
    @discardableResult
    public func cancel(requestID: RPCID) -> Bool {
        let task: Task<Void, Never>? = lock.withLock {
            guard let slot = byRequestID[requestID], let t = inFlight[slot] else { return nil }
            cancelledByClient.insert(slot)
            return t
        }
        task?.cancel()
        return task != nil
    }

    /// Ends the connection: waits up to `grace` seconds for in-flight work, then cancels the rest.
    public func close(grace: Double) {
        let deadline = Date().addingTimeInterval(grace)
        idle.lock()
        while inFlightCount > 0 && Date() < deadline {
            _ = idle.wait(until: min(deadline, Date().addingTimeInterval(0.05)))
        }
        idle.unlock()
        let rest: [Task<Void, Never>] = lock.withLock {
            closed = true
            return Array(inFlight.values)
        }
        for t in rest { t.cancel() }
    }

    /// The peer went away: cancel everything now, send nothing more.
    public func abort() {
        let rest: [Task<Void, Never>] = lock.withLock {
            closed = true
            return Array(inFlight.values)
        }
        for t in rest { t.cancel() }
    }
}
