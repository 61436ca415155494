import CKernels
import Foundation
import JSONSchema
import XCTest

/// The local LLM's attention and SwiGLU kernels give, bit for bit, what the reference build of ggml
/// gives (goldens from tools/gen_ggml_op_goldens.py, which runs the ops inside the xllamacpp wheel).
/// Greedy parity with llama.cpp rests on this: one flipped last bit can change an 8-bit activation
/// and, some tokens later, the continuation. Each kernel is checked on its vector path and on the
/// portable path that CPUs without AVX2 take.
final class GGMLArithmeticTests: XCTestCase {
    var golden: JSONValue!

    override func setUpWithError() throws {
        let url = Bundle.module.url(forResource: "Goldens/ggml-ops", withExtension: "json")!
        golden = try JSONParser.parse([UInt8](Data(contentsOf: url)))
    }

    /// The generator's xorshift32 stream: (x >> 8) / 2^24 scaled to [lo, hi), exact in Float.
    struct Stream {
        var x: UInt32
        mutating func floats(_ n: Int, _ lo: Float, _ hi: Float) -> [Float] {
            (0..<n).map { _ in
                x ^= x << 13
                x ^= x >> 17
                x ^= x << 5
                return Float(x >> 8) * 0x1p-24 * (hi - lo) + lo
            }
        }
    }

    func floats(_ base64: String) -> [Float] {
        let data = Data(base64Encoded: base64)!
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func roundedToHalf(_ v: [Float]) -> [Float] {
        var out = v
        ck_round_f16(v, &out, v.count)
        return out
    }

    /// Runs one golden attention case through the kernel llama.cpp's batch size selects.
    func attention(_ c: JSONValue) -> [Float] {
        let heads = c["heads"]!.intValue!, dim = c["head_dim"]!.intValue!
        let queries = c["queries"]!.intValue!, keys = c["keys"]!.intValue!
        let scale = Float(c["scale"]!.doubleValue!)
        var stream = Stream(x: UInt32(c["seed"]!.intValue!))
        let q = stream.floats(heads * queries * dim, -2, 2)
        let k = roundedToHalf(stream.floats(keys * dim, -2, 2)), v = roundedToHalf(stream.floats(keys * dim, -1, 1))
        let tiled = queries >= 64
        let stride = (keys + 63) / 64 * 64
        var kt = [Float](repeating: 0, count: dim * stride)
        for t in 0..<keys { for kk in 0..<dim { kt[kk * stride + t] = k[t * dim + kk] } }
        var out = [Float](repeating: 0, count: queries * heads * dim)
        var acc = [Float](repeating: 0, count: dim), row = [Float](repeating: 0, count: dim)
        for h in 0..<heads {
            for i in 0..<queries {
                let query = Array(q[((h * queries + i) * dim)..<((h * queries + i + 1) * dim)])
                let visible = keys - queries + i + 1
                if tiled {
                    ck_attend_tiled(query, kt, stride, v, visible, dim, dim, scale, &acc, &row)
                } else {
                    ck_attend(roundedToHalf(query), k, v, visible, dim, dim, scale, &acc, &row)
                }
                out.replaceSubrange(((i * heads + h) * dim)..<((i * heads + h + 1) * dim), with: row)
            }
        }
        return out
    }

    func swiglu(_ c: JSONValue) -> [Float] {
        let n = c["count"]!.intValue!
        var stream = Stream(x: UInt32(c["seed"]!.intValue!))
        var x = stream.floats(n, -100, 100)
        let g = stream.floats(n, -1, 1)
        ck_swiglu(&x, g, n)
        return x
    }

    func assertBitIdentical(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        let differing = zip(got, want).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(differing, 0, "\(what): \(differing) of \(want.count) values differ from ggml's", file: file, line: line)
    }

    func onBothPaths(_ body: (String) -> Void) {
        body("vector path")
        ck_force_portable(1)
        defer { ck_force_portable(0) }
        body("portable path")
    }

    func testOneChunkFlashAttentionMatchesGGML() {
        let c = golden["flash_attn_one_chunk"]!
        onBothPaths { assertBitIdentical(attention(c), floats(c["output_f32_base64"]!.stringValue!), "one-chunk attention, \($0)") }
    }

    func testTiledFlashAttentionMatchesGGML() {
        let c = golden["flash_attn_tiled"]!
        onBothPaths { assertBitIdentical(attention(c), floats(c["output_f32_base64"]!.stringValue!), "tiled attention, \($0)") }
    }

    func testSwiGLUMatchesGGMLIncludingItsScaledRangeAndTail() {
        let c = golden["swiglu"]!
        onBothPaths { assertBitIdentical(swiglu(c), floats(c["output_f32_base64"]!.stringValue!), "SwiGLU, \($0)") }
    }
}
