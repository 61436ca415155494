import Foundation
import XCTest
import Neural
import CKernels
@testable import Retrieval

final class HNSWTests: XCTestCase {
    func unitVectors(_ n: Int, _ d: Int, seed: UInt32) -> [[Float]] {
        var r = NumPyRandom(seed: seed)
        return (0..<n).map { _ in
            var v = (0..<d).map { _ in Float(r.nextGaussian()) }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in 0..<d { v[i] /= norm }
            return v
        }
    }

    func exact(_ data: [[Float]], _ q: [Float], k: Int) -> [Int64] {
        let scores = data.map { v in zip(v, q).reduce(0) { $0 + $1.0 * $1.1 } }
        return VectorIndex.topK(scores, ids: (0..<Int64(data.count)).map { $0 }, k: k, allow: nil).map(\.0)
    }

    func recall(_ index: HNSWIndex, _ data: [[Float]], _ queries: [[Float]], k: Int = 10, skip: Set<Int64> = []) -> Double {
        var hit = 0, total = 0
        for q in queries {
            let truth = exact(data, q, k: k + skip.count).filter { !skip.contains($0) }.prefix(k)
            let got = Set(index.search(q, k: k).map(\.0))
            hit += truth.filter(got.contains).count
            total += truth.count
        }
        return Double(hit) / Double(total)
    }

    func testRecallSerialisationAndDeletes() throws {
        let data = unitVectors(3000, 32, seed: 5), queries = unitVectors(40, 32, seed: 6)
        let index = HNSWIndex(dimension: 32, m: 16, efConstruction: 100, efSearch: 64)
        for (i, v) in data.enumerated() { index.insert(id: Int64(i), vector: v) }
        let r = recall(index, data, queries)
        XCTAssertGreaterThanOrEqual(r, 0.95, "recall@10")

        let restored = try XCTUnwrap(HNSWIndex.deserialize(index.serialized()))
        for q in queries.prefix(5) { XCTAssertEqual(restored.search(q, k: 10).map(\.0), index.search(q, k: 10).map(\.0)) }

        let gone: Set<Int64> = Set((0..<300).map { Int64($0) })
        for id in gone { restored.remove(id: id) }
        for q in queries { XCTAssertTrue(Set(restored.search(q, k: 10).map(\.0)).isDisjoint(with: gone), "deleted ids never come back") }
        XCTAssertGreaterThanOrEqual(recall(restored, data, queries, skip: gone), 0.9)
        XCTAssertNil(HNSWIndex.deserialize([1, 2, 3]))
    }

    /// The walk reads bfloat16 copies of the rows; what a search returns is rescored on the fp32 rows,
    /// so similarities are exact and best first (dimensions of 100 exercise the kernels' tails).
    func testResultsCarryExactSimilaritiesBestFirst() {
        let data = unitVectors(500, 100, seed: 7), queries = unitVectors(10, 100, seed: 8)
        let index = HNSWIndex(dimension: 100, m: 8, efConstruction: 64, efSearch: 32)
        for (i, v) in data.enumerated() { index.insert(id: Int64(i), vector: v) }
        for q in queries {
            let got = index.search(q, k: 5)
            XCTAssertEqual(got.count, 5)
            for (id, sim) in got {
                let exact = zip(data[Int(id)], q).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                XCTAssertEqual(sim, exact, accuracy: 1e-5)
            }
            XCTAssertEqual(got.map(\.1), got.map(\.1).sorted(by: >))
            XCTAssertEqual(got.first?.0, exact(data, q, k: 1).first, "the nearest neighbour of so small a set is found")
        }
        var rounded = [UInt16](repeating: 0, count: 4)
        ck_round_bf16([1, 1.00390625, 1.01171875, -.nan], &rounded, 4)
        XCTAssertEqual(rounded[0], 0x3F80)
        XCTAssertEqual(rounded[1], 0x3F80, "a tie goes to the even neighbour")
        XCTAssertEqual(rounded[2], 0x3F82, "a tie goes to the even neighbour")
        XCTAssertTrue(rounded[3] & 0x7F80 == 0x7F80 && rounded[3] & 0x7F != 0, "NaN stays NaN")
    }
}
