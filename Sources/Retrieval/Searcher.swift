import Foundation
import Storage

/// Retrieval over a collection: BM25 (FTS5), dense (exact k-NN) or hybrid (reciprocal rank fusion,
/// k = 60), with optional MMR for diversity. Every hit carries its citation.
public final class Searcher: @unchecked Sendable {
    public enum Mode: String, Sendable, CaseIterable { case bm25, dense, hybrid }

    public struct Hit: Sendable {
        public let chunkID: Int64
        public let path: String
        public let score: Double
        public let text: String
        public let page: Int?
        public let start: Int
        public let end: Int
        public let heading: String?
        /// The chunk text around the matching words, which are marked with ⟦ ⟧.
        public let snippet: String
    }

    public let store: RAGStore
    public let embedder: TextEmbedder
    public let index: VectorIndex
    public static let rrfK = 60.0

    public init(store: RAGStore, embedder: TextEmbedder, index: VectorIndex = VectorIndex()) {
        self.store = store
        self.embedder = embedder
        self.index = index
    }

    public func search(_ query: String, collection name: String, k: Int = 10, mode: Mode = .hybrid,
                       pathPrefix: String? = nil, mmr: Double? = nil) throws -> [Hit] {
        guard let cid = try store.collection(named: name, model: embedder.modelName, dimension: embedder.dimension, create: false) else {
            throw RetrievalError.unknownCollection(name)
        }
        let pool = max(k * 4, 40)
        var ranked: [(Int64, Double)]
        switch mode {
        case .bm25: ranked = try bm25(query, cid: cid, limit: pool, pathPrefix: pathPrefix)
        case .dense: ranked = try dense(query, cid: cid, limit: pool, pathPrefix: pathPrefix).map { ($0.0, Double($0.1)) }
        case .hybrid:
            let lexical = try bm25(query, cid: cid, limit: pool, pathPrefix: pathPrefix)
            let semantic = try dense(query, cid: cid, limit: pool, pathPrefix: pathPrefix)
            var fused: [Int64: Double] = [:]
            for (rank, (id, _)) in lexical.enumerated() { fused[id, default: 0] += 1 / (Self.rrfK + Double(rank + 1)) }
            for (rank, (id, _)) in semantic.enumerated() { fused[id, default: 0] += 1 / (Self.rrfK + Double(rank + 1)) }
            ranked = fused.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        if let lambda = mmr, ranked.count > k { ranked = try diversify(ranked, k: k, lambda: lambda, cid: cid) }
        let terms = Self.terms(query)
        return try hits(Array(ranked.prefix(k)), terms: terms)
    }

    /// Words of the query, for FTS and for marking snippets.
    static func terms(_ query: String) -> [String] {
        query.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init).filter { !$0.isEmpty }
    }

