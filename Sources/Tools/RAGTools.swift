import Foundation
import JSONSchema
import Orchestrator
import Retrieval
import Text

/// The retrieval store, embedder and searcher shared by the rag_* tools; the model loads on first use.
public final class RAGService: @unchecked Sendable {
    public let databasePath: String
    public let sandbox: RootSandbox
    private let lock = NSLock()
    private var parts: (RAGStore, SentenceEmbedder, Searcher)?
    private var storeOnly: RAGStore?

    public init(databasePath: String, sandbox: RootSandbox) {
        self.databasePath = databasePath
        self.sandbox = sandbox
    }

    /// The store alone (listing, deleting, resources): opened once, without loading the model.
    public func store() throws -> RAGStore {
        try lock.withLock { try openStore() }
    }

    private func openStore() throws -> RAGStore {
        if let s = storeOnly { return s }
        let s = try RAGStore(path: databasePath)
        storeOnly = s
        return s
    }

    public func open() throws -> (store: RAGStore, embedder: SentenceEmbedder, searcher: Searcher) {
        try lock.withLock {
            if let p = parts { return p }
            let store = try openStore()
            let embedder = try SentenceEmbedder.defaultModel()
            let p = (store, embedder, Searcher(store: store, embedder: embedder))
            parts = p
            return p
        }
    }
}

public struct RAGIngestTool: Tool {
    public let descriptor = ToolCatalog.descriptor("rag_ingest")
    let service: RAGService

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let (store, embedder, _) = try service.open()
        let collection = arguments["collection"]?.stringValue ?? "default"
        var paths: [String] = []
        for p in arguments["paths"]?.arrayValue ?? [] {
            do { paths.append(try service.sandbox.resolve(p.stringValue ?? "").path) } catch { throw ToolError.failed("\(error)") }
        }
        let ingestor = Ingestor(store: store, embedder: embedder)
        let report = try ingestor.ingest(paths, collection: collection, progress: { done, total, path in
            context.progress(Double(done), total: Double(total), message: path.isEmpty ? "done" : "ingesting \((path as NSString).lastPathComponent)")
        }, isCancelled: { (try? context.checkCancellation()) == nil })
        let out = RAGIngestTool.json(report, collection: collection)
        return ToolOutput(structured: out, text: "\(collection): \(report.added) added, \(report.updated) updated, \(report.unchanged) unchanged, \(report.deleted) deleted, \(report.skipped.count) skipped, \(report.chunks) chunks")
    }

    public static func json(_ r: Ingestor.Report, collection: String) -> JSONValue {
        .object(JSONObject([
            ("collection", .string(collection)), ("added", JSONValue(r.added)), ("updated", JSONValue(r.updated)),
            ("unchanged", JSONValue(r.unchanged)), ("deleted", JSONValue(r.deleted)), ("chunks", JSONValue(r.chunks)),
            ("skipped", .array(r.skipped.map { .object(JSONObject([("path", .string($0.path)), ("reason", .string($0.reason))])) })),
            ("seconds", .number(JSONNumber((r.seconds * 1000).rounded() / 1000))),
        ]))
    }
}

public struct RAGSearchTool: Tool {
    public let descriptor = ToolCatalog.descriptor("rag_search")
    let service: RAGService

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let (_, _, searcher) = try service.open()
        let mode = Searcher.Mode(rawValue: arguments["mode"]?.stringValue ?? "hybrid") ?? .hybrid
        let hits: [Searcher.Hit]
        do {
            hits = try searcher.search(arguments["query"]!.stringValue!, collection: arguments["collection"]?.stringValue ?? "default",
                                       k: arguments["k"]?.intValue ?? 5, mode: mode, pathPrefix: arguments["pathPrefix"]?.stringValue,
                                       mmr: arguments["mmr"]?.doubleValue)
        } catch let e as RetrievalError { throw ToolError.failed(e.description) }
        let out: JSONValue = .object(JSONObject([("hits", .array(hits.map(Self.json)))]))
        let text = hits.enumerated().map { i, h in "[\(i + 1)] \(h.path)\(h.page.map { " p.\($0)" } ?? "") [\(h.start)–\(h.end)]: \(h.snippet)" }.joined(separator: "\n")
        return ToolOutput(structured: out, text: text.isEmpty ? "no results" : text)
    }

    public static func json(_ h: Searcher.Hit) -> JSONValue {
        .object(JSONObject([
            ("path", .string(h.path)), ("score", .number(JSONNumber((h.score * 1e6).rounded() / 1e6))), ("text", .string(h.text)),
            ("snippet", .string(h.snippet)),
            ("citation", .object(JSONObject([
                ("document", .string(h.path)), ("page", h.page.map { JSONValue($0) } ?? .null), ("start", JSONValue(h.start)),
                ("end", JSONValue(h.end)), ("heading", h.heading.map { .string($0) } ?? .null), ("chunk", JSONValue(Int(h.chunkID))),
            ]))),
        ]))
    }
}

