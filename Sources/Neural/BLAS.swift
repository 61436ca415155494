import CBLAS
import CKernels
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The matrix-product backend, row-major: CKernels' AVX-512 sgemm where the CPU has AVX-512 and the
/// product is big enough to fill its 12×32 tiles, OpenBLAS's sgemm otherwise. OpenBLAS may be pinned to
/// its AVX2 kernel on AVX-512 CPUs (machines set OPENBLAS_CORETYPE where its detection misbehaves),
/// which halves sgemm's speed there; our kernel does not depend on that setting.
public enum BLAS {
    /// The kernel OpenBLAS picked for this CPU (e.g. "Zen", "Haswell", "SkylakeX").
    public static var coreName: String { String(cString: openblas_get_corename()) }
    /// What runs the products, for benchmark reports.
    public static var backendName: String {
        ck_sgemm_available() != 0 ? "CKernels AVX-512 sgemm (OpenBLAS \(coreName) below 8×64)" : "OpenBLAS \(coreName)"
    }
    /// The engine's one thread count: our products, every parallel loop (`ParallelRows`) and OpenBLAS.
    /// Starts at OpenBLAS's own count (every core, or OPENBLAS_NUM_THREADS). Where our kernel runs the
    /// large products, OpenBLAS keeps one thread: what reaches it is too small to split, and its idle
    /// threads would spin on the cores the pool is using.
    public static var threads: Int {
        get { configured.threads }
        set {
            let n = max(1, newValue)
            configured.threads = n
            openblas_set_num_threads(ck_sgemm_available() != 0 ? 1 : Int32(n))
        }
    }

    private final class Configured: @unchecked Sendable {
        var threads: Int
        init() {
            threads = max(1, Int(openblas_get_num_threads()))
            if ck_sgemm_available() != 0 { openblas_set_num_threads(1) }
        }
    }
    private static let configured = Configured()

    /// C[M×N] = alpha·op(A)·op(B) + beta·C, row-major; op(X) = Xᵀ when the flag is set. With
    /// `precision` bf16 the operands are rounded to bfloat16 (see `MatmulPrecision`): by AVX512-BF16 dot
    /// products where the CPU has them, else by rounded copies before an fp32 product.
    @inline(__always)
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                     _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, beta: Float = 0, _ c: UnsafeMutablePointer<Float>,
                     precision: MatmulPrecision = .current) {
        if precision == .bf16, m >= 8, n >= 64, ck_sgemm_bf16_available() != 0 {
            ck_sgemm_bf16(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, transA ? m : k, b, transB ? k : n, beta, c, n, Int32(threads))
            return
        }
        if precision == .bf16 {
            let ra = MatmulPrecision.bf16Copy(a, count: m * k), rb = MatmulPrecision.bf16Copy(b, count: k * n)
            ra.withUnsafeBufferPointer { pa in
                rb.withUnsafeBufferPointer { pb in
                    gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, pa.baseAddress!, pb.baseAddress!,
                         beta: beta, c, precision: .fp32)
                }
            }
            return
        }
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: transA ? m : k, b, ldb: transB ? k : n,
             beta: beta, c, ldc: n)
    }

    /// The fp32 product with explicit leading dimensions (row strides), for operands inside larger rows.
    @inline(__always)
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
                     _ b: UnsafePointer<Float>, ldb: Int, beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        // Below 8 rows or 64 columns most of a 12×32 tile would be padding: OpenBLAS does those better.
        if m >= 8, n >= 64, ck_sgemm_available() != 0 {
            ck_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Int32(threads))
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                     _ a: [Float], aOffset: Int = 0, _ b: [Float], bOffset: Int = 0, beta: Float = 0,
                     _ c: inout [Float], cOffset: Int = 0, precision: MatmulPrecision = .current) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, pa.baseAddress! + aOffset,
                         pb.baseAddress! + bOffset, beta: beta, pc.baseAddress! + cOffset, precision: precision)
                }
            }
        }
    }
}

/// Picks OpenBLAS's AVX-512 kernel on CPUs its detection misses. Must run before the library loads,
/// so the executable calls it first thing and re-executes itself with the variable set.
public enum BLASStartup {
    public static func ensureKernelSelected(arguments: [String]) {
        guard getenv("OPENBLAS_CORETYPE") == nil, getenv("ATELIER_NO_REEXEC") == nil else { return }
        guard let cpu = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              cpu.contains(" avx512f") else { return }
        setenv("OPENBLAS_CORETYPE", cpu.contains(" avx512_bf16") ? "Cooperlake" : "SkylakeX", 1)
        setenv("ATELIER_NO_REEXEC", "1", 1)
        var argv = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
    }
}

/// Large tensors come and go on every op. glibc serves blocks above its mmap threshold (128 KiB, at
/// most 32 MiB however it adapts) with fresh `mmap`s and unmaps them on free, so each op paid for
/// zeroing new pages (a fifth of an SD UNet step, a sixth of a training step). Serving every block
/// from the heap, and never trimming it, lets freed tensors be reused.
public enum Allocator {
    public static func keepFreedMemory() {
        #if canImport(Glibc)
        // mallopt is not in Swift's Glibc module (malloc.h); M_TRIM_THRESHOLD = -1, M_MMAP_MAX = -4.
        // (M_MMAP_THRESHOLD cannot go above 32 MiB: SD activations are larger, so mmap is switched off.)
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
        _ = mallopt(-4, 0)
        _ = mallopt(-1, Int32.max)
        #endif
    }
}
