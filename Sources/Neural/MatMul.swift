extension Tensor {
    /// Matrix product over the last two dimensions, batched over leading ones.
    /// `other` may be 2-D (shared by every batch) or have the same batch dimensions.
    public func matmul(_ other: Tensor) throws(NeuralError) -> Tensor {
        guard rank >= 2, other.rank >= 2, shape[rank - 1] == other.shape[other.rank - 2] else {
            throw .shapeMismatch(op: "matmul", "left", shape, "right", other.shape)
        }
        let m = shape[rank - 2], k = shape[rank - 1], n = other.shape[other.rank - 1]
        let a = self, b = other
        if other.rank == 2 {
            // Fold the batch into M: one large GEMM.
            let rows = count / k
            var out = [Float](repeating: 0, count: rows * n)
            BLAS.gemm(transA: false, transB: false, m: rows, n: n, k: k, data, other.data, &out)
            let outShape = Array(shape.dropLast()) + [n]
            return Tensor(shape: outShape, data: out).record("matmul", [a, b]) { g in
                var ga = [Float](repeating: 0, count: a.count), gb = [Float](repeating: 0, count: b.count)
                if a.tracksGrad { BLAS.gemm(transA: false, transB: true, m: rows, n: k, k: n, g.data, b.data, &ga) }
                if b.tracksGrad { BLAS.gemm(transA: true, transB: false, m: k, n: n, k: rows, a.data, g.data, &gb) }
                return [Tensor(shape: a.shape, data: ga), Tensor(shape: b.shape, data: gb)]
            }
        }
        guard Array(shape.dropLast(2)) == Array(other.shape.dropLast(2)) else {
            throw .shapeMismatch(op: "matmul (batch)", "left", shape, "right", other.shape)
        }
        let batch = count / (m * k)
        var out = [Float](repeating: 0, count: batch * m * n)
        for i in 0..<batch {
            BLAS.gemm(transA: false, transB: false, m: m, n: n, k: k, data, aOffset: i * m * k, other.data, bOffset: i * k * n, &out, cOffset: i * m * n)
        }
        return Tensor(shape: Array(shape.dropLast()) + [n], data: out).record("bmm", [a, b]) { g in
            var ga = [Float](repeating: 0, count: a.count), gb = [Float](repeating: 0, count: b.count)
            for i in 0..<batch {
                BLAS.gemm(transA: false, transB: true, m: m, n: k, k: n, g.data, aOffset: i * m * n, b.data, bOffset: i * k * n, &ga, cOffset: i * m * k)
                BLAS.gemm(transA: true, transB: false, m: k, n: n, k: m, a.data, aOffset: i * m * k, g.data, bOffset: i * m * n, &gb, cOffset: i * k * n)
            }
            return [Tensor(shape: a.shape, data: ga), Tensor(shape: b.shape, data: gb)]
        }
    }

    /// x·Wᵀ + b with W of shape [out, in], as torch's F.linear.
    public func linear(weight: Tensor, bias: Tensor?) throws(NeuralError) -> Tensor {
        guard weight.rank == 2, shape.last == weight.shape[1] else {
            throw .shapeMismatch(op: "linear", "input", shape, "weight", weight.shape)
        }
        if let bias, bias.shape != [weight.shape[0]] { throw .shapeMismatch(op: "linear", "weight", weight.shape, "bias", bias.shape) }
        let rows = count / weight.shape[1], k = weight.shape[1], n = weight.shape[0]
        // Each row starts as the bias (the product adds to it) or is overwritten (beta 0).
        var out = [Float].unfilled(rows * n)
        if let bias {
            bias.data.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    for r in 0..<rows { (op.baseAddress! + r * n).update(from: bp.baseAddress!, count: n) }
                }
            }
        }
        BLAS.gemm(transA: false, transB: true, m: rows, n: n, k: k, data, weight.data, beta: bias == nil ? 0 : 1, &out)
        let x = self
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return Tensor(shape: Array(shape.dropLast()) + [n], data: out).record("linear", inputs) { g in
            var gx = [Float](repeating: 0, count: x.count), gw = [Float](repeating: 0, count: weight.count)
            if x.tracksGrad { BLAS.gemm(transA: false, transB: false, m: rows, n: k, k: n, g.data, weight.data, &gx) }
            if weight.tracksGrad { BLAS.gemm(transA: true, transB: false, m: n, n: k, k: rows, g.data, x.data, &gw) }
            var result: [Tensor?] = [Tensor(shape: x.shape, data: gx), Tensor(shape: weight.shape, data: gw)]
            if bias != nil {
                var gb = [Float](repeating: 0, count: n)
                g.data.withUnsafeBufferPointer { gp in
                    gb.withUnsafeMutableBufferPointer { bp in
                        for r in 0..<rows { let row = gp.baseAddress! + r * n; for j in 0..<n { bp[j] += row[j] } }
                    }
                }
                result.append(Tensor(shape: [n], data: gb))
            }
            return result
        }
    }
}