public struct RAGDeleteTool: Tool {
    public let descriptor = ToolCatalog.descriptor("rag_delete")
    let service: RAGService

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let store = try service.store()
        let name = arguments["collection"]!.stringValue!
        let paths = arguments["paths"]?.arrayValue?.compactMap(\.stringValue).map { p in
            (try? service.sandbox.resolve(p).path) ?? URL(fileURLWithPath: p).standardizedFileURL.path
        }
        do {
            let n = try store.delete(collection: name, paths: paths)
            return ToolOutput(structured: .object(JSONObject([("collection", .string(name)), ("deletedDocuments", JSONValue(n))])),
                              text: "deleted \(n) documents from \(name)")
        } catch let e as RetrievalError { throw ToolError.failed(e.description) }
    }
}

public struct RAGCollectionsTool: Tool {
    public let descriptor = ToolCatalog.descriptor("rag_collections")
    let service: RAGService
    public var isBoundedCompute: Bool { true }

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let list = try service.store().collections().map { c -> JSONValue in
            .object(JSONObject([("name", .string(c.name)), ("model", .string(c.model)), ("dimension", JSONValue(c.dimension)),
                                ("documents", JSONValue(c.documents)), ("chunks", JSONValue(c.chunks))]))
        }
        return ToolOutput(structured: .object(JSONObject([("collections", .array(list)), ("database", .string(service.databasePath))])),
                          text: list.compactMap { $0["name"]?.stringValue }.joined(separator: "\n"))
    }
}

/// Retrieval collections as MCP resources: `atelier://rag/NAME` reads as the collection's document list.
public struct RAGCollectionResources: ResourceProvider {
    let service: RAGService
    public let prefix = "atelier://rag/"

    public func list() throws -> [JSONValue] {
        guard FileManager.default.fileExists(atPath: service.databasePath) else { return [] }
        return try service.store().collections().map { c in
            .object(JSONObject([("uri", .string(prefix + c.name)), ("name", .string(c.name)),
                                ("title", .string("Retrieval collection \(c.name) (\(c.documents) documents, \(c.chunks) chunks)")),
                                ("mimeType", "application/json")]))
        }
    }

    public func read(_ uri: String) throws -> [JSONValue]? {
        guard FileManager.default.fileExists(atPath: service.databasePath) else { return nil }
        let name = String(uri.dropFirst(prefix.count))
        let store = try service.store()
        guard let c = try store.collections().first(where: { $0.name == name }) else { return nil }
        let docs = try store.db.query("SELECT path, kind, size, (SELECT count(*) FROM chunks k WHERE k.document_id = d.id) AS chunks FROM documents d WHERE collection_id = ? ORDER BY path",
                                      [.int(Int64(c.id))]).map { r -> JSONValue in
            .object(JSONObject([("path", .string(r["path"]?.text ?? "")), ("kind", .string(r["kind"]?.text ?? "")),
                                ("bytes", JSONValue(r["size"]?.int ?? 0)), ("chunks", JSONValue(r["chunks"]?.int ?? 0))]))
        }
        let body: JSONValue = .object(JSONObject([("collection", .string(name)), ("model", .string(c.model)), ("documents", .array(docs))]))
        return [.object(JSONObject([("uri", .string(uri)), ("mimeType", "application/json"), ("text", .string(JSONWriter.string(body, pretty: true)))]))]
    }
}
