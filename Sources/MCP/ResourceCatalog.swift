import JSONSchema
import Orchestrator
import RPC

/// Resources offered over MCP: each tool's descriptor (its input and output schemas), read-only.
struct ResourceCatalog: Sendable {
    let registry: ToolRegistry
    static let prefix = "atelier://tools/"

    func list() -> [JSONValue] {
        let extra = registry.resourceProviders.flatMap { (try? $0.list()) ?? [] }
        return tools() + extra
    }

    func tools() -> [JSONValue] {
        registry.descriptors.map { d in
            .object(JSONObject([
                ("uri", .string(Self.prefix + d.name)), ("name", .string(d.name)),
                ("title", .string("Schema of the \(d.name) tool")), ("mimeType", "application/json"),
            ]))
        }
    }

    /// A missing resource is -32002 in the handshake era and -32602 (with `data.uri`) in 2026-07-28.
    func read(_ request: RPCRequest, stateless: Bool) throws -> JSONValue {
        guard let uri = request.param("uri")?.stringValue else { throw RPCError.invalidParams("'uri' must be a resource URI") }
        for p in registry.resourceProviders where uri.hasPrefix(p.prefix) {
            if let contents = try p.read(uri) { return .object(JSONObject([("contents", .array(contents))])) }
        }
        guard uri.hasPrefix(Self.prefix), let d = registry.descriptor(String(uri.dropFirst(Self.prefix.count))) else {
            throw RPCError(code: stateless ? -32602 : -32002, message: "Resource not found: \(uri)", data: .object(JSONObject([("uri", .string(uri))])))
        }
        return .object(JSONObject([("contents", .array([.object(JSONObject([
            ("uri", .string(uri)), ("mimeType", "application/json"), ("text", .string(JSONWriter.string(d.json, pretty: true))),
        ]))]))]))
    }
}
