import Foundation
import XCTest
import JSONSchema
import Storage
import TestSupport

/// The retrieval CLI end to end, including a process killed in the middle of an ingest.
final class RAGCLITests: XCTestCase {
    func corpus(_ n: Int) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rag-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for i in 0..<n {
            let text = (0..<30).map { "Document \(i) paragraph \($0) describes topic \(($0 * 7 + i) % 13) in some detail." }.joined(separator: "\n\n")
            try text.write(to: dir.appendingPathComponent("doc\(i).txt"), atomically: true, encoding: .utf8)
        }
        return dir
    }

    func testIngestSearchAndEmbedFromTheCommandLine() throws {
        let dir = try corpus(3)
        let db = dir.appendingPathComponent("store.sqlite").path
        let (status, out, err) = try runAtelier(["ingest", dir.path, "--db", db, "--collection", "cli", "--json"])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(try JSONParser.parse(out)["added"], 3)
        let (s2, hitsText, _) = try runAtelier(["search", "document 1 paragraph 4", "--db", db, "--collection", "cli", "--k", "2", "--json"])
        XCTAssertEqual(s2, 0)
        let hits = try JSONParser.parse(hitsText)["hits"]?.arrayValue ?? []
        XCTAssertEqual(hits.count, 2)
        XCTAssertTrue(hits[0]["path"]?.stringValue?.hasSuffix("doc1.txt") ?? false)
        XCTAssertNotNil(hits[0]["citation"]?["start"]?.intValue)
        let (s3, vec, _) = try runAtelier(["embed", "hello world", "--json"])
        XCTAssertEqual(s3, 0)
        XCTAssertEqual(try JSONParser.parse(vec).arrayValue?.count, 384)
        let (s4, _, err4) = try runAtelier(["search", "x", "--db", db, "--collection", "missing"])
        XCTAssertNotEqual(s4, 0)
        XCTAssertTrue(err4.contains("no collection named 'missing'"), err4)
    }

    func testAKilledIngestLosesNothingCommittedAndLeavesNoHalfDocument() throws {
        let dir = try corpus(16)
        let db = FileManager.default.temporaryDirectory.appendingPathComponent("rag-kill-\(UUID().uuidString).sqlite").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Repository.binary)
        p.arguments = ["ingest", dir.path, "--db", db, "--collection", "k"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Kill it once a few documents are committed, while it is writing more.
        let deadline = Date().addingTimeInterval(120)
        var committed = 0
        while Date() < deadline && p.isRunning {
            committed = (try? SQLiteDatabase(path: db, readOnly: true).query("SELECT count(*) AS n FROM documents").first?["n"]?.int) ?? 0
            if committed >= 2 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertGreaterThanOrEqual(committed, 2, "the ingest made progress before the kill")

        let store = try SQLiteDatabase(path: db)
        XCTAssertEqual(try store.query("PRAGMA integrity_check").first?["integrity_check"]?.text, "ok")
        try store.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('integrity-check')")
        let docs = try store.query("SELECT d.id, (SELECT count(*) FROM chunks c WHERE c.document_id = d.id) AS chunks, (SELECT count(*) FROM vectors v JOIN chunks c ON c.id = v.chunk_id WHERE c.document_id = d.id) AS vectors FROM documents d")
        XCTAssertGreaterThanOrEqual(docs.count, committed, "nothing committed was lost")
        for d in docs {
            XCTAssertGreaterThan(d["chunks"]?.int ?? 0, 0, "no half-written document")
            XCTAssertEqual(d["chunks"]?.int, d["vectors"]?.int)
        }
        // Running the ingest again completes the collection.
        let (status, out, err) = try runAtelier(["ingest", dir.path, "--db", db, "--collection", "k", "--json"])
        XCTAssertEqual(status, 0, err)
        let report = try JSONParser.parse(out)
        XCTAssertEqual(report["unchanged"]?.intValue, docs.count)
        XCTAssertEqual((report["added"]?.intValue ?? 0) + docs.count, 16)
    }
}
