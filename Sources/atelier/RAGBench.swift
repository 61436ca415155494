import ArgumentParser
import Foundation
import JSONSchema
import Neural
import Retrieval
import Storage
import Text

/// `atelier bench embed`: sentences per second of the MiniLM embedder over a file of lines.
struct EmbedBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "embed", abstract: "Embedding throughput over the lines of a file; prints one JSON line.")
    @Option(name: .long, help: "A text file, one sentence or passage per line.") var file: String
    @Option(name: .long) var threads: Int = 2

    func run() throws {
        BLAS.threads = threads
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        let e = try loadEmbedder()
        _ = try e.embed([lines.first ?? "warm-up"])
        let t0 = Date()
        let v = try e.embed(lines)
        let s = Date().timeIntervalSince(t0)
        let tokens = lines.reduce(0) { $0 + e.tokenCount($1) + 2 }
        print(JSONWriter.string(.object(JSONObject([
            ("texts", JSONValue(v.count)), ("tokens", JSONValue(tokens)), ("seconds", JSONValue(s)),
            ("textsPerSecond", JSONValue(Double(v.count) / s)), ("threads", JSONValue(threads)),
        ]))))
    }
}

/// `atelier bench knn`: exact k-NN over unit vectors stored in a real collection (random ones, or a
/// peer's data given with --data), and optionally the HNSW graph over the same vectors.
struct KNNBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "knn", abstract: "Exact k-NN latency over N unit vectors (random, or --data); prints one JSON line.")
    @Option(name: .long) var n: Int = 100_000
    @Option(name: .long) var dim: Int = 384
    @Option(name: .long) var queries: Int = 100
    @Option(name: .long) var k: Int = 10
    @Option(name: .long) var threads: Int = 2
    @Option(name: .long, help: "Write the vectors and queries (float32, row-major) here for peers to reuse.") var dump: String?
    @Option(name: .long, help: "Read PREFIX.vectors.f32 and PREFIX.queries.f32 (float32, row-major, --dim wide; normalised here) instead of drawing random vectors; --n and --queries then cap their counts.") var data: String?
    @Flag(name: .long, help: "Also build the HNSW graph (M=16, efConstruction=200) and report its recall@k and latency at each --ef.") var ann = false
    @Option(name: .long, help: "Search breadth of the HNSW graph; repeat it to sweep several over one build.") var ef: [Int] = [64]

    final class Fixed: TextEmbedder, @unchecked Sendable {
        let dimension: Int
        let modelName = "bench-random"
        init(_ d: Int) { dimension = d }
        func tokenCount(_ text: String) -> Int { 1 }
        func embed(_ texts: [String]) throws -> [[Float]] { [] }
    }

    /// Rows of a float32 file, each scaled to unit length (at most `limit` of them).
    static func unitRows(_ path: String, dim: Int, limit: Int) throws -> [[Float]] {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        guard dim > 0, bytes.count % (dim * 4) == 0 else {
            throw ValidationError("\(path): \(bytes.count) bytes is not a whole number of \(dim)-float rows")
        }
        let floats = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (0..<min(limit, floats.count / dim)).map { r in
            var v = Array(floats[(r * dim)..<((r + 1) * dim)])
            let norm = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for i in 0..<dim { v[i] /= norm }
            return v
        }
    }

    func run() throws {
        BLAS.threads = threads
        var rng = NumPyRandom(seed: 1)
        let given = try data.map { (try Self.unitRows($0 + ".vectors.f32", dim: dim, limit: self.n), try Self.unitRows($0 + ".queries.f32", dim: dim, limit: queries)) }
        var nextGiven = 0
        func unit() -> [Float] {
            if let given { defer { nextGiven += 1 }; return given.0[nextGiven] }
            var v = (0..<dim).map { _ in Float(rng.nextGaussian()) }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in 0..<dim { v[i] /= norm }
            return v
        }
        let n = given?.0.count ?? self.n
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("knn-\(UUID().uuidString).sqlite").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try RAGStore(path: path)
        let cid = try store.collection(named: "bench", model: "bench-random", dimension: dim)!
        var all: [Float] = []
        try store.db.transaction {
            try store.db.execute("INSERT INTO documents (collection_id, path, hash, mtime, size, kind, ingested) VALUES (?, 'bench', '', 0, 0, 'text', 0)", [.int(Int64(cid))])
            let doc = store.db.lastInsertRowID
            let c = try store.db.prepare("INSERT INTO chunks (document_id, ordinal, text, start, end) VALUES (?, ?, '', 0, 0)")
            let v = try store.db.prepare("INSERT INTO vectors (chunk_id, embedding) VALUES (?, ?)")
            for i in 0..<n {
                try c.run([.int(doc), .int(Int64(i))])
                let u = unit()
                all.append(contentsOf: u)
                try v.run([.int(store.db.lastInsertRowID), .blob(u.withUnsafeBytes { Array($0) })])
            }
        }
        let qs = given?.1 ?? (0..<queries).map { _ in unit() }
        if let dump {
            try Data(all.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: dump + ".vectors.f32"))
            try Data(qs.flatMap { $0 }.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: dump + ".queries.f32"))
        }
        let index = VectorIndex(annThreshold: .max)  // this probe measures the exact path
        let t0 = Date()
        _ = try index.search(store: store, collection: cid, query: qs[0], k: k)
        let load = Date().timeIntervalSince(t0)
        var results: [[Int64]] = []
        let t1 = Date()
        for q in qs { results.append(try index.search(store: store, collection: cid, query: q, k: k).map { $0.0 - 1 }) }
        let s = Date().timeIntervalSince(t1)
        var fields: [(String, JSONValue)] = [
            ("n", JSONValue(n)), ("dim", JSONValue(dim)), ("queries", JSONValue(qs.count)), ("k", JSONValue(k)),
            ("loadSeconds", JSONValue(load)), ("msPerQuery", JSONValue(s / Double(qs.count) * 1000)),
            ("firstResult", .array(results.first?.map { JSONValue(Int($0)) } ?? [])),
        ]
        if ann {
            let g = HNSWIndex(dimension: dim, m: 16, efConstruction: 200, efSearch: ef.first ?? 64)
            let tb = Date()
            for row in 0..<n { g.insert(id: Int64(row + 1), vector: Array(all[(row * dim)..<((row + 1) * dim)])) }
            let build = Date().timeIntervalSince(tb)
            var sweep: [JSONValue] = []
            for breadth in ef {
                _ = g.search(qs[0], k: k, ef: breadth)
                var approx: [[Int64]] = []
                var qsec = Double.infinity
                for _ in 0..<3 {   // best of three passes, as the peer gets
                    let tq = Date()
                    approx = qs.map { q in g.search(q, k: k, ef: breadth).map { $0.0 - 1 } }
                    qsec = min(qsec, Date().timeIntervalSince(tq))
                }
                var hit = 0
                for (a, e) in zip(approx, results) { hit += Set(a).intersection(e).count }
                sweep.append(.object(JSONObject([
                    ("ef", JSONValue(breadth)), ("msPerQuery", JSONValue(qsec / Double(qs.count) * 1000)),
                    ("recall", JSONValue(Double(hit) / Double(qs.count * k))),
                ])))
            }
            fields += [("annBuildSeconds", JSONValue(build)), ("ann", .array(sweep))]
        }
        print(JSONWriter.string(.object(JSONObject(fields))))
    }
}
