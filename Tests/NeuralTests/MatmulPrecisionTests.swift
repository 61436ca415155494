import Foundation
import XCTest
@testable import Neural

/// bf16 mixed precision: matrix products take operands rounded to bfloat16 (nearest, ties to even)
/// and accumulate in fp32, only on the thread that asked for it.
final class MatmulPrecisionTests: XCTestCase {
    func testRoundingToBFloat16IsToNearestWithTiesToEven() {
        let one: Float = 1
        XCTAssertEqual(MatmulPrecision.bf16(one), 1)
        XCTAssertEqual(MatmulPrecision.bf16(1 + 0x1p-8), 1, "halfway, ties to the even mantissa")
        XCTAssertEqual(MatmulPrecision.bf16(1 + 3 * 0x1p-8), 1 + 0x1p-6, "halfway, ties to the even mantissa (up)")
        XCTAssertEqual(MatmulPrecision.bf16(1 + 0x1p-8 + 0x1p-20), 1 + 0x1p-7, "above halfway rounds up")
        XCTAssertEqual(MatmulPrecision.bf16(-3.14159), -3.140625)
        XCTAssertEqual(MatmulPrecision.bf16(.infinity), .infinity)
        XCTAssertEqual(MatmulPrecision.bf16(.greatestFiniteMagnitude), .infinity, "overflows as a bf16 cast does")
        XCTAssertTrue(MatmulPrecision.bf16(.nan).isNaN)
    }

    func values(_ n: Int, _ seed: Double) -> [Float] { (0..<n).map { Float(sin(Double($0) * 1.7 + seed)) } }

    func testAProductInBF16IsTheFP32ProductOfRoundedOperands() throws {
        let x = Tensor(shape: [5, 33], data: values(5 * 33, 0.3)), w = Tensor(shape: [7, 33], data: values(7 * 33, 1.1))
        let exact = try x.linear(weight: w, bias: nil)
        let low = try MatmulPrecision.run(.bf16) { () throws(NeuralError) in try x.linear(weight: w, bias: nil) }
        let rounded = try Tensor(shape: x.shape, data: x.data.map(MatmulPrecision.bf16))
            .linear(weight: Tensor(shape: w.shape, data: w.data.map(MatmulPrecision.bf16)), bias: nil)
        XCTAssertEqual(low.data, rounded.data)
        XCTAssertNotEqual(low.data, exact.data)
        for (a, b) in zip(low.data, exact.data) { XCTAssertEqual(a, b, accuracy: 0.05) }
        XCTAssertEqual(MatmulPrecision.current, .fp32, "the scope ends with the call")
    }

    func testGradientsFlowAndAttentionWorkersFollowTheCallersPrecision() throws {
        let q = Tensor(shape: [1, 4, 6, 8], data: values(192, 0.1), requiresGrad: true)
        let k = Tensor(shape: [1, 4, 6, 8], data: values(192, 0.7), requiresGrad: true)
        let v = Tensor(shape: [1, 4, 6, 8], data: values(192, 1.9), requiresGrad: true)
        let saved = BLAS.threads
        BLAS.threads = 2   // heads run on worker threads
        defer { BLAS.threads = saved }
        let exact = try Attention.scaledDotProduct(q, k, v)
        let low = try MatmulPrecision.run(.bf16) { () throws(NeuralError) -> Tensor in
            let out = try Attention.scaledDotProduct(q, k, v)
            out.sum().backward()
            return out
        }
        XCTAssertNotEqual(low.data, exact.data, "the workers computed in bf16 too")
        for (a, b) in zip(low.data, exact.data) { XCTAssertEqual(a, b, accuracy: 0.05) }
        XCTAssertTrue(q.grad?.data.allSatisfy(\.isFinite) == true)
    }

    func testOtherThreadsKeepFP32() {
        MatmulPrecision.run(.bf16) {
            XCTAssertEqual(MatmulPrecision.current, .bf16)
            let done = expectation(description: "other thread")
            let t = Thread { XCTAssertEqual(MatmulPrecision.current, .fp32); done.fulfill() }
            t.start()
            wait(for: [done], timeout: 5)
        }
    }
}
