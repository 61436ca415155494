import ArgumentParser
import Foundation
import JSONSchema
import Retrieval
import Text
import Tools

/// Where the retrieval store is: --db, else ATELIER_RAG_DB or the config's path, else the default.
func ragDatabase(_ db: String?, _ common: CommonOptions) throws -> String {
    if let db { return db }
    return (try common.loadConfig() ?? AtelierConfig()).ragDatabasePath ?? RAGStore.defaultPath
}

func loadEmbedder() throws -> SentenceEmbedder {
    do { return try SentenceEmbedder.defaultModel() } catch { throw ValidationError("\(error)") }
}

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "Add files or folders to a retrieval collection.")

    @Argument(help: "Files or folders.") var paths: [String]
    @Option(name: .long) var collection: String = "default"
    @Option(name: .long, help: "Retrieval database (SQLite).") var db: String?
    @Flag(name: .long, help: "Print the ingest report as JSON.") var json = false
    @OptionGroup var common: CommonOptions

    func run() throws {
        Log.level = common.logLevel
        let store = try RAGStore(path: try ragDatabase(db, common))
        let ingestor = Ingestor(store: store, embedder: try loadEmbedder())
        let report = try ingestor.ingest(paths, collection: collection) { done, total, path in
            if !path.isEmpty { Log.info("[\(done + 1)/\(total)] \(path)") }
        }
        if json {
            printJSON(RAGIngestTool.json(report, collection: collection), pretty: true)
        } else {
            print("\(collection): \(report.added) added, \(report.updated) updated, \(report.unchanged) unchanged, \(report.deleted) deleted, \(report.chunks) chunks in \(String(format: "%.1f", report.seconds)) s")
            for s in report.skipped { print("skipped \(s.path): \(s.reason)") }
        }
    }
}

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Search a retrieval collection; hits cite document, page and character range.")

    @Argument(help: "The query.") var query: String
    @Option(name: .long) var collection: String = "default"
    @Option(name: .long) var k: Int = 5
    @Option(name: .long, help: "bm25, dense or hybrid.") var mode: String = "hybrid"
    @Option(name: .long, help: "Retrieval database (SQLite).") var db: String?
    @Flag(name: .long) var json = false
    @OptionGroup var common: CommonOptions

    func run() throws {
        guard let m = Searcher.Mode(rawValue: mode) else { throw ValidationError("--mode must be bm25, dense or hybrid") }
        let store = try RAGStore(path: try ragDatabase(db, common))
        let searcher = Searcher(store: store, embedder: try loadEmbedder())
        let hits: [Searcher.Hit]
        do { hits = try searcher.search(query, collection: collection, k: k, mode: m) } catch let e as RetrievalError {
            throw ValidationError(e.description)
        }
        if json {
            printJSON(JSONValue.object(JSONObject([("query", .string(query)), ("mode", .string(mode)), ("hits", .array(hits.map(RAGSearchTool.json)))])), pretty: true)
        } else {
            for (i, h) in hits.enumerated() {
                print("[\(i + 1)] \(String(format: "%.4f", h.score)) \(h.path)\(h.page.map { " p.\($0)" } ?? "") [\(h.start)–\(h.end)]")
                print("    \(h.snippet)")
            }
        }
    }
}

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "embed", abstract: "Print the MiniLM embedding of a text.")

    @Argument(help: "The text.") var text: String
    @Flag(name: .long, help: "Print the vector as a JSON array.") var json = false

    func run() throws {
        let v = try loadEmbedder().embed([text])[0]
        if json {
            print(JSONWriter.string(.array(v.map { JSONValue(Double($0)) })))
        } else {
            print(v.map { String(format: "%.6f", $0) }.joined(separator: " "))
        }
    }
}
