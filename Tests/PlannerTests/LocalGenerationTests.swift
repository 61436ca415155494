import XCTest
import CKernels
import JSONSchema
import Neural
import Text
@testable import Planner

/// Generation with Atelier's GGUF engine: llama.cpp's sampler chain, the chat templates of the known
/// model families, and the generation loop (streaming, stops, context) on the embedded SmolLM2.
final class LocalGenerationTests: XCTestCase {
    func golden() throws -> JSONValue {
        let url = Bundle.module.url(forResource: "Goldens/smollm2-135m-q4_1", withExtension: "json")!
        return try JSONParser.parse([UInt8](Data(contentsOf: url)))
    }

    // MARK: Sampling

    func testGreedyTakesTheLargestLogitAndTheLowestIdOnATie() throws {
        var s = TokenSampler(.greedy)
        XCTAssertEqual(try s.sample([0.1, 3, -1, 3]), 1)
        XCTAssertEqual(try s.sample([0.1, 3, -1, 5], allowed: { $0 != 3 }), 1)
    }

    func testTheSameSeedDrawsTheSameTokensAndAnotherSeedOthers() throws {
        let logits = (0..<200).map { Float(sin(Double($0)) * 2) }
        var o = SamplingOptions()
        o.temperature = 1.5; o.topK = 0; o.topP = 1; o.minP = 0
        func draws(_ seed: UInt64) throws -> [Int] {
            o.seed = seed
            var s = TokenSampler(o)
            return try (0..<40).map { _ in try s.sample(logits) }
        }
        XCTAssertEqual(try draws(7), try draws(7))
        XCTAssertNotEqual(try draws(7), try draws(8))
    }

    func testTopKTopPAndMinPKeepOnlyTheHeadOfTheDistribution() throws {
        // Probabilities ∝ e^logit: token 0 ≈ 0.64, 1 ≈ 0.24, 2 ≈ 0.09, 3 ≈ 0.03.
        let logits: [Float] = [3, 2, 1, 0]
        func seen(_ edit: (inout SamplingOptions) -> Void) throws -> Set<Int> {
            var o = SamplingOptions()
            o.temperature = 1; o.topK = 0; o.topP = 1; o.minP = 0
            edit(&o)
            var s = TokenSampler(o)
            return Set(try (0..<2000).map { _ in try s.sample(logits) })
        }
        XCTAssertEqual(try seen { _ in }, [0, 1, 2, 3])
        XCTAssertEqual(try seen { $0.topK = 2 }, [0, 1])
        XCTAssertEqual(try seen { $0.topP = 0.8 }, [0, 1])
        XCTAssertEqual(try seen { $0.minP = 0.3 }, [0, 1])      // 0.24 ≥ 0.3 × 0.64, 0.09 is not
        XCTAssertEqual(try seen { $0.topK = 1 }, [0])
    }

    func testTemperatureSharpensAndFlattens() throws {
        let logits: [Float] = [1, 0]
        func share(_ t: Float) throws -> Double {
            var o = SamplingOptions()
            o.temperature = t; o.topK = 0; o.topP = 1; o.minP = 0; o.seed = 3
            var s = TokenSampler(o)
            return Double(try (0..<4000).filter { _ in try s.sample(logits) == 0 }.count) / 4000
        }
        // e/(e+1) ≈ 0.731 at T = 1; sharper at 0.5 (0.881), flatter at 4 (0.562).
        XCTAssertEqual(try share(1), 0.731, accuracy: 0.03)
        XCTAssertEqual(try share(0.5), 0.881, accuracy: 0.03)
        XCTAssertEqual(try share(4), 0.562, accuracy: 0.03)
    }

    func testTheRepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() throws {
        var o = SamplingOptions.greedy
        o.repeatPenalty = 2
        var s = TokenSampler(o)
        s.remember([0])
        // 3 / 2 = 1.5 < 2: token 1 wins once token 0 is penalised.
        XCTAssertEqual(try s.sample([3, 2, -1]), 1)
        var t = TokenSampler(o)
        t.remember([1])
        // −1 × 2 = −2 < −1.5.
        XCTAssertEqual(try t.sample([-3, -1, -1.5]), 2)
    }

