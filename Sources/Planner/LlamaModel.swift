import CKernels
import Foundation
import Neural
import Text

/// A llama-family decoder run from a GGUF file: RMSNorm, RoPE (the file's base), grouped-query
/// attention with a KV cache, SwiGLU feed-forward, tied or separate output embeddings. Weights stay
/// quantised in the mapped file; prompts are processed as one batch, then one token at a time.
/// The numerics follow llama.cpp's CPU path (f16 KV cache, activations quantised per block for the
/// quantised matrix products, double-precision RMS sums) so greedy outputs agree with it.
public final class LlamaModel: @unchecked Sendable {
    public struct Config: Sendable {
        public var contextLength: Int
        public var embedding: Int
        public var layers: Int
        public var feedForward: Int
        public var heads: Int
        public var kvHeads: Int
        public var ropeBase: Float
        public var ropeDimensions: Int
        /// Linear RoPE scaling: positions are multiplied by this (1 / the file's scaling factor).
        public var ropeFreqScale: Float = 1
        public var rmsEpsilon: Float
        public var vocabulary: Int
        public var headDim: Int { embedding / heads }
    }

    struct Layer {
        let attnNorm: [Float], ffnNorm: [Float]
        let q: QuantizedMatrix, k: QuantizedMatrix, v: QuantizedMatrix, o: QuantizedMatrix
        let gate: QuantizedMatrix, up: QuantizedMatrix, down: QuantizedMatrix
    }

    public enum Failure: Error, CustomStringConvertible {
        case unsupported(String)
        case contextFull(needed: Int, context: Int)
        case cancelled
        public var description: String {
            switch self {
            case .cancelled: return "generation was cancelled"
            case .unsupported(let s): return s
            case .contextFull(let n, let c): return "the prompt and answer need \(n) tokens but the context holds \(c); shorten the prompt"
            }
        }
    }

    public let config: Config
    public let tokenizer: BPETokenizer
    public let file: GGUFFile
    let layers: [Layer]
    let embeddings: QuantizedMatrix
    let output: QuantizedMatrix
    let outputNorm: [Float]
    public let chatTemplate: String?
    public let architecture: String

    public init(path: String) throws {
        let f = try GGUFFile(path: path)
        file = f
        let arch = f.metadata["general.architecture"]?.string ?? "?"
        guard ["llama", "qwen2", "mistral"].contains(arch) else {
            throw Failure.unsupported("\(path): architecture '\(arch)' is not supported (llama-family: llama, mistral, qwen2)")
        }
        architecture = arch
        func int(_ k: String) throws -> Int {
            guard let v = f.metadata["\(arch).\(k)"]?.int else { throw Failure.unsupported("\(path): metadata '\(arch).\(k)' is missing") }
            return v
        }
        let heads = try int("attention.head_count")
        let emb = try int("embedding_length")
        let vocab = f.metadata["\(arch).vocab_size"]?.int ?? f.metadata["tokenizer.ggml.tokens"]?.array?.count ?? 0
        var freqScale: Float = 1
        // Linear scaling (the current key, or the older `rope.scale_linear`); YaRN and others are refused.
        switch f.metadata["\(arch).rope.scaling.type"]?.string {
        case nil, "none":
            if let legacy = f.metadata["\(arch).rope.scale_linear"]?.double, legacy > 0 { freqScale = Float(1 / legacy) }
        case "linear":
            guard let factor = f.metadata["\(arch).rope.scaling.factor"]?.double, factor > 0 else {
                throw Failure.unsupported("\(path): linear RoPE scaling without a positive rope.scaling.factor")
            }
            freqScale = Float(1 / factor)
        case let other?:
            throw Failure.unsupported("\(path): RoPE scaling '\(other)' is not supported (none or linear)")
        }
        config = Config(contextLength: try int("context_length"), embedding: emb, layers: try int("block_count"),
                        feedForward: try int("feed_forward_length"), heads: heads,
                        kvHeads: f.metadata["\(arch).attention.head_count_kv"]?.int ?? heads,
                        ropeBase: Float(f.metadata["\(arch).rope.freq_base"]?.double ?? 10_000),
                        ropeDimensions: f.metadata["\(arch).rope.dimension_count"]?.int ?? emb / heads, ropeFreqScale: freqScale,
                        rmsEpsilon: Float(f.metadata["\(arch).attention.layer_norm_rms_epsilon"]?.double ?? 1e-5),
                        vocabulary: vocab)
        if arch == "qwen2" { throw Failure.unsupported("\(path): qwen2 needs attention biases, not supported yet") }
        var layers: [Layer] = []
        for i in 0..<config.layers {
            let p = "blk.\(i)."
            layers.append(Layer(
                attnNorm: try f.floats(p + "attn_norm.weight"), ffnNorm: try f.floats(p + "ffn_norm.weight"),
                q: try QuantizedMatrix(file: f, name: p + "attn_q.weight"), k: try QuantizedMatrix(file: f, name: p + "attn_k.weight"),
                v: try QuantizedMatrix(file: f, name: p + "attn_v.weight"), o: try QuantizedMatrix(file: f, name: p + "attn_output.weight"),
                gate: try QuantizedMatrix(file: f, name: p + "ffn_gate.weight"), up: try QuantizedMatrix(file: f, name: p + "ffn_up.weight"),
                down: try QuantizedMatrix(file: f, name: p + "ffn_down.weight")))
        }
        self.layers = layers
        embeddings = try QuantizedMatrix(file: f, name: "token_embd.weight")
        output = f.tensors["output.weight"] != nil ? try QuantizedMatrix(file: f, name: "output.weight") : embeddings
        outputNorm = try f.floats("output_norm.weight")
        chatTemplate = f.metadata["tokenizer.chat_template"]?.string
        tokenizer = try BPETokenizer(gguf: f)
    }