    func pathFilter(_ prefix: String?) -> (String, [SQLiteDatabase.Value]) {
        guard let prefix else { return ("", []) }
        return (" AND d.path LIKE ? ESCAPE '\\'", [.text(prefix.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%")])
    }

    func bm25(_ query: String, cid: Int, limit: Int, pathPrefix: String?) throws -> [(Int64, Double)] {
        let terms = Self.terms(query)
        guard !terms.isEmpty else { return [] }
        // Quoted terms joined by OR: any user text is a valid FTS5 query, and BM25 ranks by matches.
        let match = terms.map { "\"\($0)\"" }.joined(separator: " OR ")
        let (filter, params) = pathFilter(pathPrefix)
        return try store.db.query("""
            SELECT c.id AS id, bm25(chunks_fts) AS score FROM chunks_fts
            JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.document_id
            WHERE chunks_fts MATCH ? AND d.collection_id = ?\(filter) ORDER BY score LIMIT ?
            """, [.text(match), .int(Int64(cid))] + params + [.int(Int64(limit))]).map {
            (Int64($0["id"]!.int!), -($0["score"]?.double ?? 0))
        }
    }

    func dense(_ query: String, cid: Int, limit: Int, pathPrefix: String?) throws -> [(Int64, Float)] {
        guard let q = try embedder.embed([query]).first else { return [] }
        var allowed: Set<Int64>? = nil
        if pathPrefix != nil {
            let (filter, params) = pathFilter(pathPrefix)
            allowed = Set(try store.db.query("SELECT c.id AS id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.collection_id = ?\(filter)",
                                             [.int(Int64(cid))] + params).compactMap { $0["id"]?.int.map(Int64.init) })
        }
        return try index.search(store: store, collection: cid, query: q, k: limit, allow: allowed.map { set in { set.contains($0) } })
    }

    /// Maximal marginal relevance over the candidates' stored vectors.
    func diversify(_ ranked: [(Int64, Double)], k: Int, lambda: Double, cid: Int) throws -> [(Int64, Double)] {
        var vectors: [Int64: [Float]] = [:]
        for (id, _) in ranked {
            if case .blob(let b)? = try store.db.query("SELECT embedding FROM vectors WHERE chunk_id = ?", [.int(id)]).first?["embedding"] {
                vectors[id] = b.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            }
        }
        let top = ranked.first?.1 ?? 1
        var chosen: [(Int64, Double)] = []
        var rest = ranked
        while chosen.count < k, !rest.isEmpty {
            var best = 0, bestScore = -Double.infinity
            for (i, (id, rel)) in rest.enumerated() {
                var sim = 0.0
                let v = vectors[id] ?? []
                for c in chosen {
                    let u = vectors[c.0] ?? []
                    var dot: Float = 0
                    for j in 0..<min(u.count, v.count) { dot += u[j] * v[j] }
                    sim = max(sim, Double(dot))
                }
                let s = lambda * rel / top - (1 - lambda) * sim
                if s > bestScore { bestScore = s; best = i }
            }
            chosen.append(rest.remove(at: best))
        }
        return chosen
    }

    /// The ranked chunks with their citations, read in one query.
    func hits(_ ranked: [(Int64, Double)], terms: [String]) throws -> [Hit] {
        guard !ranked.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: ranked.count).joined(separator: ",")
        var rows: [Int64: [String: SQLiteDatabase.Value]] = [:]
        for row in try store.db.query("""
            SELECT c.id, c.text, c.page, c.start, c.end, c.heading, d.path FROM chunks c JOIN documents d ON d.id = c.document_id
            WHERE c.id IN (\(marks))
            """, ranked.map { .int($0.0) }) {
            if let id = row["id"]?.int { rows[Int64(id)] = row }
        }
        return ranked.compactMap { id, score in
            guard let row = rows[id] else { return nil }
            let text = row["text"]?.text ?? ""
            return Hit(chunkID: id, path: row["path"]?.text ?? "", score: score, text: text, page: row["page"]?.int,
                       start: row["start"]?.int ?? 0, end: row["end"]?.int ?? 0, heading: row["heading"]?.text,
                       snippet: Self.snippet(text, terms: terms))
        }
    }

    /// Up to ~240 characters around the first matching word, every matching word marked ⟦like this⟧.
    static let stopWords: Set<String> = ["the", "and", "for", "are", "was", "with", "that", "this", "what", "how", "does", "from",
                                         "into", "its", "has", "have", "not", "but", "can", "you", "which", "who", "why", "when", "where"]

    static func snippet(_ text: String, terms: [String], width: Int = 240) -> String {
        let words = Set(terms.filter { $0.count >= 3 && !stopWords.contains($0) })
        let chars = Array(text)
        var firstMatch = 0
        var out = ""
        var i = 0
        var marked: [(Int, Int)] = []
        while i < chars.count {
            if chars[i].isLetter || chars[i].isNumber {
                var j = i
                while j < chars.count, chars[j].isLetter || chars[j].isNumber { j += 1 }
                let w = String(chars[i..<j]).lowercased()
                if words.contains(w) || words.contains(where: { w.hasPrefix($0) && $0.count >= 4 }) {
                    if marked.isEmpty { firstMatch = i }
                    marked.append((i, j))
                }
                i = j
            } else { i += 1 }
        }
        let start = max(0, min(firstMatch - width / 3, chars.count - width))
        let end = min(chars.count, start + width)
        var k = start
        for (a, b) in marked where a >= start && b <= end {
            out += String(chars[k..<a]) + "⟦" + String(chars[a..<b]) + "⟧"
            k = b
        }
        out += String(chars[k..<end])
        return (start > 0 ? "…" : "") + out.replacingOccurrences(of: "\n", with: " ") + (end < chars.count ? "…" : "")
    }
}
