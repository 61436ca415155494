import XCTest
@testable import Neural

/// Finite-difference checks of every differentiable op: the analytic gradient of
/// L = Σ f(inputs) ⊙ w (w fixed random) against central differences in float32.
final class GradientCheckTests: XCTestCase {
    var rng = NumPyRandom(seed: 7)

    func check(_ name: String, _ shapes: [[Int]], eps: Float = 1e-2, tol: Float = 2e-2,
               positive: Bool = false, _ f: ([Tensor]) throws -> Tensor, file: StaticString = #filePath, line: UInt = #line) throws {
        let inputs = shapes.map { s -> Tensor in
            let t = rng.normal(s)
            if positive { t.data = t.data.map { abs($0) + 0.5 } }
            t.requiresGrad = true
            return t
        }
        let out = try f(inputs)
        let w = rng.normal(out.shape)
        try out.mul(w).sum().backward()
        func loss() throws -> Double {
            let y = try Autograd.withoutGrad { try f(inputs) }
            return zip(y.data, w.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        for (k, x) in inputs.enumerated() {
            guard let g = x.grad else { XCTFail("\(name): input \(k) got no gradient", file: file, line: line); continue }
            for i in stride(from: 0, to: x.count, by: max(1, x.count / 24)) {
                let keep = x.data[i]
                x.data[i] = keep + eps
                let up = try loss()
                x.data[i] = keep - eps
                let down = try loss()
                x.data[i] = keep
                let numeric = Float((up - down) / Double(2 * eps))
                XCTAssertLessThanOrEqual(abs(numeric - g.data[i]), tol * (1 + abs(numeric)),
                                         "\(name) input \(k)[\(i)]: analytic \(g.data[i]) vs numeric \(numeric)", file: file, line: line)
            }
        }
    }

    func testElementwiseAndBroadcasting() throws {
        try check("add", [[2, 3, 4], [3, 1]]) { try $0[0].add($0[1]) }
        try check("sub", [[2, 3], [3]]) { try $0[0].sub($0[1]) }
        try check("mul", [[2, 3, 4], [4]]) { try $0[0].mul($0[1]) }
        try check("div", [[2, 3], [2, 3]], positive: true) { try $0[0].div($0[1]) }
        try check("exp/log/sqrt", [[5]], positive: true) { $0[0].exp().adding(1).log().sqrt() }
        for (n, f) in [("tanh", { (t: Tensor) in t.tanh() }), ("sigmoid", { $0.sigmoid() }), ("silu", { $0.silu() }),
                       ("gelu", { $0.gelu() }), ("gelu_tanh", { $0.geluTanh() }), ("quick_gelu", { $0.quickGELU() }),
                       ("square", { $0.square() }), ("neg", { $0.neg() })] as [(String, (Tensor) -> Tensor)] {
            try check(n, [[3, 4]]) { f($0[0]) }
        }
        try check("geglu", [[2, 6]]) { try $0[0].geglu() }
        try check("swiglu", [[2, 6]]) { try $0[0].swiglu() }
    }

    func testShapesAndReductions() throws {
        try check("sum", [[2, 3, 4]]) { $0[0].sum(dims: [0, 2], keepDim: true) }
        try check("mean", [[2, 3, 4]]) { $0[0].mean(dims: [-1]) }
        try check("permute", [[2, 3, 4]]) { try $0[0].permuted([2, 0, 1]) }
        try check("reshape+transpose", [[2, 6]]) { try $0[0].reshaped([3, 4]).transposed() }
        try check("concat+slice", [[2, 3], [2, 2]]) { try Tensor.concat([$0[0], $0[1]], dim: 1).sliced(dim: 1, start: 1, length: 3) }
        try check("pad", [[1, 2, 3, 3]]) { try $0[0].padded2D(left: 0, right: 1, top: 0, bottom: 1) }
        try check("upsample", [[1, 2, 2, 3]]) { try $0[0].upsampleNearest(scale: 2) }
    }

    func testMatmulConvNormsAttention() throws {
        try check("matmul 2-D", [[2, 3, 4], [4, 5]]) { try $0[0].matmul($0[1]) }
        try check("matmul batched", [[2, 3, 4], [2, 4, 2]]) { try $0[0].matmul($0[1]) }
        try check("linear", [[2, 3, 4], [5, 4], [5]]) { try $0[0].linear(weight: $0[1], bias: $0[2]) }
        try check("conv2d", [[2, 4, 5, 5], [6, 2, 3, 3], [6]]) {
            try $0[0].conv2d(weight: $0[1], bias: $0[2], options: Conv2DOptions(stride: (2, 1), padding: (1, 0), groups: 2))
        }
        // Without groups a batch goes through one wide GEMM, forward and backward.
        try check("conv2d batched", [[3, 2, 5, 4], [4, 2, 3, 3], [4]]) {
            try $0[0].conv2d(weight: $0[1], bias: $0[2], options: Conv2DOptions(stride: (1, 1), padding: (1, 1)))
        }
        try check("conv2d batched strided", [[2, 3, 6, 6], [2, 3, 3, 3], [2]]) {
            try $0[0].conv2d(weight: $0[1], bias: $0[2], options: Conv2DOptions(stride: (2, 2), padding: (1, 1)))
        }
        try check("group_norm", [[2, 4, 3, 3], [4], [4]]) { try $0[0].groupNorm(groups: 2, weight: $0[1], bias: $0[2]) }
        try check("layer_norm", [[3, 6], [6], [6]]) { try $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        try check("rms_norm", [[3, 6], [6]]) { try $0[0].rmsNorm(weight: $0[1]) }
        try check("softmax", [[3, 5]]) { $0[0].softmax() }
        try check("log_softmax", [[3, 5]]) { $0[0].logSoftmax() }
        Attention.queryChunk = 2  // exercise the chunked path
        defer { Attention.queryChunk = 256 }
        try check("attention causal", [[1, 2, 5, 3], [1, 2, 5, 3], [1, 2, 5, 3]]) { try Attention.scaledDotProduct($0[0], $0[1], $0[2], causal: true) }
        let mask = (0..<(4 * 6)).map { $0 % 5 != 3 }
        try check("attention masked cross", [[1, 1, 4, 3], [1, 1, 6, 3], [1, 1, 6, 2]]) { try Attention.scaledDotProduct($0[0], $0[1], $0[2], mask: mask) }
        try check("mse", [[2, 3], [2, 3]]) { try Loss.mse($0[0], $0[1]) }
        try check("cross_entropy", [[3, 4]]) { try Loss.crossEntropy($0[0], targets: [0, 3, 1]) }
    }

    func testCheckpointingGivesTheSameGradients() throws {
        var r = NumPyRandom(seed: 3)
        let layer = Linear(4, 4, rng: &r)
        let x = r.normal([2, 4])
        x.requiresGrad = true
        let block: ([Tensor]) throws -> Tensor = { try layer($0[0]).silu() }
        try block([x]).sum().backward()
        let (gx, gw) = (x.grad!, layer.weight.grad!)
        x.zeroGrad(); layer.zeroGrad()
        try checkpoint([x], block).sum().backward()
        assertClose(x.grad!, gx, atol: 1e-6, "checkpointed dx")
        assertClose(layer.weight.grad!, gw, atol: 1e-6, "checkpointed dW")
    }

    func testAbsAndClampPassGradientsWhereTheyShould() throws {
        let x = Tensor(shape: [5], data: [-2, -0.5, 0.25, 1, 3], requiresGrad: true)
        try x.abs().add(x.clamped(-1, 2)).sum().backward()
        XCTAssertEqual(x.grad!.data, [-1, 0, 2, 2, 1])
    }

    func testBackwardReleasesTheGraph() throws {
        // A training step's activations must not outlive its backward pass (no retain cycles).
        weak var activation: Tensor?
        var r = NumPyRandom(seed: 2)
        let layer = Linear(4, 4, rng: &r)
        try {
            let h = try layer(r.normal([3, 4])).silu()
            activation = h
            try h.geluTanh().sum().backward()
        }()
        XCTAssertNil(activation, "the graph kept an activation alive after backward")
        XCTAssertNotNil(layer.weight.grad)
    }

    func testFrozenParametersGetNoGradient() throws {
        var r = NumPyRandom(seed: 1)
        let a = Linear(3, 3, rng: &r), b = Linear(3, 2, rng: &r)
        a.setFrozen(true)
        try b(a(r.normal([4, 3]))).sum().backward()
        XCTAssertNil(a.weight.grad)
        XCTAssertNotNil(b.weight.grad)
        let opt = AdamW(a.parameters + b.parameters)
        XCTAssertEqual(opt.params.count, 2, "optimizer state only for the trainable layer")
    }

    func testShapeErrorsNameBothShapesAndTheLayer() {
        var r = NumPyRandom(seed: 1)
        let layer = Linear(3, 2, rng: &r)
        XCTAssertThrowsError(try layer(Tensor(zeros: [4, 5]))) { e in
            XCTAssertEqual("\(e)", "Linear(3→2) linear: input has shape [4, 5] but weight has shape [2, 3]")
        }
        XCTAssertThrowsError(try Tensor(zeros: [2, 3]).add(Tensor(zeros: [4]))) { e in
            XCTAssertEqual("\(e)", "add: left has shape [2, 3] but right has shape [4]")
        }
        XCTAssertThrowsError(try layer.load(["weight": Tensor(zeros: [3, 3]), "bias": Tensor(zeros: [2])])) { e in
            XCTAssertEqual("\(e)", "weight 'weight': has shape [3, 3], the layer expects [2, 3]")
        }
    }

    func testNonFiniteDetection() throws {
        Autograd.detectNonFinite = true
        defer { Autograd.detectNonFinite = false }
        let t = Tensor(shape: [2], data: [1, .nan])
        XCTAssertThrowsError(try t.checkFinite("test"))
    }

    func testSafeTensorsRoundTripAndSchedules() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nt-\(UUID().uuidString).safetensors").path
        let t = Tensor(shape: [2, 2], data: [1, -2.5, 0.1, 3])
        for dt in [SafeTensors.DType.f32, .f16, .bf16] {
            try SafeTensors.write(["w": t], to: path, dtype: dt, metadata: ["by": "atelier"])
            let back = try SafeTensors(path: path)
            XCTAssertEqual(back.metadata["by"], "atelier")
            assertClose(try back.tensor("w"), t, atol: 0, rtol: dt == .f32 ? 0 : 1e-2, "\(dt) round trip")
        }
        XCTAssertThrowsError(try SafeTensors(data: Data([1, 2, 3])))
        XCTAssertEqual(LRSchedule.constantWithWarmup(warmup: 4).factor(step: 1), 0.5)
        XCTAssertEqual(LRSchedule.linear(warmup: 0, total: 10).factor(step: 5), 0.5)
        XCTAssertEqual(LRSchedule.cosine(warmup: 0, total: 10).factor(step: 5), 0.5, accuracy: 1e-6)
        XCTAssertEqual(LRSchedule.cosine(warmup: 0, total: 10).factor(step: 10), 0, accuracy: 1e-6)
    }

    func testLargeBatchedConvolutionGradientsAreTheSameOnOneOrTwoThreads() throws {
        // Big enough for im2col and col2im to split channels over threads; both run the same sums.
        let x = rng.normal([2, 16, 32, 32]), w = rng.normal([8, 16, 3, 3]), upstream = rng.normal([2, 8, 32, 32])
        func gradients(threads: Int) throws -> (Tensor, Tensor) {
            let saved = BLAS.threads
            BLAS.threads = threads
            defer { BLAS.threads = saved }
            let xi = Tensor(shape: x.shape, data: x.data), wi = Tensor(shape: w.shape, data: w.data)
            xi.requiresGrad = true
            wi.requiresGrad = true
            try xi.conv2d(weight: wi, bias: nil, options: Conv2DOptions(padding: (1, 1))).mul(upstream).sum().backward()
            return (xi.grad!, wi.grad!)
        }
        let one = try gradients(threads: 1), two = try gradients(threads: 2)
        XCTAssertEqual(one.0.data, two.0.data, "input gradient")
        for (a, b) in zip(one.1.data, two.1.data) { XCTAssertEqual(a, b, accuracy: 1e-3 * max(1, abs(a)), "weight gradient") }
        // And against the plain sum for a few input positions: dL/dx = Σ_o Σ_k w[o, c, k] · upstream at the shifted place.
        for (b, c, y, xx) in [(0, 0, 0, 0), (1, 15, 31, 31), (1, 7, 16, 3)] {
            var want: Float = 0
            for o in 0..<8 { for ky in 0..<3 { for kx in 0..<3 {
                let oy = y + 1 - ky, ox = xx + 1 - kx
                guard oy >= 0, oy < 32, ox >= 0, ox < 32 else { continue }
                want += w.data[((o * 16 + c) * 3 + ky) * 3 + kx] * upstream.data[((b * 8 + o) * 32 + oy) * 32 + ox]
            } } }
            XCTAssertEqual(two.0.data[((b * 16 + c) * 32 + y) * 32 + xx], want, accuracy: 1e-3, "dL/dx[\(b), \(c), \(y), \(xx)]")
        }
    }
}
