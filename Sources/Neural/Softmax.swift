import Foundation

extension Tensor {
    /// Softmax over the last dimension (numerically stable).
    public func softmax() -> Tensor {
        let n = shape.last ?? 1, rows = count / max(n, 1)
        var out = data
        out.withUnsafeMutableBufferPointer { y in
            for r in 0..<rows { VectorMath.softmaxRow(y.baseAddress! + r * n, n) }
        }
        let result = Tensor(shape: shape, data: out)
        return result.record("softmax", [self]) { g in
            // dx = y ⊙ (g − Σ g⊙y)
            var dx = [Float](repeating: 0, count: out.count)
            for r in 0..<rows {
                let o = r * n
                var dot: Float = 0
                for j in 0..<n { dot += g.data[o + j] * out[o + j] }
                for j in 0..<n { dx[o + j] = out[o + j] * (g.data[o + j] - dot) }
            }
            return [Tensor(shape: result.shape, data: dx)]
        }
    }

    /// Log-softmax over the last dimension.
    public func logSoftmax() -> Tensor {
        let n = shape.last ?? 1, rows = count / max(n, 1)
        var out = [Float](repeating: 0, count: count)
        for r in 0..<rows {
            let o = r * n
            var mx = -Float.infinity
            for j in 0..<n { mx = max(mx, data[o + j]) }
            var s: Float = 0
            for j in 0..<n { s += Foundation.exp(data[o + j] - mx) }
            let lse = mx + Foundation.log(s)
            for j in 0..<n { out[o + j] = data[o + j] - lse }
        }
        let result = Tensor(shape: shape, data: out)
        return result.record("log_softmax", [self]) { g in
            var dx = [Float](repeating: 0, count: out.count)
            for r in 0..<rows {
                let o = r * n
                var s: Float = 0
                for j in 0..<n { s += g.data[o + j] }
                for j in 0..<n { dx[o + j] = g.data[o + j] - Foundation.exp(out[o + j]) * s }
            }
            return [Tensor(shape: result.shape, data: dx)]
        }
    }
}

/// Loss functions (mean reduction, as torch's defaults).
public enum Loss {
    /// Cross-entropy of logits [N, C] against class indices.
    public static func crossEntropy(_ logits: Tensor, targets: [Int]) throws(NeuralError) -> Tensor {
        guard logits.rank == 2, logits.shape[0] == targets.count else {
            throw .shapeMismatch(op: "cross_entropy", "logits", logits.shape, "targets", [targets.count])
        }
        let c = logits.shape[1]
        if let bad = targets.first(where: { $0 < 0 || $0 >= c }) {
            throw .invalidArgument(op: "cross_entropy", "target \(bad) is not a class in 0..<\(c)")
        }
        let lsm = logits.logSoftmax()
        var onehot = [Float](repeating: 0, count: logits.count)
        for (i, t) in targets.enumerated() { onehot[i * c + t] = -1 / Float(targets.count) }
        return try lsm.mul(Tensor(shape: logits.shape, data: onehot)).sum()
    }

    /// Mean squared error.
    public static func mse(_ a: Tensor, _ b: Tensor) throws(NeuralError) -> Tensor {
        guard a.shape == b.shape else { throw .shapeMismatch(op: "mse", "prediction", a.shape, "target", b.shape) }
        return try a.sub(b).square().mean()
    }
}
