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
        var scores = [Float](repeating: 0, count: min(chunk, t) * s)
        let allowed: (Int, Int) -> Bool = { i, j in (!causal || j <= i + (s - t)) && (mask?[i * s + j] ?? true) }
        for bh in 0..<(b * h) {
            var i0 = 0
            while i0 < t {
                let c = min(chunk, t - i0)
                BLAS.gemm(transA: false, transB: true, m: c, n: s, k: d, alpha: sc, q.data, aOffset: (bh * t + i0) * d,
                          k.data, bOffset: bh * s * d, &scores)
                for r in 0..<c {
                    let i = i0 + r
                    var mx = -Float.infinity
                    for j in 0..<s where allowed(i, j) { mx = max(mx, scores[r * s + j]) }
                    var sum: Float = 0
                    for j in 0..<s {
                        let p: Float = allowed(i, j) && mx > -.infinity ? Foundation.exp(scores[r * s + j] - mx) : 0
                        scores[r * s + j] = p
                        sum += p
                    }
                    let inv: Float = sum > 0 ? 1 / sum : 0
                    for j in 0..<s { scores[r * s + j] *= inv }
                    lse[bh * t + i] = sum > 0 ? mx + Foundation.log(sum) : -.infinity
                }
                BLAS.gemm(transA: false, transB: false, m: c, n: dv, k: s, scores, v.data, bOffset: bh * s * dv, &out, cOffset: (bh * t + i0) * dv)
                i0 += c
            }
        }
        let result = Tensor(shape: [b, h, t, dv], data: out)
        return result.record("attention", [q, k, v]) { g in
            var gq = [Float](repeating: 0, count: q.count), gk = [Float](repeating: 0, count: k.count), gv = [Float](repeating: 0, count: v.count)
            var p = [Float](repeating: 0, count: min(chunk, t) * s), dp = p
            for bh in 0..<(b * h) {
                var i0 = 0
                while i0 < t {
                    let c = min(chunk, t - i0)
                    BLAS.gemm(transA: false, transB: true, m: c, n: s, k: d, alpha: sc, q.data, aOffset: (bh * t + i0) * d,
                              k.data, bOffset: bh * s * d, &p)
                    for r in 0..<c {
                        let i = i0 + r, l = lse[bh * t + i]
                        for j in 0..<s { p[r * s + j] = allowed(i, j) && l > -.infinity ? Foundation.exp(p[r * s + j] - l) : 0 }
                    }
                    // dV += Pᵀ dO ; dP = dO Vᵀ
                    BLAS.gemm(transA: true, transB: false, m: s, n: dv, k: c, p, g.data, bOffset: (bh * t + i0) * dv, beta: 1, &gv, cOffset: bh * s * dv)
                    BLAS.gemm(transA: false, transB: true, m: c, n: s, k: dv, g.data, aOffset: (bh * t + i0) * dv, v.data, bOffset: bh * s * dv, &dp)
                    for r in 0..<c {
                        var dot: Float = 0
                        for x in 0..<dv { dot += g.data[(bh * t + i0 + r) * dv + x] * out[(bh * t + i0 + r) * dv + x] }
                        for j in 0..<s { dp[r * s + j] = p[r * s + j] * (dp[r * s + j] - dot) * sc }
                    }
                    // dQ = dS K ; dK += dSᵀ Q
                    BLAS.gemm(transA: false, transB: false, m: c, n: d, k: s, dp, k.data, bOffset: bh * s * d, &gq, cOffset: (bh * t + i0) * d)
                    BLAS.gemm(transA: true, transB: false, m: s, n: d, k: c, dp, q.data, bOffset: (bh * t + i0) * d, beta: 1, &gk, cOffset: bh * s * d)
                    i0 += c
                }
            }
            return [Tensor(shape: q.shape, data: gq), Tensor(shape: k.shape, data: gk), Tensor(shape: v.shape, data: gv)]
        }
    }
}