    func testBadSamplingValuesAreNamed() {
        var o = SamplingOptions()
        o.topP = 0
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("top_p"), "\($0)") }
        o = SamplingOptions(); o.temperature = -1
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("temperature"), "\($0)") }
        var s = TokenSampler(.greedy)
        XCTAssertThrowsError(try s.sample([1, 2], allowed: { _ in false })) { XCTAssertEqual($0 as? SamplingError, .noCandidates) }
    }

    // MARK: Chat templates

    func testSmolLM2sTemplateRendersAsLlamaCppRendersIt() throws {
        let g = try golden()
        let t = try ChatTemplate(jinja: g["metadata"]!["chat_template"]!.stringValue!)
        XCTAssertEqual(t.family, .chatml)
        XCTAssertEqual(t.defaultSystem, "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        for c in g["greedy"]!["cases"]!.arrayValue! {
            let user = c["user"]!.stringValue!
            // llama.cpp rendered it with the system message written out; the template adds the same one itself.
            XCTAssertEqual(try t.render([.init(role: "user", content: user)]), c["prompt"]!.stringValue!)
            XCTAssertEqual(try t.render([.init(role: "system", content: t.defaultSystem!), .init(role: "user", content: user)]), c["prompt"]!.stringValue!)
        }
    }

    func testOtherFamiliesAreRecognisedAndUnknownTemplatesRefused() throws {
        let msgs: [ChatTemplate.Message] = [.init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi"),
                                            .init(role: "assistant", content: "Hello."), .init(role: "user", content: "Bye")]
        let llama3 = try ChatTemplate(jinja: "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}")
        XCTAssertEqual(try llama3.render(msgs), "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        let mistral = try ChatTemplate(jinja: "{{ '[INST] ' + message['content'] + ' [/INST]' }}")
        XCTAssertEqual(try mistral.render(msgs), "<s>[INST] Be brief.\n\nHi [/INST] Hello.</s>[INST] Bye [/INST]")
        XCTAssertEqual(try ChatTemplate(jinja: nil).family, .chatml)
        XCTAssertThrowsError(try ChatTemplate(jinja: "{% for m in messages %}### {{ m.role }}: {{ m.content }}{% endfor %}")) {
            XCTAssertTrue("\($0)".contains("not one Atelier knows"), "\($0)")
        }
        XCTAssertThrowsError(try ChatTemplate(family: .chatml).render([.init(role: "narrator", content: "x")]))
    }

    // MARK: Generation

    func testLinearRoPEScalingStretchesPositions() {
        let plain = LlamaModel.ropeTable(start: 0, n: 9, dimensions: 8, base: 10_000, freqScale: 1)
        let scaled = LlamaModel.ropeTable(start: 0, n: 9, dimensions: 8, base: 10_000, freqScale: 0.5)
        // At half speed, position 8 turns as far as position 4 did.
        for k in 0..<4 {
            XCTAssertEqual(scaled[8 * 4 + k].x, plain[4 * 4 + k].x, accuracy: 1e-6)
            XCTAssertEqual(scaled[8 * 4 + k].y, plain[4 * 4 + k].y, accuracy: 1e-6)
        }
        XCTAssertNotEqual(scaled[8 * 4].y, plain[8 * 4].y)
    }

    func testGenerationStreamsWholeCharactersAndMatchesLlamaCppsGreedyStart() throws {
        let m = try LlamaParityTests.model()
        let c = try golden()["greedy"]!["cases"]!.arrayValue![0]
        let prompt = c["prompt_ids"]!.arrayValue!.compactMap(\.intValue)
        let want = Array(c["generated_ids"]!.arrayValue!.compactMap(\.intValue).prefix(8))
        var pieces: [String] = []
        let g = try m.generate(prompt: prompt, maxTokens: 8, ignoreEOS: true, cache: m.makeCache(capacity: 128), onText: { pieces.append($0) })
        XCTAssertEqual(g.tokens, want)
        XCTAssertEqual(g.stop, .length)
        XCTAssertEqual(pieces.joined(), g.text)
        XCTAssertEqual(g.text, m.tokenizer.decode(want))
        // "L'Étoile": the É comes as two byte tokens and is streamed once, whole.
        XCTAssertTrue(pieces.contains { $0.contains("É") }, "\(pieces)")
        XCTAssertFalse(pieces.contains { $0.contains("\u{FFFD}") })
    }

    func testGenerationStopsAtAStopStringAndAtAFullContext() throws {
        let m = try LlamaParityTests.model()
        let prompt = m.tokenizer.encode(try m.template().render([.init(role: "user", content: "What is the capital of France?")]))
        let g = try m.generate(prompt: prompt, maxTokens: 30, ignoreEOS: true, stop: ["Marseillaise"], cache: m.makeCache(capacity: 128))
        XCTAssertEqual(g.stop, .stopString)
        XCTAssertEqual(g.text, "L'Étoile, la ")
        let full = try m.generate(prompt: prompt, maxTokens: 100, ignoreEOS: true, cache: m.makeCache(capacity: prompt.count + 5))
        XCTAssertEqual(full.stop, .context)
        XCTAssertEqual(full.tokens.count, 6)   // five enter the cache; the sixth is drawn from their logits
        XCTAssertThrowsError(try m.generate(prompt: prompt, maxTokens: 4, cache: m.makeCache(capacity: 10))) {
            XCTAssertTrue("\($0)".contains("context holds 10"), "\($0)")
        }
    }
}

