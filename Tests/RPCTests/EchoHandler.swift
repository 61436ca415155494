import Foundation
import JSONSchema
import RPC

/// A small application for driving `RPCConnection`: echo, sleep (cancellable), fail, and a
/// notification log.
final class EchoHandler: RPCHandler, @unchecked Sendable {
    let lock = NSLock()
    var notifications: [String] = []
    var cancelledSleeps = 0

    func handle(_ request: RPCRequest, context: RPCContext) async throws -> JSONValue {
        switch request.method {
        case "echo": return request.params ?? .null
        case "add":
            guard let a = request.param("a", position: 0)?.intValue, let b = request.param("b", position: 1)?.intValue else {
                throw RPCError.invalidParams("a and b must be integers")
            }
            return JSONValue(a + b)
        case "sleep":
            let ms = request.param("ms", position: 0)?.intValue ?? 0
            do { try await Task.sleep(nanoseconds: UInt64(ms) * 1_000_000) } catch {
                lock.withLock { cancelledSleeps += 1 }
                throw error
            }
            return JSONValue(ms)
        case "crash": throw NSError(domain: "test", code: 1)
        default: throw RPCError.methodNotFound(request.method)
        }
    }

    func notify(_ request: RPCRequest, connection: RPCConnection) {
        lock.withLock { notifications.append(request.method) }
        if request.method == "cancel", let id = request.param("id").flatMap(RPCID.init) { connection.cancel(requestID: id) }
    }
}
