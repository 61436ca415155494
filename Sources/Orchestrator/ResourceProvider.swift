import JSONSchema

/// Something a tool family offers to read as MCP resources (e.g. retrieval collections).
public protocol ResourceProvider: Sendable {
    /// URI prefix this provider answers for, e.g. "atelier://rag/".
    var prefix: String { get }
    /// MCP `Resource` objects (uri, name, title?, mimeType?).
    func list() throws -> [JSONValue]
    /// MCP `contents` entries for `uri`, or nil when there is no such resource.
    func read(_ uri: String) throws -> [JSONValue]?
}
