import Foundation
import XCTest
@testable import Retrieval
import Storage
import Text

/// Ingestion, incremental updates, faults and hybrid search over a real store with the real MiniLM model.
final class RetrievalTests: XCTestCase {
    nonisolated(unsafe) static var embedder: SentenceEmbedder?

    func makeEmbedder() throws -> SentenceEmbedder {
        if let e = Self.embedder { return e }
        let e = try SentenceEmbedder.defaultModel()
        Self.embedder = e
        return e
    }

    func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rag-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try """
        # Gardening

        Tomatoes need six hours of direct sunlight and deep, infrequent watering.

        ## Pests

        Aphids on roses can be washed off with a strong spray of water.
        """.write(to: dir.appendingPathComponent("garden.md"), atomically: true, encoding: .utf8)
        try "The kernel schedules threads across CPU cores; context switches cost microseconds."
            .write(to: dir.appendingPathComponent("sub/os.txt"), atomically: true, encoding: .utf8)
        try "<html><head><style>p{}</style><script>var x = 'hidden';</script></head><body><h1>Baking</h1><p>Bread dough rises when yeast ferments sugar &amp; releases gas.</p></body></html>"
            .write(to: dir.appendingPathComponent("bread.html"), atomically: true, encoding: .utf8)
        try Data([0, 1, 2, 3, 255]).write(to: dir.appendingPathComponent("image.bin"))
        try Data([0x61, 0xFF, 0xFE, 0x62]).write(to: dir.appendingPathComponent("latin1.txt"))
        return dir
    }

    func testIngestSearchAndCite() throws {
        let dir = try folder()
        let store = try RAGStore(path: dir.appendingPathComponent("rag.sqlite").path)
        let ingestor = Ingestor(store: store, embedder: try makeEmbedder())
        let report = try ingestor.ingest([dir.path], collection: "notes")
        XCTAssertEqual(report.added, 3)
        XCTAssertEqual(Set(report.skipped.map { ($0.path as NSString).lastPathComponent }), ["image.bin", "latin1.txt"])
        XCTAssertEqual(report.skipped.first { $0.path.hasSuffix("image.bin") }?.reason, "binary file")

        let searcher = Searcher(store: store, embedder: try makeEmbedder())
        for mode in Searcher.Mode.allCases {
            let hits = try searcher.search("how much sun do tomato plants need", collection: "notes", k: 2, mode: mode)
            XCTAssertEqual(hits.first.map { ($0.path as NSString).lastPathComponent }, "garden.md", "\(mode)")
        }
        let dense = try searcher.search("insects on flowers", collection: "notes", k: 1, mode: .dense)
        XCTAssertTrue(dense.first?.text.contains("Aphids") ?? false, "dense retrieval finds meaning without shared words")
        XCTAssertEqual(dense.first?.heading, "Pests")
        let hit = try XCTUnwrap(try searcher.search("yeast bread", collection: "notes", k: 1, mode: .bm25).first)
        XCTAssertTrue(hit.path.hasSuffix("bread.html"))
        XCTAssertFalse(hit.text.contains("hidden"), "scripts are not text")
        XCTAssertTrue(hit.snippet.contains("⟦yeast⟧"), hit.snippet)
        // The citation's character range points at the chunk inside the extracted text.
        XCTAssertGreaterThan(hit.end, hit.start)
        XCTAssertThrowsError(try searcher.search("x", collection: "nope")) { XCTAssertEqual("\($0)", "no collection named 'nope'") }
    }

    func testIncrementalIngest() throws {
        let dir = try folder()
        let store = try RAGStore(path: dir.appendingPathComponent("rag.sqlite").path)
        let ingestor = Ingestor(store: store, embedder: try makeEmbedder())
        _ = try ingestor.ingest([dir.path], collection: "c")
        let again = try ingestor.ingest([dir.path], collection: "c")
        XCTAssertEqual(again.unchanged, 3)
        XCTAssertEqual(again.added + again.updated, 0)
        try "Completely new text about sailing boats.".write(to: dir.appendingPathComponent("sub/os.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("bread.html"))
        let changed = try ingestor.ingest([dir.path], collection: "c")
        XCTAssertEqual(changed.updated, 1)
        XCTAssertEqual(changed.deleted, 1)
        let searcher = Searcher(store: store, embedder: try makeEmbedder())
        XCTAssertTrue(try searcher.search("kernel threads", collection: "c", k: 3, mode: .bm25).isEmpty, "old text is gone from the index")
        XCTAssertEqual(try searcher.search("sailing", collection: "c", k: 3, mode: .bm25).count, 1)
        XCTAssertEqual(try store.collections().first?.documents, 2)
        XCTAssertEqual(try store.delete(collection: "c", paths: [dir.appendingPathComponent("garden.md").path]), 1)
        XCTAssertEqual(try store.db.query("SELECT count(*) AS n FROM vectors").first?["n"]?.int, 1, "vectors of deleted documents go too")
    }

    func testChunkingRespectsTheTokenBudgetWithOverlap() throws {
        let tok = try makeEmbedder()
        let paragraph = (1...40).map { "Sentence number \($0) talks about retrieval and chunking." }.joined(separator: " ")
        let text = "# Title\n\n\(paragraph)\n\n## Next\n\nShort closing paragraph."
        let chunks = Chunker(maxTokens: 64, overlapTokens: 16).chunks(of: text, kind: .markdown, tokens: tok.tokenCount)
        XCTAssertGreaterThan(chunks.count, 4)
        for c in chunks { XCTAssertLessThanOrEqual(tok.tokenCount(c.text), 64 + 16, c.text) }
        let scalars = Array(text.unicodeScalars)
        for c in chunks { XCTAssertEqual(String(String.UnicodeScalarView(scalars[c.start..<c.end])), c.text, "offsets address the text") }
        XCTAssertTrue(chunks[2].text.hasPrefix(String(chunks[1].text.suffix(20)).components(separatedBy: ". ").last ?? "") || chunks[2].start < chunks[1].end,
                      "consecutive chunks overlap")
        XCTAssertEqual(chunks.last?.heading, "Next")
        XCTAssertEqual(chunks.last?.text, "## Next\n\nShort closing paragraph.")
    }

    func testTheANNGraphIsPersistedAndKeptUpToDate() throws {
        let dir = try folder()
        let db = dir.appendingPathComponent("rag.sqlite").path
        let store = try RAGStore(path: db)
        let ingestor = Ingestor(store: store, embedder: try makeEmbedder())
        _ = try ingestor.ingest([dir.path], collection: "ann")
        let exact = Searcher(store: store, embedder: try makeEmbedder())
        let approx = Searcher(store: store, embedder: try makeEmbedder(), index: VectorIndex(annThreshold: 1))
        let q = "insects on flowers"
        XCTAssertEqual(try approx.search(q, collection: "ann", k: 1, mode: .dense).first?.chunkID,
                       try exact.search(q, collection: "ann", k: 1, mode: .dense).first?.chunkID)
        XCTAssertEqual(try store.db.query("SELECT count(*) AS n FROM ann_index").first?["n"]?.int, 1, "the graph is stored")
        // New documents reach the graph incrementally; deleted ones never come back.
        try "Sourdough starter needs regular feeding with flour.".write(to: dir.appendingPathComponent("starter.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("garden.md"))
        _ = try ingestor.ingest([dir.path], collection: "ann")
        let fresh = Searcher(store: try RAGStore(path: db), embedder: try makeEmbedder(), index: VectorIndex(annThreshold: 1))
        let hits = try fresh.search("feeding a sourdough starter", collection: "ann", k: 5, mode: .dense)
        XCTAssertTrue(hits.first?.path.hasSuffix("starter.txt") ?? false)
        XCTAssertFalse(hits.contains { $0.path.hasSuffix("garden.md") })
    }

    func testCodeFencesAreNotCutAtCommentLines() throws {
        let tok = try makeEmbedder()
        let text = "# Install\n\nRun this:\n\n```sh\n# fetch the sources\ngit clone x\n\n# build\nmake\n```\n\nDone."
        let chunks = Chunker(maxTokens: 200).chunks(of: text, kind: .markdown, tokens: tok.tokenCount)
        XCTAssertEqual(chunks.count, 1)
        XCTAssertEqual(chunks[0].heading, "Install", "shell comments in a fence are not headings")
    }

    func testVectorTopKIsExact() {
        let scores: [Float] = [0.1, 0.9, 0.3, 0.9, -1, 0.5]
        let top = VectorIndex.topK(scores, ids: [10, 11, 12, 13, 14, 15], k: 3, allow: nil)
        XCTAssertEqual(top.map(\.1), [0.9, 0.9, 0.5])
        XCTAssertEqual(VectorIndex.topK(scores, ids: [10, 11, 12, 13, 14, 15], k: 2, allow: { $0 != 11 }).map(\.0), [13, 15])
    }

    func testSHA256() {
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: 0x61, count: 1000)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