    /// Attention keys and values of the tokens seen so far (stored through f16, as llama.cpp's cache).
    public final class Cache: @unchecked Sendable {
        var k: [[Float]], v: [[Float]]
        public internal(set) var count = 0
        let capacity: Int
        let kvDim: Int

        init(layers: Int, capacity: Int, kvDim: Int) {
            self.capacity = capacity
            self.kvDim = kvDim
            k = Array(repeating: [Float](repeating: 0, count: capacity * kvDim), count: layers)
            v = k
        }

        public func reset() { count = 0 }
        /// Forget everything after the first `n` tokens (to reuse a shared prompt prefix).
        public func truncate(to n: Int) { count = min(count, n) }
    }

    public func makeCache(capacity: Int? = nil) -> Cache {
        Cache(layers: config.layers, capacity: min(capacity ?? config.contextLength, config.contextLength), kvDim: config.kvHeads * config.headDim)
    }

    /// Tokens run through the model together, as llama.cpp's default micro-batch: a prompt is cut at
    /// the same places, so its attention takes the same path (see `attention`) batch for batch.
    public static let microBatch = 512

    /// Runs `tokens` after what the cache holds; returns the logits of the last token.
    public func forward(_ tokens: [Int], cache: Cache) throws -> [Float] {
        guard !tokens.isEmpty else { throw Failure.unsupported("no tokens to run") }
        guard cache.count + tokens.count <= cache.capacity else { throw Failure.contextFull(needed: cache.count + tokens.count, context: cache.capacity) }
        for t in tokens where t < 0 || t >= embeddings.rows { throw Failure.unsupported("token id \(t) is outside the vocabulary (\(embeddings.rows))") }
        var logits: [Float] = []
        for from in stride(from: 0, to: tokens.count, by: Self.microBatch) {
            logits = forwardBatch(Array(tokens[from..<min(tokens.count, from + Self.microBatch)]), cache: cache, wantLogits: from + Self.microBatch >= tokens.count)
        }
        return logits
    }

