import Foundation
import XCTest
import Neural
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
}
