import CKernels
import XCTest
@testable import Neural

/// conv2d's forward pass and its weight gradient read the image's patches straight into the matrix
/// product's packed panels (no im2col matrix). Every way a 32-column panel can lie over the output — inside one row, across
/// rows, across images, at the padded edges, with strides — must give the plain sum, on the AVX-512
/// kernel and on the portable im2col path alike.
final class ImplicitConvolutionTests: XCTestCase {
    struct Case { let n, c, h, w, oc, kh, kw, sh, sw, ph, pw: Int }

    let cases = [
        Case(n: 1, c: 3, h: 9, w: 64, oc: 5, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1),    // panels inside one row
        Case(n: 2, c: 4, h: 7, w: 13, oc: 16, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1),   // panels across rows and images
        Case(n: 3, c: 2, h: 4, w: 4, oc: 8, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1),     // several images in one panel
        Case(n: 1, c: 50, h: 6, w: 40, oc: 13, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1),  // depth 450: two depth blocks
        Case(n: 2, c: 3, h: 11, w: 37, oc: 7, kh: 5, kw: 5, sh: 1, sw: 1, ph: 2, pw: 2),   // wide padding
        Case(n: 1, c: 4, h: 10, w: 45, oc: 9, kh: 3, kw: 3, sh: 1, sw: 1, ph: 0, pw: 0),   // no padding
        Case(n: 2, c: 5, h: 17, w: 33, oc: 12, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1),  // stride 2 (downsampling)
        Case(n: 1, c: 3, h: 8, w: 70, oc: 6, kh: 1, kw: 3, sh: 1, sw: 2, ph: 0, pw: 1),    // unequal strides and kernel
        // 1024+ output positions per image: the input gradient is an implicit GEMM too.
        Case(n: 2, c: 3, h: 33, w: 40, oc: 5, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1),
        Case(n: 1, c: 2, h: 32, w: 35, oc: 3, kh: 5, kw: 5, sh: 1, sw: 1, ph: 2, pw: 2),
        Case(n: 1, c: 2, h: 34, w: 34, oc: 4, kh: 3, kw: 3, sh: 1, sw: 1, ph: 0, pw: 0),
        Case(n: 2, c: 4, h: 32, w: 32, oc: 3, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0),   // pointwise
    ]