    private func forwardBatch(_ tokens: [Int], cache: Cache, wantLogits: Bool) -> [Float] {
        let n = tokens.count, c = config, d = c.embedding, hd = c.headDim, kvDim = c.kvHeads * hd
        var x = [Float](repeating: 0, count: n * d)
        embeddings.withRow { row in
            x.withUnsafeMutableBufferPointer { xp in
                for (i, t) in tokens.enumerated() { GGMLType.dequantize(embeddings.type, row(t), into: xp.baseAddress! + i * d, count: d) }
            }
        }
        var h = [Float](repeating: 0, count: n * d)
        var q = [Float](repeating: 0, count: n * d), kx = [Float](repeating: 0, count: n * kvDim), vx = kx
        var att = [Float](repeating: 0, count: n * d), proj = [Float](repeating: 0, count: n * d)
        var gate = [Float](repeating: 0, count: n * c.feedForward), up = gate
        let start = cache.count
        let rope = ropeTable(start: start, n: n), half = c.ropeDimensions / 2
        for (li, L) in layers.enumerated() {
            Self.rmsNorm(x, L.attnNorm, eps: c.rmsEpsilon, rows: n, into: &h)
            h.withUnsafeBufferPointer { hp in
                q.withUnsafeMutableBufferPointer { L.q.multiply(hp.baseAddress!, tokens: n, into: $0.baseAddress!) }
                kx.withUnsafeMutableBufferPointer { L.k.multiply(hp.baseAddress!, tokens: n, into: $0.baseAddress!) }
                vx.withUnsafeMutableBufferPointer { L.v.multiply(hp.baseAddress!, tokens: n, into: $0.baseAddress!) }
            }
            for i in 0..<n {
                let angles = rope[(i * half)..<((i + 1) * half)]
                self.rope(&q, offset: i * d, heads: c.heads, table: angles)
                self.rope(&kx, offset: i * kvDim, heads: c.kvHeads, table: angles)
            }
            // Into the cache through f16, as llama.cpp's f16 cache holds them.
            cache.k[li].withUnsafeMutableBufferPointer { ck_round_f16(kx, $0.baseAddress! + start * kvDim, n * kvDim) }
            cache.v[li].withUnsafeMutableBufferPointer { ck_round_f16(vx, $0.baseAddress! + start * kvDim, n * kvDim) }
            attention(q: q, layer: li, cache: cache, start: start, n: n, into: &att)
            att.withUnsafeBufferPointer { ap in proj.withUnsafeMutableBufferPointer { L.o.multiply(ap.baseAddress!, tokens: n, into: $0.baseAddress!) } }
            for i in 0..<(n * d) { x[i] += proj[i] }
            Self.rmsNorm(x, L.ffnNorm, eps: c.rmsEpsilon, rows: n, into: &h)
            h.withUnsafeBufferPointer { hp in
                gate.withUnsafeMutableBufferPointer { L.gate.multiply(hp.baseAddress!, tokens: n, into: $0.baseAddress!) }
                up.withUnsafeMutableBufferPointer { L.up.multiply(hp.baseAddress!, tokens: n, into: $0.baseAddress!) }
            }
            // A batch's rows in parallel: libm's expf is the cost here.
            let ff = c.feedForward
            gate.withUnsafeMutableBufferPointer { g in
                up.withUnsafeBufferPointer { u in
                    let gp = UnsafeSendable(g.baseAddress!), upp = UnsafeSendable(UnsafeMutablePointer(mutating: u.baseAddress!))
                    ParallelRows.forEach(n, threads: n >= 4 ? ParallelRows.threads : 1) { t in
                        ck_swiglu(gp.pointer + t * ff, upp.pointer + t * ff, ff)
                    }
                }
            }
            gate.withUnsafeBufferPointer { gp in proj.withUnsafeMutableBufferPointer { L.down.multiply(gp.baseAddress!, tokens: n, into: $0.baseAddress!) } }
            for i in 0..<(n * d) { x[i] += proj[i] }
        }
        cache.count = start + n
        if !wantLogits { return [] }
        // Only the last token's logits are needed for generation.
        let last = Array(x[((n - 1) * d)...])
        var normed = [Float](repeating: 0, count: d)
        Self.rmsNorm(last, outputNorm, eps: c.rmsEpsilon, rows: 1, into: &normed)
        var logits = [Float](repeating: 0, count: output.rows)
        normed.withUnsafeBufferPointer { np in logits.withUnsafeMutableBufferPointer { output.multiply(np.baseAddress!, tokens: 1, into: $0.baseAddress!) } }
        return logits
    }

    static func rmsNorm(_ x: [Float], _ w: [Float], eps: Float, rows: Int, into y: inout [Float]) {
        ck_rmsnorm(x, w, w.count, rows, eps, &y)
    }

    /// cos and sin of RoPE's angles for `n` positions from `start` (dims/2 pairs a position), computed
    /// once a forward pass for every layer and head. The angle advances by repeated multiplication, as
    /// ggml computes it.
    func ropeTable(start: Int, n: Int) -> [SIMD2<Float>] {
        Self.ropeTable(start: start, n: n, dimensions: config.ropeDimensions, base: config.ropeBase, freqScale: config.ropeFreqScale)
    }

