import Foundation
import Storage

/// Adds files to a collection. Incremental: unchanged files (same content hash) are skipped, changed
/// ones replaced, and files gone from an ingested folder removed. Each document is written in one
/// transaction, so a killed process never leaves half a document.
public final class Ingestor: @unchecked Sendable {
    public let store: RAGStore
    public let embedder: TextEmbedder
    public var chunker: Chunker
    public var maxBytes: Int

    public struct Report: Sendable {
        public var added = 0, updated = 0, unchanged = 0, deleted = 0, chunks = 0
        public var skipped: [(path: String, reason: String)] = []
        public var seconds = 0.0
    }

    public typealias Progress = @Sendable (_ done: Int, _ total: Int, _ path: String) -> Void

    public init(store: RAGStore, embedder: TextEmbedder, chunker: Chunker = Chunker(), maxBytes: Int = 64 << 20) {
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.maxBytes = maxBytes
    }

    static let skippedDirectories: Set<String> = [".git", ".build", ".svn", ".hg", "node_modules", "__pycache__", ".venv", ".cache"]

    /// Every file under the given paths (directories recursively, hidden and build folders skipped).
    static func files(_ paths: [String]) -> (files: [String], roots: [String], missing: [String]) {
        var files: [String] = [], roots: [String] = [], missing: [String] = []
        let fm = FileManager.default
        for raw in paths {
            let p = URL(fileURLWithPath: raw).standardizedFileURL.path
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { missing.append(raw); continue }
            if !isDir.boolValue { files.append(p); continue }
            roots.append(p)
            guard let e = fm.enumerator(atPath: p) else { continue }
            while let rel = e.nextObject() as? String {
                let name = (rel as NSString).lastPathComponent
                if name.hasPrefix(".") || skippedDirectories.contains(name) {
                    if (e.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { e.skipDescendants() }
                    continue
                }
                if (e.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { files.append(p + "/" + rel) }
            }
        }
        return (files.sorted(), roots, missing)
    }

    public func ingest(_ paths: [String], collection name: String, progress: Progress? = nil,
                       isCancelled: @Sendable () -> Bool = { false }) throws -> Report {
        let start = Date()
        var report = Report()
        guard let cid = try store.collection(named: name, model: embedder.modelName, dimension: embedder.dimension) else {
            throw RetrievalError.unknownCollection(name)
        }
        let (found, roots, missing) = Self.files(paths)
        // Never ingest the store itself (its database, WAL and shared-memory files).
        let own = URL(fileURLWithPath: store.path).standardizedFileURL.path
        let files = found.filter { !$0.hasPrefix(own) }
        for m in missing { report.skipped.append((m, "does not exist")) }
        var known: [String: String] = [:]
        for row in try store.db.query("SELECT path, hash FROM documents WHERE collection_id = ?", [.int(Int64(cid))]) {
            known[row["path"]!.text!] = row["hash"]!.text!
        }
        for (i, path) in files.enumerated() {
            if isCancelled() { throw CancellationError() }
            progress?(i, files.count, path)
            do {
                guard let data = FileManager.default.contents(atPath: path) else { throw DocumentReader.Skip.unreadable("cannot open") }
                let hash = SHA256.hex(data)
                if known[path] == hash { report.unchanged += 1; continue }
                let doc = try DocumentReader.read(path, maxBytes: maxBytes)
                var pieces: [(Chunker.Chunk, Int?)] = []
                for (p, text) in doc.pages.enumerated() {
                    for c in chunker.chunks(of: text, kind: doc.kind, tokens: embedder.tokenCount) {
                        pieces.append((c, doc.pages.count > 1 ? p + 1 : nil))
                    }
                }
                let vectors = try embedder.embed(pieces.map(\.0.text))
                try write(cid: cid, path: path, hash: hash, size: data.count, kind: doc.kind, pieces: pieces, vectors: vectors)
                if known[path] == nil { report.added += 1 } else { report.updated += 1 }
                report.chunks += pieces.count
            } catch let skip as DocumentReader.Skip {
                report.skipped.append((path, skip.description))
            }
        }
        // Files that were in an ingested folder and are gone now.
        let present = Set(files)
        let gone = known.keys.filter { p in !present.contains(p) && roots.contains { p.hasPrefix($0 + "/") } }
        if !gone.isEmpty { report.deleted = try store.delete(collection: name, paths: gone) }
        progress?(files.count, files.count, "")
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    private func write(cid: Int, path: String, hash: String, size: Int, kind: DocumentReader.Kind,
                       pieces: [(Chunker.Chunk, Int?)], vectors: [[Float]]) throws {
        let mtime = ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        try store.db.transaction {
            try store.db.execute("DELETE FROM documents WHERE collection_id = ? AND path = ?", [.int(Int64(cid)), .text(path)])
            try store.db.execute("INSERT INTO documents (collection_id, path, hash, mtime, size, kind, ingested) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 [.int(Int64(cid)), .text(path), .text(hash), .double(mtime), .int(Int64(size)), .text(kind.rawValue),
                                  .double(Date().timeIntervalSince1970)])
            let docID = store.db.lastInsertRowID
            let insertChunk = try store.db.prepare("INSERT INTO chunks (document_id, ordinal, text, start, end, page, heading) VALUES (?, ?, ?, ?, ?, ?, ?)")
            let insertVector = try store.db.prepare("INSERT INTO vectors (chunk_id, embedding) VALUES (?, ?)")
            for (i, (c, page)) in pieces.enumerated() {
                try insertChunk.run([.int(docID), .int(Int64(i)), .text(c.text), .int(Int64(c.start)), .int(Int64(c.end)),
                                     page.map { .int(Int64($0)) } ?? .null, c.heading.map { .text($0) } ?? .null])
                let chunkID = store.db.lastInsertRowID
                let bytes = vectors[i].withUnsafeBytes { Array($0) }
                try insertVector.run([.int(chunkID), .blob(bytes)])
            }
            try store.db.execute("UPDATE collections SET generation = generation + 1 WHERE id = ?", [.int(Int64(cid))])
        }
    }
}
