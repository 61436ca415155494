import Foundation

/// Scaled dot-product attention, computed in query chunks so memory stays O(chunk × keys) however
/// long the sequence; the backward pass recomputes each chunk's probabilities from the saved
/// log-sum-exp instead of keeping the full attention matrix.
public enum Attention {
    nonisolated(unsafe) public static var queryChunk = 256

    /// q [B, H, T, d], k [B, H, S, d], v [B, H, S, dv] → [B, H, T, dv].
    /// `mask` [T × S] (true = may attend) and `causal` are optional; scale defaults to 1/√d.
    public static func scaledDotProduct(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: [Bool]? = nil, causal: Bool = false,
                                        scale: Float? = nil) throws(NeuralError) -> Tensor {
        guard q.rank == 4, k.rank == 4, v.rank == 4, q.shape[0] == k.shape[0], q.shape[1] == k.shape[1],
              q.shape[3] == k.shape[3], k.shape[0...2] == v.shape[0...2] else {
            throw .shapeMismatch(op: "attention", "query", q.shape, "key/value", k.shape + [-1] + v.shape)
        }
        let (b, h, t, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let s = k.shape[2], dv = v.shape[3]
        if let mask, mask.count != t * s { throw .invalidArgument(op: "attention", "mask has \(mask.count) entries, needs \(t)×\(s)") }
        let sc = scale ?? 1 / Float(d).squareRoot()
        let chunk = max(1, queryChunk)
        var out = [Float](repeating: 0, count: b * h * t * dv)
        var lse = [Float](repeating: 0, count: b * h * t)
        let allowed: @Sendable (Int, Int) -> Bool = { i, j in (!causal || j <= i + (s - t)) && (mask?[i * s + j] ?? true) }
        let masked = mask != nil || causal
        // (head, query chunk) pairs run in parallel, each with single-threaded products (a loop inside
        // the pool's loop runs serially): the softmax work between the GEMMs would otherwise run on one
        // core while the rest wait, and a VAE's single head still fills every core.
        let precision = MatmulPrecision.current   // the workers below run on other threads
        let workers = Swift.min(BLAS.threads, b * h)
        let chunks = (t + chunk - 1) / chunk
        out.withUnsafeMutableBufferPointer { outBuf in
            lse.withUnsafeMutableBufferPointer { lseBuf in
                let outPtr = SharedPointer(outBuf.baseAddress!), lsePtr = SharedPointer(lseBuf.baseAddress!)
                ParallelRows.forEach(b * h * chunks, threads: Swift.min(BLAS.threads, b * h * chunks)) { item in
                    // Each item writes only its own rows of out and lse.
                    let outP = outPtr.p, lseP = lsePtr.p
                    let bh = item / chunks, i0 = item % chunks * chunk, c = Swift.min(chunk, t - i0)
                    var scores = [Float].unfilled(c * s)
                    scores.withUnsafeMutableBufferPointer { scoreBuf in
                        let sp = scoreBuf.baseAddress!
                        q.data.withUnsafeBufferPointer { qp in
                            k.data.withUnsafeBufferPointer { kp in
                                BLAS.gemm(transA: false, transB: true, m: c, n: s, k: d, alpha: sc, qp.baseAddress! + (bh * t + i0) * d,
                                          kp.baseAddress! + bh * s * d, sp, precision: precision)
                            }
                        }
                        for r in 0..<c {
                            let i = i0 + r, row = sp + r * s
                            if masked { for j in 0..<s where !allowed(i, j) { row[j] = -.infinity } }
                            lseP[bh * t + i] = VectorMath.softmaxRow(row, s)
                        }
                        v.data.withUnsafeBufferPointer { vp in
                            BLAS.gemm(transA: false, transB: false, m: c, n: dv, k: s, sp, vp.baseAddress! + bh * s * dv,
                                      outP + (bh * t + i0) * dv, precision: precision)
                        }
                    }
                }
            }
        }
        let result = Tensor(shape: [b, h, t, dv], data: out)
        let savedLSE = lse, savedOut = out
        return result.record("attention", [q, k, v]) { g in
            let lse = savedLSE, out = savedOut
            let precision = MatmulPrecision.current
            var gq = [Float](repeating: 0, count: q.count), gk = [Float](repeating: 0, count: k.count), gv = [Float](repeating: 0, count: v.count)
            gq.withUnsafeMutableBufferPointer { gqb in
                gk.withUnsafeMutableBufferPointer { gkb in
                    gv.withUnsafeMutableBufferPointer { gvb in
                        let gqS = SharedPointer(gqb.baseAddress!), gkS = SharedPointer(gkb.baseAddress!), gvS = SharedPointer(gvb.baseAddress!)
                        ParallelRows.forEach(workers, threads: workers) { w in
                            let gqP = gqS.p, gkP = gkS.p, gvP = gvS.p
                            var pbuf = [Float](repeating: 0, count: Swift.min(chunk, t) * s), dpbuf = pbuf
                            var bh = w
                            while bh < b * h {
                                var i0 = 0
                                while i0 < t {
                                    let c = Swift.min(chunk, t - i0)
                                    pbuf.withUnsafeMutableBufferPointer { pb in
                                        dpbuf.withUnsafeMutableBufferPointer { dpb in
                                            let p = pb.baseAddress!, dp = dpb.baseAddress!
                                            q.data.withUnsafeBufferPointer { qp in
                                                k.data.withUnsafeBufferPointer { kp in
                                                    v.data.withUnsafeBufferPointer { vp in
                                                        g.data.withUnsafeBufferPointer { gp in
                                                            let qo = qp.baseAddress! + (bh * t + i0) * d, ko = kp.baseAddress! + bh * s * d
                                                            let vo = vp.baseAddress! + bh * s * dv, go = gp.baseAddress! + (bh * t + i0) * dv
                                                            BLAS.gemm(transA: false, transB: true, m: c, n: s, k: d, alpha: sc, qo, ko, p, precision: precision)
                                                            for r in 0..<c {
                                                                let i = i0 + r, l = lse[bh * t + i], row = p + r * s
                                                                if l == -.infinity { for j in 0..<s { row[j] = 0 }; continue }
                                                                if masked { for j in 0..<s where !allowed(i, j) { row[j] = -.infinity } }
                                                                VectorMath.expShifted(row, s, by: l)
                                                            }
                                                            // dV += Pᵀ dO ; dP = dO Vᵀ
                                                            BLAS.gemm(transA: true, transB: false, m: s, n: dv, k: c, p, go, beta: 1, gvP + bh * s * dv, precision: precision)
                                                            BLAS.gemm(transA: false, transB: true, m: c, n: s, k: dv, go, vo, dp, precision: precision)
                                                            for r in 0..<c {
                                                                var dot: Float = 0
                                                                let orow = (bh * t + i0 + r) * dv
                                                                for x in 0..<dv { dot += go[r * dv + x] * out[orow + x] }
                                                                VectorMath.softmaxBackwardRow(p + r * s, dp + r * s, s, dot: dot, scale: sc)
                                                            }
                                                            // dQ = dS K ; dK += dSᵀ Q
                                                            BLAS.gemm(transA: false, transB: false, m: c, n: d, k: s, dp, ko, gqP + (bh * t + i0) * d, precision: precision)
                                                            BLAS.gemm(transA: true, transB: false, m: s, n: d, k: c, dp, qo, beta: 1, gkP + bh * s * d, precision: precision)
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                    i0 += c
                                }
                                bh += workers
                            }
                        }
                    }
                }
            }
            return [Tensor(shape: q.shape, data: gq), Tensor(shape: k.shape, data: gk), Tensor(shape: v.shape, data: gv)]
        }
    }
}

/// A raw pointer handed to parallel workers that write disjoint ranges.
struct SharedPointer: @unchecked Sendable {
    let p: UnsafeMutablePointer<Float>
    init(_ p: UnsafeMutablePointer<Float>) { self.p = p }
}

extension Attention {
    /// Inference-only self-attention over "packed" rows: q, k, v are [tokens, heads·d] with several
    /// sequences stacked (lengths given), heads side by side in each row. Each head is addressed in place
    /// through the GEMM leading dimension, so no permute, slice or concat copies are made.
    public static func packedSelfAttention(q: Tensor, k: Tensor, v: Tensor, lengths: [Int], heads: Int) throws(NeuralError) -> Tensor {
        guard q.rank == 2, q.shape == k.shape, q.shape == v.shape, lengths.reduce(0, +) == q.shape[0], q.shape[1] % heads == 0 else {
            throw .shapeMismatch(op: "packed attention", "query", q.shape, "key/value", k.shape)
        }
        let width = q.shape[1], d = width / heads
        let scale = 1 / Float(d).squareRoot()
        var out = [Float](repeating: 0, count: q.count)
        let longest = lengths.max() ?? 0
        var scores = [Float](repeating: 0, count: longest * longest)
        q.data.withUnsafeBufferPointer { qp in
            k.data.withUnsafeBufferPointer { kp in
                v.data.withUnsafeBufferPointer { vp in
                    out.withUnsafeMutableBufferPointer { op in
                        scores.withUnsafeMutableBufferPointer { sp in
                            let s = sp.baseAddress!
                            var row0 = 0
                            for n in lengths {
                                for hd in 0..<heads {
                                    let off = row0 * width + hd * d
                                    BLAS.gemm(transA: false, transB: true, m: n, n: n, k: d, alpha: scale,
                                              qp.baseAddress! + off, lda: width, kp.baseAddress! + off, ldb: width, s, ldc: n)
                                    for r in 0..<n { VectorMath.softmaxRow(s + r * n, n) }
                                    BLAS.gemm(transA: false, transB: false, m: n, n: d, k: n, s, lda: n,
                                              vp.baseAddress! + off, ldb: width, op.baseAddress! + off, ldc: width)
                                }
                                row0 += n
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: q.shape, data: out)
    }
}