    /// With linear scaling the angle is `freqScale` times the unscaled one, which keeps advancing by
    /// repeated multiplication (ggml's rope cache, without YaRN's extrapolation mix).
    static func ropeTable(start: Int, n: Int, dimensions dims: Int, base: Float, freqScale: Float) -> [SIMD2<Float>] {
        let scale = powf(base, -2 / Float(dims))
        var table = [SIMD2<Float>](repeating: .zero, count: n * dims / 2)
        for i in 0..<n {
            var theta = Float(start + i)
            for k in 0..<(dims / 2) {
                let t = freqScale * theta
                table[i * dims / 2 + k] = SIMD2(cosf(t), sinf(t))
                theta *= scale
            }
        }
        return table
    }

    /// Rotates adjacent pairs (llama's "normal" RoPE) of every head of one position.
    func rope(_ v: inout [Float], offset: Int, heads: Int, table: ArraySlice<SIMD2<Float>>) {
        let hd = config.headDim, dims = config.ropeDimensions
        v.withUnsafeMutableBufferPointer { p in
            for h in 0..<heads {
                let base = offset + h * hd
                var k = table.startIndex
                for i in stride(from: 0, to: dims, by: 2) {
                    let cs = table[k].x, sn = table[k].y
                    let x0 = p[base + i], x1 = p[base + i + 1]
                    // Fused as the reference build's compiler fuses ggml's rotation (checked bit for bit
                    // against the xllamacpp wheel): x0·cos rounded once with −x1·sin, x0·sin with x1·cos.
                    p[base + i] = (-(x1 * sn)).addingProduct(x0, cs)
                    p[base + i + 1] = (x1 * cs).addingProduct(x0, sn)
                    k += 1
                }
            }
        }
    }

    /// Causal attention of the `n` new tokens over the cache, heads grouped over shared KV heads, with
    /// the arithmetic of llama.cpp's CPU flash attention: its tiled kernel for batches of 64 tokens or
    /// more (the query in f32), its one-chunk kernel below that (the query through f16).
    func attention(q: [Float], layer: Int, cache: Cache, start: Int, n: Int, into out: inout [Float]) {
        let c = config, hd = c.headDim, d = c.embedding, kvDim = c.kvHeads * hd, group = c.heads / c.kvHeads
        let scale = 1 / Float(hd).squareRoot()
        let tiled = n >= 64 && hd % 8 == 0
        let outPtr = out.withUnsafeMutableBufferPointer { UnsafeSendable($0.baseAddress!) }
        let work = n * c.heads
        // The tiled kernel reads each key head transposed (dimension-major), a whole 64-key tile a row.
        let len = start + n, ktStride = (len + 63) / 64 * 64
        var transposed = [Float](repeating: 0, count: tiled ? c.kvHeads * hd * ktStride : 1)
        if tiled {
            cache.k[layer].withUnsafeBufferPointer { kb in
                for kvh in 0..<c.kvHeads {
                    for t in 0..<len {
                        for kk in 0..<hd { transposed[(kvh * hd + kk) * ktStride + t] = kb[t * kvDim + kvh * hd + kk] }
                    }
                }
            }
        }
        transposed.withUnsafeMutableBufferPointer { tb in
            let Kt = UnsafeSendable(tb.baseAddress!)
            cache.k[layer].withUnsafeBufferPointer { kb in
                cache.v[layer].withUnsafeBufferPointer { vb in
                    let K = UnsafeSendable(UnsafeMutablePointer(mutating: kb.baseAddress!)), V = UnsafeSendable(UnsafeMutablePointer(mutating: vb.baseAddress!))
                    // One task per token and head: later tokens attend over more keys, and claiming tasks one
                    // at a time keeps the threads evenly loaded.
                    ParallelRows.forEach(work, threads: ParallelRows.threads) { w in
                        var acc = [Float](repeating: 0, count: hd)
                        let i = w / c.heads, h = w % c.heads
                        let kvh = h / group
                        let qo = i * d + h * hd
                        let keys = K.pointer + kvh * hd, values = V.pointer + kvh * hd, o = outPtr.pointer + i * d + h * hd
                        if tiled {
                            q.withUnsafeBufferPointer {
                                ck_attend_tiled($0.baseAddress! + qo, Kt.pointer + kvh * hd * ktStride, ktStride, values, start + i + 1, hd, kvDim, scale, &acc, o)
                            }
                        } else {
                            var qh = [Float](repeating: 0, count: hd)
                            q.withUnsafeBufferPointer { ck_round_f16($0.baseAddress! + qo, &qh, hd) }
                            ck_attend(qh, keys, values, start + i + 1, hd, kvDim, scale, &acc, o)
                        }
                    }
                }
            }
        }
    }
}
