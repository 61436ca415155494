import CKernels
import XCTest

/// The C inner-product kernels behind the HNSW graph: every length (vector bodies and scalar tails),
/// and the gathered form that scores a node's neighbours, agree with a plain Double sum.
final class DotKernelTests: XCTestCase {
    func values(_ n: Int, seed: Int) -> [Float] {
        (0..<n).map { Float(sin(Double($0 * 7 + seed) * 0.37)) }
    }

    func reference(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    func testTheDotProductOfEveryLengthMatchesAPlainSum() {
        // The kernel this CPU gets (AVX-512 or AVX2), then the portable one.
        defer { ck_force_portable(0) }
        for portable in [0, 1] {
            ck_force_portable(Int32(portable))
            for n in 0...77 {
                let a = values(n, seed: 1), b = values(n, seed: 2)
                let got = ck_dot_f32(a, b, n)
                XCTAssertEqual(Double(got), reference(a, b), accuracy: 1e-4 * max(1, Double(n)), "length \(n), portable \(portable)")
            }
        }
    }

    func testGatheredRowsAreScoredInTheOrderGiven() {
        let dim = 384, rows = 20
        let base = values(dim * rows, seed: 3), q = values(dim, seed: 4)
        let ids: [Int32] = [7, 0, 19, 3, 3]
        var out = [Float](repeating: .nan, count: ids.count)
        ck_dot_gather_f32(base, ids, ids.count, dim, q, &out)
        for (i, id) in ids.enumerated() {
            let row = Array(base[(Int(id) * dim)..<((Int(id) + 1) * dim)])
            XCTAssertEqual(Double(out[i]), reference(row, q), accuracy: 1e-3, "row \(id)")
        }
    }

    func testThisMachineUsesTheVectorKernelWhenItHasAVX2() throws {
        #if arch(x86_64)
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let expected = flags.contains("avx2") && flags.contains("fma")
        XCTAssertEqual(ck_uses_avx2() == 1, expected)
        #else
        XCTAssertEqual(ck_uses_avx2(), 0)
        #endif
    }
}
