import XCTest
import JSONSchema
import Neural
import Text
@testable import Planner

/// Atelier's own GGUF engine against llama.cpp (goldens from tools/gen_llm_goldens.py, which drives
/// the xllamacpp wheel): identical token ids, identical text back, identical greedy continuations.
final class LlamaParityTests: XCTestCase {
    static let modelPath = LLMDefaults.modelPath
    nonisolated(unsafe) static var shared: LlamaModel?

    var golden: JSONValue!

    override func setUpWithError() throws {
        let url = Bundle.module.url(forResource: "Goldens/smollm2-135m-q4_1", withExtension: "json")!
        golden = try JSONParser.parse([UInt8](Data(contentsOf: url)))
    }

    func model() throws -> LlamaModel { try Self.model() }

    /// The embedded model, loaded once for every test class that uses it.
    static func model() throws -> LlamaModel {
        if let m = shared { return m }
        let m = try LlamaModel(path: modelPath)
        shared = m
        return m
    }

    func testMetadataIsReadAsLlamaCppReadsIt() throws {
        let c = try model().config
        let m = golden["metadata"]!
        XCTAssertEqual(c.embedding, m["embedding_length"]?.intValue)
        XCTAssertEqual(c.layers, m["block_count"]?.intValue)
        XCTAssertEqual(c.heads, m["attention.head_count"]?.intValue)
        XCTAssertEqual(c.kvHeads, m["attention.head_count_kv"]?.intValue)
        XCTAssertEqual(c.feedForward, m["feed_forward_length"]?.intValue)
        XCTAssertEqual(Double(c.ropeBase), m["rope.freq_base"]?.doubleValue)
        XCTAssertEqual(c.vocabulary, m["vocab_size"]?.intValue)
    }

    func testTokenIdsAreIdentical() throws {
        let tok = try model().tokenizer
        for c in golden["tokenize"]!.arrayValue! {
            let text = c["text"]!.stringValue!
            let want = c["ids"]!.arrayValue!.compactMap(\.intValue)
            XCTAssertEqual(tok.encode(text, addSpecial: false, parseSpecial: c["parse_special"]!.boolValue!), want, "\(text.debugDescription)")
        }
    }

    func testTokensDecodeToTheSameText() throws {
        let tok = try model().tokenizer
        for c in golden["detokenize"]!.arrayValue! {
            XCTAssertEqual(tok.decode(c["ids"]!.arrayValue!.compactMap(\.intValue)), c["text"]!.stringValue!)
        }
    }

    /// The issue's bar: greedy continuations identical to llama.cpp's for at least 32 tokens. A 135M
    /// model's top two logits are often a few hundredths of a nat apart and its activations are
    /// quantised to 8 bits before every product, so a last-bit difference anywhere flips an int8 and
    /// spreads; llama.cpp itself, with its flash-attention kernels off, leaves its own goldens after 6
    /// and 8 tokens on two prompts (`flash_attn_off` in the goldens). Parity therefore needs the
    /// reference's arithmetic bit for bit: its flash attention's f16 rounding, its vector exp in SwiGLU,
    /// and its compiler's fused RoPE rotation, and its batching: prompts of 64 tokens or more go through
    /// the tiled kernel, and prompts are cut into 512-token micro-batches. Measured: all 48 tokens on all
    /// seven prompts (34 to 753 prompt tokens), 1 or 2 threads.
    func testGreedyContinuationsAgreeWithLlamaCpp() throws {
        let m = try model()
        var agreed: [Int] = [], reference: [Int] = []
        for c in golden["greedy"]!["cases"]!.arrayValue! {
            let prompt = c["prompt_ids"]!.arrayValue!.compactMap(\.intValue)
            XCTAssertEqual(m.tokenizer.encode(c["prompt"]!.stringValue!, addSpecial: true, parseSpecial: true), prompt)
            let want = c["generated_ids"]!.arrayValue!.compactMap(\.intValue)
            let cache = m.makeCache(capacity: prompt.count + want.count)
            var logits = try m.forward(prompt, cache: cache)
            var got: [Int] = []
            for _ in 0..<want.count {
                // llama.cpp's ignore_eos masks its end-of-generation ids; do the same.
                for e in [0, 2, 4] { logits[e] = -.infinity }
                let next = logits.indices.max { logits[$0] < logits[$1] }!
                got.append(next)
                if got.count < want.count { logits = try m.forward([next], cache: cache) }
            }
            let same = zip(got, want).prefix { $0 == $1 }.count
            agreed.append(same)
            reference.append(c["flash_attn_off"]!["agreement"]!.intValue!)
            XCTAssertGreaterThanOrEqual(same, 32, "greedy tokens identical to llama.cpp's: \(c["user"]!.stringValue!)")
        }
        print("greedy agreement with llama.cpp (identical leading tokens of 48, per prompt): \(agreed); llama.cpp without flash attention: \(reference)")
    }

    func testTruncatedOrForeignFilesAreRefusedWithAClearError() throws {
        let dir = FileManager.default.temporaryDirectory
        let whole = try Data(contentsOf: URL(fileURLWithPath: Self.modelPath), options: .alwaysMapped)
        let cut = dir.appendingPathComponent("atelier-cut-\(UUID().uuidString).gguf")
        try whole.prefix(4 << 20).write(to: cut)
        defer { try? FileManager.default.removeItem(at: cut) }
        XCTAssertThrowsError(try GGUFFile(path: cut.path)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
        let foreign = dir.appendingPathComponent("atelier-foreign-\(UUID().uuidString).gguf")
        try Data("PK\u{3}\u{4} not a model".utf8).write(to: foreign)
        defer { try? FileManager.default.removeItem(at: foreign) }
        XCTAssertThrowsError(try LlamaModel(path: foreign.path)) { XCTAssertTrue("\($0)".contains("not a GGUF file"), "\($0)") }
    }
}
