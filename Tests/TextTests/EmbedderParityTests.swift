import Foundation
import XCTest
@testable import Text
import Neural

/// The WordPiece tokenizer and the MiniLM embedder against sentence-transformers
/// (fixtures from tools/gen_text_goldens.py). Needs the model the bootstrap fetches.
final class EmbedderParityTests: XCTestCase {
    static let goldens = Bundle.module.url(forResource: "Goldens", withExtension: nil)!
    static let modelDir = ModelStore.directory + "/all-MiniLM-L6-v2"
    nonisolated(unsafe) static var shared: SentenceEmbedder?

    func embedder() throws -> SentenceEmbedder {
        if let e = Self.shared { return e }
        let e = try SentenceEmbedder(directory: Self.modelDir)
        Self.shared = e
        return e
    }

    func load(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: Self.goldens.appendingPathComponent(name))) as! [String: Any]
    }

    func testTokenizerMatchesTheReferenceExactly() throws {
        let tok = try embedder().tokenizer
        var checked = 0
        for file in ["minilm.json", "wordpiece_extra.json"] {
            let g = try load(file)
            let maxLen = g["max_seq_length"] as? Int ?? 256
            for c in g["cases"] as! [[String: Any]] {
                let text = c["text"] as! String
                let ids = tok.encode(text, maxLength: maxLen)
                XCTAssertEqual(ids, c["ids"] as! [Int], "\(file): \(text.debugDescription) → \(tok.tokens(ids)) vs \(c["tokens"] ?? "")")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 50)
    }

    func testEmbeddingsMatchSentenceTransformers() throws {
        let e = try embedder()
        let g = try load("minilm.json")
        var worst: Float = 1
        for c in g["cases"] as! [[String: Any]] {
            let text = c["text"] as! String
            let ref = (c["embedding"] as! [Double]).map(Float.init)
            let mine = try e.embed([text])[0]
            let cos = zip(mine, ref).reduce(0) { $0 + $1.0 * $1.1 }
            worst = min(worst, cos)
            XCTAssertGreaterThanOrEqual(cos, 0.9999, "cosine for \(text.debugDescription)")
        }
        print("MiniLM parity: worst cosine \(worst) over \((g["cases"] as! [Any]).count) texts")
    }

    func testTheModelFilesAreTheOnesTheGoldensCameFrom() throws {
        let g = try load("minilm.json")
        guard let sums = g["sha256"] as? [String: String], let expected = sums["vocab.txt"] else { return }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [Self.modelDir + "/vocab.txt"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let line = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(line.split(separator: " ").first.map(String.init), expected)
    }

    func testMissingModelFilesSayHowToGetThem() {
        XCTAssertThrowsError(try SentenceEmbedder(directory: "/nonexistent")) { e in
            XCTAssertTrue("\(e)".contains("make run"), "\(e)")
        }
    }
}
