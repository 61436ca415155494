import CKernels
import XCTest
@testable import Neural

/// The AVX-512 matrix product behind every Linear, convolution and attention: each transpose,
/// shapes that leave partial 12×32 tiles, depths across several blocks, row strides wider than the
/// matrix, alpha and beta, one and two threads — against a plain Double sum.
final class MatrixProductTests: XCTestCase {
    struct Case { let m, n, k: Int; let transA, transB: Bool; let pad: Int; let alpha, beta: Float; let threads: Int32; var bf16 = false }

    func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { Float(sin(Double($0 * 13 + seed) * 0.71)) }
    }

    func check(_ t: Case, file: StaticString = #filePath, line: UInt = #line) {
        let lda = (t.transA ? t.m : t.k) + t.pad, ldb = (t.transB ? t.k : t.n) + t.pad, ldc = t.n + t.pad
        let a = values((t.transA ? t.k : t.m) * lda, seed: 1), b = values((t.transB ? t.n : t.k) * ldb, seed: 2)
        var c = t.beta == 0 ? [Float](repeating: .nan, count: t.m * ldc) : values(t.m * ldc, seed: 3)
        let before = c
        let product = t.bf16 ? ck_sgemm_bf16 : ck_sgemm
        product(t.transA ? 1 : 0, t.transB ? 1 : 0, t.m, t.n, t.k, t.alpha, a, lda, b, ldb, t.beta, &c, ldc, t.threads)
        // bf16: the same sum over operands rounded to bfloat16 (exact products, fp32 sums).
        let operand: (Float) -> Double = { t.bf16 ? Double(MatmulPrecision.bf16($0)) : Double($0) }
        var worst = 0.0
        for i in 0..<t.m {
            for j in 0..<t.n {
                var sum = 0.0
                for p in 0..<t.k {
                    let x = t.transA ? a[p * lda + i] : a[i * lda + p], y = t.transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += operand(x) * operand(y)
                }
                let want = Double(t.alpha) * sum + (t.beta == 0 ? 0 : Double(t.beta) * Double(before[i * ldc + j]))
                worst = max(worst, abs(Double(c[i * ldc + j]) - want))
            }
            for j in t.n..<ldc {
                XCTAssertEqual(c[i * ldc + j].bitPattern, before[i * ldc + j].bitPattern, "padding beyond column \(t.n) is untouched", file: file, line: line)
            }
        }
        XCTAssertLessThan(worst, 1e-5 * Double(max(t.k, 1)), "\(t)", file: file, line: line)
    }

    func testEveryTransposeAndEdgeTileMatchesAPlainSum() throws {
        try XCTSkipUnless(ck_sgemm_available() != 0, "this CPU has no AVX-512: OpenBLAS computes every product")
        var cases: [Case] = []
        for (m, n, k) in [(1, 1, 1), (12, 32, 7), (13, 33, 385), (11, 31, 40), (25, 97, 800), (200, 70, 3)] {
            for transA in [false, true] {
                for transB in [false, true] { cases.append(Case(m: m, n: n, k: k, transA: transA, transB: transB, pad: 3, alpha: 0.5, beta: 0.25, threads: 1)) }
            }
        }
        cases.append(Case(m: 40, n: 64, k: 20, transA: false, transB: false, pad: 0, alpha: 1, beta: 0, threads: 1))
        for c in cases { check(c) }
    }

    func testBetaZeroOverwritesGarbageAndTwoThreadsAgree() throws {
        try XCTSkipUnless(ck_sgemm_available() != 0, "this CPU has no AVX-512")
        // Rows split over two threads, then columns (the longer side is split).
        check(Case(m: 301, n: 130, k: 600, transA: false, transB: true, pad: 1, alpha: 1, beta: 0, threads: 2))
        check(Case(m: 70, n: 1601, k: 130, transA: true, transB: false, pad: 0, alpha: -1, beta: 0, threads: 2))
        check(Case(m: 1601, n: 1601, k: 0, transA: false, transB: false, pad: 0, alpha: 1, beta: 0.5, threads: 2))
    }

    func testBF16DotProductsSumTheRoundedOperands() throws {
        try XCTSkipUnless(ck_sgemm_bf16_available() != 0, "this CPU has no AVX512-BF16: bf16 rounds copies for an fp32 product")
        // Odd depths leave half a pair; depth 1000 spans two bf16 blocks.
        for (m, n, k) in [(12, 32, 1), (13, 33, 385), (25, 97, 1000), (7, 70, 2)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    check(Case(m: m, n: n, k: k, transA: transA, transB: transB, pad: 2, alpha: 0.5, beta: 0.25, threads: 2, bf16: true))
                }
            }
        }
        check(Case(m: 301, n: 130, k: 600, transA: false, transB: true, pad: 0, alpha: 1, beta: 0, threads: 2, bf16: true))
    }

    func testTheEngineProductAgreesOnBothSidesOfTheKernelCut() {
        // BLAS.gemm picks our kernel or OpenBLAS by shape; both give the plain product's numbers.
        for (m, n, k) in [(4, 100, 50), (64, 64, 64), (64, 40, 64), (500, 300, 200)] {
            let a = values(m * k, seed: 5), b = values(k * n, seed: 6)
            var ours = [Float](repeating: 0, count: m * n), reference = ours
            BLAS.gemm(transA: false, transB: false, m: m, n: n, k: k, a, b, &ours, precision: .fp32)
            reference.withUnsafeMutableBufferPointer { r in
                plainProduct(m: m, n: n, k: k, a, b, r.baseAddress!)
            }
            for i in 0..<(m * n) { XCTAssertEqual(ours[i], reference[i], accuracy: 1e-4 * Float(k), "\(m)×\(n)×\(k) at \(i)") }
        }
    }

    func plainProduct(m: Int, n: Int, k: Int, _ a: [Float], _ b: [Float], _ c: UnsafeMutablePointer<Float>) {
        var sums = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for p in 0..<k { let x = Double(a[i * k + p]); for j in 0..<n { sums[i * n + j] += x * Double(b[p * n + j]) } } }
        for i in 0..<(m * n) { c[i] = Float(sums[i]) }
    }
}
