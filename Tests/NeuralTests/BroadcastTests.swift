import XCTest
@testable import Neural

/// Broadcasting binary ops give, on every fast path, what the general index walk gives.
final class BroadcastTests: XCTestCase {
    func tensor(_ shape: [Int], seed: Int) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, data: (0..<n).map { Float(sin(Double($0 * 5 + seed))) })
    }

    /// out[i] = f(a at i's broadcast index, b at i's broadcast index), by explicit coordinates.
    func reference(_ a: Tensor, _ b: Tensor, _ out: [Int], _ f: (Float, Float) -> Float) -> [Float] {
        func value(_ t: Tensor, _ coords: [Int]) -> Float {
            let shape = [Int](repeating: 1, count: out.count - t.shape.count) + t.shape
            var index = 0
            for d in 0..<out.count { index = index * shape[d] + (shape[d] == 1 ? 0 : coords[d]) }
            return t.data[index]
        }
        let n = out.reduce(1, *)
        return (0..<n).map { i in
            var coords = [Int](repeating: 0, count: out.count), r = i
            for d in stride(from: out.count - 1, through: 0, by: -1) { coords[d] = r % out[d]; r /= out[d] }
            return f(value(a, coords), value(b, coords))
        }
    }

    func testTrailingAndLeadingRepeatsMatchTheIndexWalk() throws {
        let cases: [([Int], [Int])] = [
            ([2, 3, 4, 5], [2, 3, 1, 1]),   // a time embedding over an image
            ([2, 3, 4, 5], [3, 1, 1]),      // per-channel scale
            ([2, 3, 1, 1], [2, 3, 4, 5]),   // the left side repeats
            ([2, 3, 4, 5], [1, 3, 4, 1]),   // not a trailing repeat: the general walk
            ([2, 3, 4, 5], [5]),            // a bias
        ]
        for (sa, sb) in cases {
            let a = tensor(sa, seed: 1), b = tensor(sb, seed: 2)
            let out = try a.sub(b)
            XCTAssertEqual(out.data, reference(a, b, out.shape, -), "\(sa) − \(sb)")
        }
        XCTAssertEqual(trailingRepeat([2, 3, 1, 1], [2, 3, 4, 5]), 20)
        XCTAssertEqual(trailingRepeat([3, 1, 1], [2, 3, 4, 5]), nil, "a repeat over the leading dimension is not a trailing one")
        XCTAssertEqual(trailingRepeat([1, 1], [4, 5]), nil, "a scalar-like shape has its own path")
    }
}