    func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { Float(sin(Double($0 * 7 + seed) * 0.37)) }
    }

    /// bf16: the sum over operands rounded to bfloat16 (exact products, fp32-sized error allowed).
    func check(_ t: Case, bf16: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        let operand: (Float) -> Double = { bf16 ? Double(MatmulPrecision.bf16($0)) : Double($0) }
        let x = Tensor(shape: [t.n, t.c, t.h, t.w], data: values(t.n * t.c * t.h * t.w, seed: 1))
        let weight = Tensor(shape: [t.oc, t.c, t.kh, t.kw], data: values(t.oc * t.c * t.kh * t.kw, seed: 2))
        let y = try MatmulPrecision.run(bf16 ? .bf16 : .fp32) { () throws(NeuralError) -> Tensor in
            try x.conv2d(weight: weight, bias: nil, options: Conv2DOptions(stride: (t.sh, t.sw), padding: (t.ph, t.pw)))
        }
        let oh = (t.h + 2 * t.ph - t.kh) / t.sh + 1, ow = (t.w + 2 * t.pw - t.kw) / t.sw + 1
        XCTAssertEqual(y.shape, [t.n, t.oc, oh, ow], file: file, line: line)
        var worst = 0.0
        for b in 0..<t.n { for o in 0..<t.oc { for oy in 0..<oh { for ox in 0..<ow {
            var sum = 0.0
            for ci in 0..<t.c { for ky in 0..<t.kh { for kx in 0..<t.kw {
                let iy = oy * t.sh - t.ph + ky, ix = ox * t.sw - t.pw + kx
                guard iy >= 0, iy < t.h, ix >= 0, ix < t.w else { continue }
                sum += operand(x.data[((b * t.c + ci) * t.h + iy) * t.w + ix]) * operand(weight.data[((o * t.c + ci) * t.kh + ky) * t.kw + kx])
            } } }
            worst = max(worst, abs(Double(y.data[((b * t.oc + o) * oh + oy) * ow + ox]) - sum))
        } } } }
        XCTAssertLessThan(worst, 1e-4, "\(t)", file: file, line: line)
    }

    /// L = Σ conv(x, weight)·u after its backward pass, with only x (or only the weight) tracking its
    /// gradient, so each check runs the one path it is about.
    func backward(_ t: Case, bf16: Bool, inputGradient: Bool) throws -> (x: Tensor, weight: Tensor, u: [Float], oh: Int, ow: Int) {
        let x = Tensor(shape: [t.n, t.c, t.h, t.w], data: values(t.n * t.c * t.h * t.w, seed: 1))
        let weight = Tensor(shape: [t.oc, t.c, t.kh, t.kw], data: values(t.oc * t.c * t.kh * t.kw, seed: 2))
        if inputGradient { x.requiresGrad = true } else { weight.requiresGrad = true }
        let oh = (t.h + 2 * t.ph - t.kh) / t.sh + 1, ow = (t.w + 2 * t.pw - t.kw) / t.sw + 1
        let u = values(t.n * t.oc * oh * ow, seed: 3)
        try MatmulPrecision.run(bf16 ? .bf16 : .fp32) { () throws(NeuralError) in
            let y = try x.conv2d(weight: weight, bias: nil, options: Conv2DOptions(stride: (t.sh, t.sw), padding: (t.ph, t.pw)))
            try y.mul(Tensor(shape: y.shape, data: u)).sum().backward()
        }
        return (x, weight, u, oh, ow)
    }

    /// dL/dx for L = Σ y·u: with stride 1 a convolution of u by the flipped weights (implicit GEMM too).
    func checkInputGradient(_ t: Case, bf16: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        let operand: (Float) -> Double = { bf16 ? Double(MatmulPrecision.bf16($0)) : Double($0) }
        let (x, weight, u, oh, ow) = try backward(t, bf16: bf16, inputGradient: true)
        let grad = try XCTUnwrap(x.grad, file: file, line: line)
        var worst = 0.0
        for b in 0..<t.n { for ci in 0..<t.c { for iy in 0..<t.h { for ix in 0..<t.w {
            var sum = 0.0
            for o in 0..<t.oc { for ky in 0..<t.kh { for kx in 0..<t.kw {
                let ny = iy + t.ph - ky, nx = ix + t.pw - kx
                guard ny >= 0, nx >= 0, ny % t.sh == 0, nx % t.sw == 0, ny / t.sh < oh, nx / t.sw < ow else { continue }
                sum += operand(weight.data[((o * t.c + ci) * t.kh + ky) * t.kw + kx]) * operand(u[((b * t.oc + o) * oh + ny / t.sh) * ow + nx / t.sw])
            } } }
            worst = max(worst, abs(Double(grad.data[((b * t.c + ci) * t.h + iy) * t.w + ix]) - sum))
        } } } }
        XCTAssertLessThan(worst, bf16 ? 1e-3 : 1e-4, "\(t)", file: file, line: line)
    }

    /// dL/dW for L = Σ y·u: u correlated with the image's patches, packed transposed from the image.
    func checkWeightGradient(_ t: Case, bf16: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        let operand: (Float) -> Double = { bf16 ? Double(MatmulPrecision.bf16($0)) : Double($0) }
        let (x, weight, u, oh, ow) = try backward(t, bf16: bf16, inputGradient: false)
        let grad = try XCTUnwrap(weight.grad, file: file, line: line)
        var worst = 0.0, largest = 0.0
        for o in 0..<t.oc { for ci in 0..<t.c { for ky in 0..<t.kh { for kx in 0..<t.kw {
            var sum = 0.0
            for b in 0..<t.n { for oy in 0..<oh { for ox in 0..<ow {
                let iy = oy * t.sh - t.ph + ky, ix = ox * t.sw - t.pw + kx
                guard iy >= 0, iy < t.h, ix >= 0, ix < t.w else { continue }
                sum += operand(u[((b * t.oc + o) * oh + oy) * ow + ox]) * operand(x.data[((b * t.c + ci) * t.h + iy) * t.w + ix])
            } } }
            worst = max(worst, abs(Double(grad.data[((o * t.c + ci) * t.kh + ky) * t.kw + kx]) - sum))
            largest = max(largest, abs(sum))
        } } } }
        // Sums over up to 2,640 positions: fp32 rounding of the running sums, relative to the largest.
        XCTAssertLessThan(worst, (bf16 ? 1e-3 : 1e-5) * max(1, largest), "\(t)", file: file, line: line)
    }

    func testWeightGradientsGiveThePlainSum() throws {
        for threads in [1, 2] {
            let saved = BLAS.threads
            BLAS.threads = threads
            defer { BLAS.threads = saved }
            for t in cases {
                try checkWeightGradient(t)
                try checkWeightGradient(t, bf16: true)
            }
        }
        ck_force_portable(1)
        defer { ck_force_portable(0) }
        for t in cases { try checkWeightGradient(t) }
    }

    func testInputGradientsGiveThePlainSum() throws {
        for t in cases {
            try checkInputGradient(t)
            try checkInputGradient(t, bf16: true)
        }
    }

    func testEveryPanelLayoutGivesThePlainSum() throws {
        for threads in [1, 2] {
            let saved = BLAS.threads
            BLAS.threads = threads
            defer { BLAS.threads = saved }
            for t in cases { try check(t) }
        }
    }

    func testBF16ProductsSumTheRoundedOperands() throws {
        for t in cases { try check(t, bf16: true) }
    }

    func testThePortablePathAgrees() throws {
        ck_force_portable(1)
        defer { ck_force_portable(0) }
        XCTAssertEqual(ck_sgemm_available(), 0)
        for t in cases { try check(t); try check(t, bf16: true) }
    }
}