/// The quantised products under generation: batched and one-token paths, threads, and the weights.
final class QuantizedProductTests: XCTestCase {
    func testBatchedProductsEqualOneTokenProductsAndTheDequantisedWeights() throws {
        let m = try LlamaParityTests.model()
        let f = m.file
        // Q4_1 (a layer's projection) and Q8_0 (the tied embeddings), 7 tokens (not a multiple of 4).
        for name in ["blk.3.ffn_up.weight", "blk.0.attn_q.weight", "token_embd.weight"] {
            let w = try QuantizedMatrix(file: f, name: name)
            var rng = SplitMix64(seed: 5)
            let tokens = 7
            let x = (0..<(tokens * w.cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
            let rows = min(w.rows, 700)
            var batched = [Float](repeating: 0, count: tokens * w.rows)
            x.withUnsafeBufferPointer { xp in batched.withUnsafeMutableBufferPointer { w.multiply(xp.baseAddress!, tokens: tokens, into: $0.baseAddress!) } }
            var row = [Float](repeating: 0, count: w.cols)
            for t in 0..<tokens {
                var one = [Float](repeating: 0, count: w.rows)
                x.withUnsafeBufferPointer { xp in one.withUnsafeMutableBufferPointer { w.multiply(xp.baseAddress! + t * w.cols, tokens: 1, into: $0.baseAddress!, threads: 1) } }
                XCTAssertEqual(Array(batched[(t * w.rows)..<((t + 1) * w.rows)]), one, "\(name) token \(t)")
                // Against the dequantised weights in double: only the activations' 8-bit rounding differs.
                var worst = 0.0
                for r in 0..<rows {
                    w.withRow { GGMLType.dequantize(w.type, $0(r), into: &row, count: w.cols) }
                    var exact = 0.0, scale = 0.0
                    for j in 0..<w.cols { exact += Double(row[j]) * Double(x[t * w.cols + j]); scale += abs(Double(row[j])) }
                    worst = max(worst, abs(Double(one[r]) - exact) / max(scale, 1e-6))
                }
                XCTAssertLessThan(worst, 0.01, "\(name) token \(t)")
            }
        }
    }

    /// The portable C kernels (CPUs without AVX2/F16C) against the vector ones: the same products up to
    /// summation order, and the same greedy text.
    func testThePortableKernelsAgreeWithTheVectorOnes() throws {
        let m = try LlamaParityTests.model()
        let w = try QuantizedMatrix(file: m.file, name: "blk.2.ffn_down.weight")
        var rng = SplitMix64(seed: 9)
        let tokens = 5
        let x = (0..<(tokens * w.cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
        func product() -> [Float] {
            var y = [Float](repeating: 0, count: tokens * w.rows)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { w.multiply(xp.baseAddress!, tokens: tokens, into: $0.baseAddress!) } }
            return y
        }
        let prompt = m.tokenizer.encode(try m.template().render([.init(role: "user", content: "Name three colours.")]))
        let vector = product()
        let vectorText = try m.generate(prompt: prompt, maxTokens: 6, ignoreEOS: true, cache: m.makeCache(capacity: 128)).tokens
        ck_force_portable(1)
        defer { ck_force_portable(0) }
        let portable = product()
        let portableText = try m.generate(prompt: prompt, maxTokens: 6, ignoreEOS: true, cache: m.makeCache(capacity: 128)).tokens
        for (a, b) in zip(vector, portable) { XCTAssertEqual(a, b, accuracy: 1e-3 * max(1, abs(a))) }
        XCTAssertEqual(vectorText, portableText)
    }

    func testGenerationIsTheSameOnOneThreadAndOnSeveral() throws {
        let m = try LlamaParityTests.model()
        let prompt = m.tokenizer.encode(try m.template().render([.init(role: "user", content: "Name three colours.")]))
        let saved = ParallelRows.threads
        defer { ParallelRows.threads = saved }
        var outputs: [[Int]] = []
        for threads in [1, 2, 3] {
            ParallelRows.threads = threads
            outputs.append(try m.generate(prompt: prompt, maxTokens: 12, ignoreEOS: true, cache: m.makeCache(capacity: 128)).tokens)
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(outputs[0], outputs[2])
    }
}
