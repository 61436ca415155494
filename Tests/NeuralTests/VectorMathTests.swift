import Foundation
import XCTest
@testable import Neural

/// The vectorised kernels under softmax, attention and the activations: eight lanes at a time with a
/// scalar tail, so every length must give what the scalar formula gives, edge values included.
final class VectorMathTests: XCTestCase {
    func testExpMatchesTheLibraryAndKeepsItsEdgeValues() {
        var xs: [Float] = [-.infinity, -200, -87.5, -20, -1, -1e-3, 0, 1e-3, 0.5, 1, 10, 30, 88, 100, .nan]
        let expected = xs.map { Foundation.exp($0) }
        VectorMath.expInPlace(&xs, xs.count)
        for (x, e) in zip(xs, expected) {
            if e.isNaN { XCTAssertTrue(x.isNaN, "exp(NaN) stays NaN"); continue }
            if e == 0 || e < 1e-37 { XCTAssertEqual(x, 0, accuracy: 1e-37); continue }
            if !e.isFinite { XCTAssertGreaterThan(x, 1e38, "overflow saturates"); continue }
            XCTAssertEqual(x, e, accuracy: e * 2e-6)
        }
    }

    func testSoftmaxRowsOfEveryLengthMatchTheScalarFormula() {
        var rng = NumPyRandom(seed: 3)
        for n in 1...37 {
            var row = rng.normal([n]).data.map { $0 * 4 }
            if n > 3 { row[2] = -.infinity }  // a masked key
            let mx = row.max()!
            let e = row.map { Foundation.exp(Double($0 - mx)) }
            let sum = e.reduce(0, +)
            let lse = VectorMath.softmaxRow(&row, n)
            XCTAssertEqual(Double(lse), Double(mx) + Foundation.log(sum), accuracy: 1e-5, "n = \(n)")
            for j in 0..<n { XCTAssertEqual(Double(row[j]), e[j] / sum, accuracy: 1e-6, "n = \(n), j = \(j)") }
        }
        var masked: [Float] = [-.infinity, -.infinity, -.infinity]
        XCTAssertEqual(VectorMath.softmaxRow(&masked, 3), -.infinity)
        XCTAssertEqual(masked, [0, 0, 0], "a fully masked row attends to nothing")
    }

    func testSoftmaxBackwardRowOfEveryLength() {
        var rng = NumPyRandom(seed: 4)
        for n in 1...19 {
            let p = rng.normal([n]).data, dp = rng.normal([n]).data
            var out = dp
            VectorMath.softmaxBackwardRow(p, &out, n, dot: 0.3, scale: 0.5)
            for j in 0..<n { XCTAssertEqual(out[j], p[j] * (dp[j] - 0.3) * 0.5, accuracy: 1e-6) }
        }
    }

    func testMaxOfEveryLength() {
        var rng = NumPyRandom(seed: 5)
        for n in 1...19 {
            let xs = rng.normal([n]).data
            XCTAssertEqual(VectorMath.max(xs, n), xs.max()!)
        }
    }

    func testSigmoidGatesOfEveryLengthAndTheirDerivatives() {
        var rng = NumPyRandom(seed: 6)
        for alpha: Float in [1, 1.702] {
            for n in 1...19 {
                var xs = rng.normal([n]).data.map { $0 * 6 }
                if n > 2 { xs[1] = -120 }  // σ underflows, x·σ must stay a finite 0
                var y = [Float](repeating: 0, count: n), d = y
                VectorMath.sigmoidGate(xs, &y, n, alpha: alpha, derivative: &d)
                for j in 0..<n {
                    let x = Double(xs[j]), s = 1 / (1 + Foundation.exp(-Double(alpha) * x))
                    XCTAssertEqual(Double(y[j]), x * s, accuracy: 1e-5, "α \(alpha), n \(n)")
                    XCTAssertEqual(Double(d[j]), s + Double(alpha) * x * s * (1 - s), accuracy: 1e-5, "α \(alpha), n \(n)")
                }
            }
        }
    }
}
