import CBLAS
import Foundation
import Neural
import Storage

/// Exact k-nearest-neighbour search by inner product (vectors are unit length, so this is cosine),
/// one BLAS matrix-vector product over a collection's vectors kept in memory. The cache is keyed by
/// the collection's generation, which every committed ingest or delete advances.
public final class VectorIndex: @unchecked Sendable {
    struct Matrix {
        var generation: Int
        var ids: [Int64]
        var data: [Float]
        var dimension: Int
    }

    private let lock = NSLock()
    private var cache: [Int: Matrix] = [:]
    private var graphs: [Int: (generation: Int, index: HNSWIndex)] = [:]
    /// Collections with at least this many vectors are searched with the HNSW graph (unless filtered).
    /// Exact search stays fast well past 100k vectors (one sgemv), and the graph costs minutes to
    /// build the first time, so it is reserved for collections where exact search is the bottleneck.
    public var annThreshold: Int
    public var efSearch = 96

    public init(annThreshold: Int = 250_000) { self.annThreshold = annThreshold }

    func matrix(store: RAGStore, collection: Int) throws -> Matrix {
        let gen = try store.db.query("SELECT generation, dimension FROM collections WHERE id = ?", [.int(Int64(collection))]).first
        let generation = gen?["generation"]?.int ?? 0, dim = gen?["dimension"]?.int ?? 0
        if let m = lock.withLock({ cache[collection] }), m.generation == generation { return m }
        let stmt = try store.db.prepare("""
            SELECT v.chunk_id, v.embedding FROM vectors v JOIN chunks c ON c.id = v.chunk_id JOIN documents d ON d.id = c.document_id
            WHERE d.collection_id = ? ORDER BY v.chunk_id
            """)
        try stmt.bind([.int(Int64(collection))])
        var ids: [Int64] = [], data: [Float] = []
        while try stmt.step() {
            if case .int(let id) = stmt.column(0) { ids.append(id) }
            stmt.floats(1, into: &data)
        }
        let m = Matrix(generation: generation, ids: ids, data: data, dimension: dim)
        lock.withLock { cache[collection] = m }
        return m
    }

    /// The `k` best chunk ids with their cosine similarity, best first; `allow` filters chunk ids.
    public func search(store: RAGStore, collection: Int, query: [Float], k: Int, allow: ((Int64) -> Bool)? = nil) throws -> [(Int64, Float)] {
        let m = try matrix(store: store, collection: collection)
        let n = m.ids.count
        guard n > 0, k > 0 else { return [] }
        guard query.count == m.dimension else {
            throw RetrievalError.invalid("query vector has \(query.count) dimensions, the collection has \(m.dimension)")
        }
        if n >= annThreshold && allow == nil {
            return try graph(store: store, collection: collection, matrix: m).search(query, k: k, ef: max(efSearch, k))
        }
        var scores = [Float](repeating: 0, count: n)
        m.data.withUnsafeBufferPointer { a in
            query.withUnsafeBufferPointer { x in
                scores.withUnsafeMutableBufferPointer { y in
                    // Memory-bound: each thread streams its own share of the rows.
                    let (pa, px, py, dim) = (UnsafeSendable(UnsafeMutablePointer(mutating: a.baseAddress!)),
                                             UnsafeSendable(UnsafeMutablePointer(mutating: x.baseAddress!)), UnsafeSendable(y.baseAddress!), m.dimension)
                    ParallelRows.run(n, threads: n >= 4096 ? BLAS.threads : 1) { r0, r1 in
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(r1 - r0), Int32(dim), 1, pa.pointer + r0 * dim, Int32(dim),
                                    px.pointer, 1, 0, py.pointer + r0, 1)
                    }
                }
            }
        }
        return Self.topK(scores, ids: m.ids, k: k, allow: allow)
    }

    /// The collection's HNSW graph, brought up to date with its vectors: loaded from the database,
    /// new vectors inserted and deleted ones tombstoned (rebuilt when tombstones pile up), saved back.
    func graph(store: RAGStore, collection: Int, matrix m: Matrix) throws -> HNSWIndex {
        if let g = lock.withLock({ graphs[collection] }), g.generation == m.generation { return g.index }
        var index: HNSWIndex? = lock.withLock { graphs[collection]?.index }
        if index == nil, case .blob(let bytes)? = try store.db.query("SELECT data FROM ann_index WHERE collection_id = ?", [.int(Int64(collection))]).first?["data"] {
            index = HNSWIndex.deserialize(bytes)
        }
        if let existing = index, existing.dimension == m.dimension {
            let current = Set(m.ids)
            for id in existing.liveIDs where !current.contains(id) { existing.remove(id: id) }
            if existing.tombstones > existing.count / 4 { index = nil }
        } else {
            index = nil
        }
        let g = index ?? HNSWIndex(dimension: m.dimension, efSearch: efSearch)
        for (row, id) in m.ids.enumerated() where !g.contains(id) {
            g.insert(id: id, vector: Array(m.data[(row * m.dimension)..<((row + 1) * m.dimension)]))
        }
        try store.db.execute("INSERT OR REPLACE INTO ann_index (collection_id, generation, data) VALUES (?, ?, ?)",
                             [.int(Int64(collection)), .int(Int64(m.generation)), .blob(g.serialized())])
        lock.withLock { graphs[collection] = (m.generation, g) }
        return g
    }

    /// Partial selection with a small min-heap: O(n log k).
    static func topK(_ scores: [Float], ids: [Int64], k: Int, allow: ((Int64) -> Bool)?) -> [(Int64, Float)] {
        var heap: [(Float, Int)] = []
        heap.reserveCapacity(k)
        func siftDown(_ i: Int) {
            var i = i
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && heap[l].0 < heap[m].0 { m = l }
                if r < heap.count && heap[r].0 < heap[m].0 { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for (i, s) in scores.enumerated() {
            if let allow, !allow(ids[i]) { continue }
            if heap.count < k {
                heap.append((s, i))
                var c = heap.count - 1
                while c > 0 {
                    let p = (c - 1) / 2
                    if heap[p].0 <= heap[c].0 { break }
                    heap.swapAt(p, c)
                    c = p
                }
            } else if s > heap[0].0 {
                heap[0] = (s, i)
                siftDown(0)
            }
        }
        return heap.sorted { $0.0 > $1.0 }.map { (ids[$0.1], $0.0) }
    }
}
