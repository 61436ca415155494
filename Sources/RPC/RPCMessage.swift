import JSONSchema

/// A JSON-RPC request id: string, number (kept as written) or null.
public enum RPCID: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case number(JSONNumber)
    case null

    public init?(_ v: JSONValue) {
        switch v {
        case .string(let s): self = .string(s)
        case .number(let n): self = .number(n)
        case .null: self = .null
        default: return nil
        }
    }

    public var json: JSONValue {
        switch self {
        case .string(let s): return .string(s)
        case .number(let n): return .number(n)
        case .null: return .null
        }
    }

    public var description: String { JSONWriter.string(json) }
}

/// A request (with `id`) or a notification (without).
public struct RPCRequest: Sendable {
    public let id: RPCID?
    public let method: String
    /// `params` as sent: an object (by name), an array (by position) or absent.
    public let params: JSONValue?

    public init(id: RPCID?, method: String, params: JSONValue?) {
        self.id = id
        self.method = method
        self.params = params
    }

    public var isNotification: Bool { id == nil }

    /// A named parameter, or the positional one at `position` when params are an array.
    public func param(_ name: String, position: Int? = nil) -> JSONValue? {
        switch params {
        case .object(let o)?: return o[name]
        case .array(let a)?: if let position, position < a.count { return a[position] }; return nil
        default: return nil
        }
    }
}

/// A JSON-RPC error object. Codes follow the spec; servers add their own in -32000…-32099.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: Int
    public let message: String
    public let data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public static func parseError(_ why: String) -> RPCError { .init(code: -32700, message: "Parse error: \(why)") }
    public static func invalidRequest(_ why: String) -> RPCError { .init(code: -32600, message: "Invalid Request: \(why)") }
    public static func methodNotFound(_ m: String) -> RPCError { .init(code: -32601, message: "Method not found: \(m)") }
    public static func invalidParams(_ why: String, data: JSONValue? = nil) -> RPCError { .init(code: -32602, message: "Invalid params: \(why)", data: data) }
    public static func internalError(_ why: String) -> RPCError { .init(code: -32603, message: "Internal error: \(why)") }
    /// Atelier's own codes, outside the ranges JSON-RPC and MCP reserve (-32768…-32000).
    public static let busyCode = -31001
    public static let unauthorizedCode = -31002

    /// The server has too many requests in flight on this connection.
    public static func busy(_ limit: Int) -> RPCError {
        .init(code: busyCode, message: "Server busy: \(limit) requests already in flight on this connection; wait for some to finish")
    }
    public static func messageTooLarge(_ limit: Int) -> RPCError {
        .init(code: -32600, message: "Invalid Request: message exceeds the size limit of \(limit) bytes")
    }
    public static let requestCancelled = RPCError(code: -32800, message: "Request cancelled")

    public var json: JSONValue {
        var o = JSONObject()
        o["code"] = .number(JSONNumber(code))
        o["message"] = .string(message)
        if let data { o["data"] = data }
        return .object(o)
    }

    public var description: String { "\(code): \(message)" }
}

/// Encodes outgoing messages.
public enum RPCEncoder {
    public static func result(_ id: RPCID, _ result: JSONValue) -> JSONValue {
        .object(JSONObject([("jsonrpc", "2.0"), ("id", id.json), ("result", result)]))
    }

    public static func error(_ id: RPCID?, _ error: RPCError) -> JSONValue {
        .object(JSONObject([("jsonrpc", "2.0"), ("id", id?.json ?? .null), ("error", error.json)]))
    }

    public static func notification(_ method: String, _ params: JSONValue?) -> JSONValue {
        var o = JSONObject([("jsonrpc", "2.0"), ("method", .string(method))])
        if let params { o["params"] = params }
        return .object(o)
    }

    public static func request(_ id: RPCID, _ method: String, _ params: JSONValue?) -> JSONValue {
        var o = JSONObject([("jsonrpc", "2.0"), ("id", id.json), ("method", .string(method))])
        if let params { o["params"] = params }
        return .object(o)
    }

    /// One line of newline-delimited JSON.
    public static func line(_ message: JSONValue) -> [UInt8] {
        var out = JSONWriter.bytes(message)
        out.append(0x0A)
        return out
    }
}

/// What one incoming line holds.
public enum RPCIncoming: Sendable {
    /// One message: a request/notification, or an error to answer (with the id when it could be read).
    case single(Result<RPCRequest, RPCDecodeFailure>)
    /// A non-empty batch; each element decoded on its own.
    case batch([Result<RPCRequest, RPCDecodeFailure>])
    /// A message that is a response (from a client answering a server request); ignored by servers.
    case response
}

public struct RPCDecodeFailure: Error, Sendable {
    public let id: RPCID?
    public let error: RPCError
}

/// Decodes newline-delimited JSON-RPC 2.0 lines.
public enum RPCDecoder {
    public static func decode(_ line: UnsafeBufferPointer<UInt8>) -> RPCIncoming {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            return .single(.failure(RPCDecodeFailure(id: nil, error: .parseError(error.description))))
        }
        switch value {
        case .array(let items):
            if items.isEmpty { return .single(.failure(RPCDecodeFailure(id: nil, error: .invalidRequest("empty batch")))) }
            return .batch(items.map(decodeOne))
        default:
            if isResponse(value) { return .response }
            return .single(decodeOne(value))
        }
    }

    public static func decode(_ bytes: [UInt8]) -> RPCIncoming {
        bytes.withUnsafeBufferPointer { decode($0) }
    }

    static func isResponse(_ v: JSONValue) -> Bool {
        guard case .object(let o) = v else { return false }
        return o["method"] == nil && (o["result"] != nil || o["error"] != nil) && o["id"] != nil
    }

    static func decodeOne(_ v: JSONValue) -> Result<RPCRequest, RPCDecodeFailure> {
        guard case .object(let o) = v else {
            return .failure(.init(id: nil, error: .invalidRequest("a request must be an object, got \(v.typeName)")))
        }
        var id: RPCID? = nil
        if let rawID = o["id"] {
            guard let parsed = RPCID(rawID) else {
                return .failure(.init(id: nil, error: .invalidRequest("'id' must be a string, a number or null")))
            }
            id = parsed
        }
        guard o["jsonrpc"] == .string("2.0") else {
            return .failure(.init(id: id, error: .invalidRequest("'jsonrpc' must be exactly \"2.0\"")))
        }
        guard case .string(let method)? = o["method"] else {
            return .failure(.init(id: id, error: .invalidRequest("'method' must be a string")))
        }
        if let p = o["params"] {
            switch p {
            case .object, .array: break
            default: return .failure(.init(id: id, error: .invalidRequest("'params' must be an object or an array")))
            }
        }
        return .success(RPCRequest(id: id, method: method, params: o["params"]))
    }
}
