import CKernels

/// The engine's parallel loops. Every one of them — matrix products, attention heads, im2col,
/// optimizer updates, token generation — runs on CKernels' one spinning pool, sized by `BLAS.threads`.
/// A second pool (a dispatch queue, OpenBLAS's threads) would spin or sleep on the same cores: with 2
/// cores, a dispatch worker sharing a core with a pool thread still spinning from the last product
/// made a tiny UNet step slower on two threads than on one.
public enum ParallelRows {
    /// The engine's thread count (one setting: `BLAS.threads`).
    public static var threads: Int {
        get { BLAS.threads }
        set { BLAS.threads = newValue }
    }

    /// body(r0, r1) over contiguous chunks of `rows`, at least 64 rows each, on up to `threads` threads.
    public static func run(_ rows: Int, threads: Int, _ body: @Sendable (Int, Int) -> Void) {
        let n = max(1, min(threads, rows / 64))
        let chunk = (rows + n - 1) / n
        forEach(n, threads: threads) { i in
            let r0 = i * chunk, r1 = min(rows, r0 + chunk)
            if r0 < r1 { body(r0, r1) }
        }
    }

    /// body(i) for i in 0..<count, claimed one at a time by the pool's threads (uneven work balances
    /// itself). A loop started inside another loop's body, or while another thread's loop holds the
    /// pool, runs serially on the calling thread.
    public static func forEach(_ count: Int, threads: Int = BLAS.threads, _ body: @Sendable (Int) -> Void) {
        if threads <= 1 || count <= 1 { for i in 0..<count { body(i) }; return }
        withoutActuallyEscaping(body) { body in
            var job = Each(body: body)
            withUnsafeMutablePointer(to: &job) { p in
                ck_parallel(Int32(count), Int32(threads), { ctx, i in ctx!.assumingMemoryBound(to: Each.self).pointee.body(Int(i)) }, p)
            }
        }
    }

    struct Each {
        let body: @Sendable (Int) -> Void
    }
}
