import Foundation
import Storage

/// The retrieval database: collections → documents → chunks, an FTS5 index (porter) over chunk text,
/// and one float32 vector per chunk. WAL mode, so searches never wait for an ingest.
/// Schema changes go through numbered migrations (PRAGMA user_version).
public final class RAGStore: @unchecked Sendable {
    public let db: SQLiteDatabase
    public let path: String
    static let migrations: [String] = [
        """
        CREATE TABLE collections (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, model TEXT NOT NULL, dimension INTEGER NOT NULL, created REAL NOT NULL,
          generation INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE documents (id INTEGER PRIMARY KEY, collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
          path TEXT NOT NULL, hash TEXT NOT NULL, mtime REAL NOT NULL, size INTEGER NOT NULL, kind TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}',
          ingested REAL NOT NULL, UNIQUE (collection_id, path));
        CREATE TABLE chunks (id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
          ordinal INTEGER NOT NULL, text TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, page INTEGER, heading TEXT);
        CREATE INDEX chunks_document ON chunks(document_id);
        CREATE TABLE vectors (chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE, embedding BLOB NOT NULL);
        CREATE VIRTUAL TABLE chunks_fts USING fts5(text, heading, content='chunks', content_rowid='id', tokenize='porter unicode61');
        CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
          INSERT INTO chunks_fts(rowid, text, heading) VALUES (new.id, new.text, coalesce(new.heading, ''));
        END;
        CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
          INSERT INTO chunks_fts(chunks_fts, rowid, text, heading) VALUES ('delete', old.id, old.text, coalesce(old.heading, ''));
        END;
        """,
        // 2: the persisted approximate-nearest-neighbour graph per collection.
        """
        CREATE TABLE ann_index (collection_id INTEGER PRIMARY KEY REFERENCES collections(id) ON DELETE CASCADE,
          generation INTEGER NOT NULL, data BLOB NOT NULL);
        """,
    ]

    public struct Collection: Sendable {
        public let id: Int
        public let name: String
        public let model: String
        public let dimension: Int
        public let documents: Int
        public let chunks: Int
    }

    public init(path: String) throws {
        self.path = path
        db = try SQLiteDatabase(path: path)
        try migrate()
    }

    /// The store's default location: the user's data directory.
    public static var defaultPath: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_DATA_HOME"] ?? NSHomeDirectory() + "/.local/share"
        return base + "/atelier/rag.sqlite"
    }

    private func migrate() throws {
        let version = try db.query("PRAGMA user_version").first?["user_version"]?.int ?? 0
        guard version < Self.migrations.count else { return }
        try db.transaction {
            for v in version..<Self.migrations.count {
                try db.executeScript(Self.migrations[v])
            }
            try db.execute("PRAGMA user_version = \(Self.migrations.count)")
        }
    }

    /// The collection, created on first use for this model.
    public func collection(named name: String, model: String, dimension: Int, create: Bool = true) throws -> Int? {
        if let row = try db.query("SELECT id, model, dimension FROM collections WHERE name = ?", [.text(name)]).first {
            if row["model"]?.text != model || row["dimension"]?.int != dimension {
                throw RetrievalError.modelMismatch(collection: name, stored: row["model"]?.text ?? "?", current: model)
            }
            return row["id"]!.int!
        }
        guard create else { return nil }
        try db.execute("INSERT INTO collections (name, model, dimension, created) VALUES (?, ?, ?, ?)",
                       [.text(name), .text(model), .int(Int64(dimension)), .double(Date().timeIntervalSince1970)])
        return Int(db.lastInsertRowID)
    }

    public func collections() throws -> [Collection] {
        try db.query("""
            SELECT c.id, c.name, c.model, c.dimension,
              (SELECT count(*) FROM documents d WHERE d.collection_id = c.id) AS documents,
              (SELECT count(*) FROM chunks k JOIN documents d ON k.document_id = d.id WHERE d.collection_id = c.id) AS chunks
            FROM collections c ORDER BY c.name
            """).map {
            Collection(id: $0["id"]!.int!, name: $0["name"]!.text!, model: $0["model"]!.text!, dimension: $0["dimension"]!.int!,
                       documents: $0["documents"]!.int!, chunks: $0["chunks"]!.int!)
        }
    }

    /// Deletes a whole collection, or the given document paths in it. Returns the documents removed.
    @discardableResult
    public func delete(collection: String, paths: [String]? = nil) throws -> Int {
        guard let row = try db.query("SELECT id FROM collections WHERE name = ?", [.text(collection)]).first, let cid = row["id"]?.int else {
            throw RetrievalError.unknownCollection(collection)
        }
        return try db.transaction {
            if let paths {
                var n = 0
                for p in paths {
                    n += try db.query("SELECT count(*) AS n FROM documents WHERE collection_id = ? AND path = ?", [.int(Int64(cid)), .text(p)]).first?["n"]?.int ?? 0
                    try db.execute("DELETE FROM documents WHERE collection_id = ? AND path = ?", [.int(Int64(cid)), .text(p)])
                }
                return n
            }
            let n = try db.query("SELECT count(*) AS n FROM documents WHERE collection_id = ?", [.int(Int64(cid))]).first?["n"]?.int ?? 0
            try db.execute("DELETE FROM collections WHERE id = ?", [.int(Int64(cid))])
            return n
        }
    }
}

public enum RetrievalError: Error, CustomStringConvertible {
    case modelMismatch(collection: String, stored: String, current: String)
    case unknownCollection(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .modelMismatch(let c, let s, let m):
            return "collection '\(c)' was built with embedding model '\(s)', not '\(m)': ingest into a new collection or re-ingest"
        case .unknownCollection(let c): return "no collection named '\(c)'"
        case .invalid(let s): return s
        }
    }
}
