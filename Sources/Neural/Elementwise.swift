import Foundation

/// The shape two shapes broadcast to (NumPy rules), or nil.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let n = max(a.count, b.count)
    var out = [Int](repeating: 1, count: n)
    for i in 0..<n {
        let x = i < n - a.count ? 1 : a[i - (n - a.count)]
        let y = i < n - b.count ? 1 : b[i - (n - b.count)]
        if x != y && x != 1 && y != 1 { return nil }
        out[i] = max(x, y)
    }
    return out
}

/// Strides of `shape` read as if it had `outShape` (0 on broadcast dimensions).
func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
    let s = strides(shape)
    let off = outShape.count - shape.count
    return (0..<outShape.count).map { i in i < off || shape[i - off] == 1 ? 0 : s[i - off] }
}

/// When `shape` (right-aligned to `outShape`) equals `outShape` up to some dimension and is 1 after it,
/// the number of elements each of its values covers; nil otherwise.
func trailingRepeat(_ shape: [Int], _ outShape: [Int]) -> Int? {
    guard shape.count <= outShape.count else { return nil }
    let padded = [Int](repeating: 1, count: outShape.count - shape.count) + shape
    guard let last = padded.lastIndex(where: { $0 != 1 }) else { return nil }
    for d in 0...last where padded[d] != outShape[d] { return nil }
    return outShape[(last + 1)...].reduce(1, *)
}

/// Applies `f` over the broadcast of a and b. Inlined so that `f` is too: called through a closure
/// per element, a UNet's adds and scales cost several times their memory traffic.
@inline(__always)
func broadcastApply(_ a: Tensor, _ b: Tensor, _ outShape: [Int], _ f: (Float, Float) -> Float) -> [Float] {
    let n = outShape.reduce(1, *)
    var out = [Float].unfilled(n)
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { po in
                if a.shape == b.shape {
                    for i in 0..<n { po[i] = f(pa[i], pb[i]) }
                } else if b.count == 1 {
                    let y = pb[0]
                    for i in 0..<n { po[i] = f(pa[i], y) }
                } else if a.count == 1 {
                    let x = pa[0]
                    for i in 0..<n { po[i] = f(x, pb[i]) }
                } else if a.count == n, n % b.count == 0, Array(outShape.suffix(b.shape.count)) == b.shape {
                    // b repeats along leading dimensions (a bias).
                    let m = b.count
                    for i in 0..<n { po[i] = f(pa[i], pb[i % m]) }
                } else if a.count == n, let inner = trailingRepeat(b.shape, outShape) {
                    // b holds one value per leading index, repeated over the trailing dimensions (a
                    // [N, C, 1, 1] time embedding or scale over [N, C, H, W]): contiguous runs.
                    for j in 0..<b.count {
                        let y = pb[j], base = j * inner
                        for t in 0..<inner { po[base + t] = f(pa[base + t], y) }
                    }
                } else if b.count == n, let inner = trailingRepeat(a.shape, outShape) {
                    for j in 0..<a.count {
                        let x = pa[j], base = j * inner
                        for t in 0..<inner { po[base + t] = f(x, pb[base + t]) }
                    }
                } else {
                    let sa = broadcastStrides(a.shape, to: outShape), sb = broadcastStrides(b.shape, to: outShape)
                    let rank = outShape.count
                    var idx = [Int](repeating: 0, count: rank)
                    var ia = 0, ib = 0
                    for i in 0..<n {
                        po[i] = f(pa[ia], pb[ib])
                        var d = rank - 1
                        while d >= 0 {
                            idx[d] += 1
                            ia += sa[d]; ib += sb[d]
                            if idx[d] < outShape[d] { break }
                            ia -= sa[d] * outShape[d]; ib -= sb[d] * outShape[d]
                            idx[d] = 0
                            d -= 1
                        }
                    }
                }
            }
        }
    }
    return out
}

extension Tensor {
    /// Sums a broadcast gradient back down to `shape`.
    func reduced(to target: [Int]) -> Tensor {
        if shape == target { return self }
        var out = [Float](repeating: 0, count: target.reduce(1, *))
        let ts = broadcastStrides(target, to: shape)
        let rank = shape.count
        var idx = [Int](repeating: 0, count: rank)
        var j = 0
        data.withUnsafeBufferPointer { src in
            for i in 0..<src.count {
                out[j] += src[i]
                var d = rank - 1
                while d >= 0 {
                    idx[d] += 1
                    j += ts[d]
                    if idx[d] < shape[d] { break }
                    j -= ts[d] * shape[d]
                    idx[d] = 0
                    d -= 1
                }
            }
        }
        return Tensor(shape: target, data: out)
    }

    @inline(__always)
    func binary(_ other: Tensor, _ op: String, _ f: (Float, Float) -> Float) throws(NeuralError) -> (Tensor, [Int]) {
        guard let s = broadcastShape(shape, other.shape) else {
            throw .shapeMismatch(op: op, "left", shape, "right", other.shape)
        }
        return (Tensor(shape: s, data: broadcastApply(self, other, s, f)), s)
    }

    public func add(_ o: Tensor) throws(NeuralError) -> Tensor {
        let (out, _) = try binary(o, "add", +)
        let (sa, sb) = (shape, o.shape)
        return out.record("add", [self, o]) { g in [g.reduced(to: sa), g.reduced(to: sb)] }
    }

    public func sub(_ o: Tensor) throws(NeuralError) -> Tensor {
        let (out, _) = try binary(o, "sub", -)
        let (sa, sb) = (shape, o.shape)
        return out.record("sub", [self, o]) { g in [g.reduced(to: sa), g.map { -$0 }.reduced(to: sb)] }
    }

    public func mul(_ o: Tensor) throws(NeuralError) -> Tensor {
        let (out, s) = try binary(o, "mul", *)
        let (a, b) = (self, o)
        return out.record("mul", [a, b]) { g in
            [Tensor(shape: s, data: broadcastApply(g, b, s, *)).reduced(to: a.shape),
             Tensor(shape: s, data: broadcastApply(g, a, s, *)).reduced(to: b.shape)]
        }
    }

    public func div(_ o: Tensor) throws(NeuralError) -> Tensor {
        let (out, s) = try binary(o, "div", /)
        let (a, b) = (self, o)
        return out.record("div", [a, b]) { g in
            let ga = Tensor(shape: s, data: broadcastApply(g, b, s, /)).reduced(to: a.shape)
            // d(a/b)/db = -a/b² = -out/b
            let q = Tensor(shape: s, data: broadcastApply(out, b, s, /))
            let gb = Tensor(shape: s, data: broadcastApply(g, q, s) { -$0 * $1 }).reduced(to: b.shape)
            return [ga, gb]
        }
    }

    public func scaled(_ k: Float) -> Tensor {
        map { $0 * k }.record("scale", [self]) { g in [g.map { $0 * k }] }
    }

    public func adding(_ k: Float) -> Tensor {
        map { $0 + k }.record("add-scalar", [self]) { g in [g] }
    }

    /// Element-wise map without recording (building block for ops that record their own gradient).
    func map(_ f: (Float) -> Float) -> Tensor {
        var out = [Float](repeating: 0, count: count)
        data.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in for i in 0..<s.count { d[i] = f(s[i]) } }
        }
        return Tensor(shape: shape, data: out)
    }

    /// Element-wise zip of same-shaped tensors without recording.
    func zip(_ o: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        var out = [Float](repeating: 0, count: count)
        data.withUnsafeBufferPointer { a in
            o.data.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { d in for i in 0..<a.count { d[i] = f(a[i], b[i]) } }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    /// A unary op with derivative `df(x, y)` in terms of input and output.
    func unary(_ op: String, _ f: (Float) -> Float, _ df: @escaping (Float, Float) -> Float) -> Tensor {
        let out = map(f)
        let x = self
        return out.record(op, [x]) { g in
            let d = x.zip(out, df)
            return [g.zip(d, *)]
        }
    }

    public func exp() -> Tensor { unary("exp", { Foundation.exp($0) }, { _, y in y }) }
    public func log() -> Tensor { unary("log", { Foundation.log($0) }, { x, _ in 1 / x }) }
    public func sqrt() -> Tensor { unary("sqrt", { Foundation.sqrt($0) }, { _, y in 0.5 / y }) }
    public func neg() -> Tensor { unary("neg", { -$0 }, { _, _ in -1 }) }
    public func square() -> Tensor { unary("square", { $0 * $0 }, { x, _ in 2 * x }) }
    public func tanh() -> Tensor { unary("tanh", { Foundation.tanh($0) }, { _, y in 1 - y * y }) }
    public func sigmoid() -> Tensor { unary("sigmoid", sigmoidf, { _, y in y * (1 - y) }) }
    public func relu() -> Tensor { unary("relu", { max($0, 0) }, { x, _ in x > 0 ? 1 : 0 }) }
    public func abs() -> Tensor { unary("abs", { Swift.abs($0) }, { x, _ in x > 0 ? 1 : x < 0 ? -1 : 0 }) }
    /// Values limited to [low, high]; the gradient passes only where the input was inside.
    public func clamped(_ low: Float, _ high: Float) -> Tensor {
        unary("clamp", { Swift.min(Swift.max($0, low), high) }, { x, _ in x >= low && x <= high ? 1 : 0 })
    }
    public func silu() -> Tensor { sigmoidGate("silu", alpha: 1) }
    /// x·σ(1.702x), CLIP's activation.
    public func quickGELU() -> Tensor { sigmoidGate("quick_gelu", alpha: 1.702) }

    /// x·σ(αx), vectorised; the backward recomputes σ from the saved input.
    func sigmoidGate(_ op: String, alpha: Float) -> Tensor {
        var out = [Float](repeating: 0, count: count)
        data.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { y in VectorMath.sigmoidGate(x.baseAddress!, y.baseAddress!, x.count, alpha: alpha) } }
        let x = self
        return Tensor(shape: shape, data: out).record(op, [x]) { g in
            var d = [Float](repeating: 0, count: x.count), tmp = d
            x.data.withUnsafeBufferPointer { xp in
                tmp.withUnsafeMutableBufferPointer { t in d.withUnsafeMutableBufferPointer { dp in
                    VectorMath.sigmoidGate(xp.baseAddress!, t.baseAddress!, xp.count, alpha: alpha, derivative: dp.baseAddress!)
                } }
            }
            return [g.zip(Tensor(shape: x.shape, data: d), *)]
        }
    }
    /// Exact GELU: x·Φ(x) (vectorised; erf to 1.5e-7).
    public func gelu() -> Tensor {
        var out = [Float](repeating: 0, count: count)
        data.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { y in VectorMath.gelu(x.baseAddress!, y.baseAddress!, x.count) } }
        let x = self
        return Tensor(shape: shape, data: out).record("gelu", [x]) { g in
            var d = [Float](repeating: 0, count: x.count), tmp = d
            x.data.withUnsafeBufferPointer { xp in
                tmp.withUnsafeMutableBufferPointer { t in d.withUnsafeMutableBufferPointer { dp in
                    VectorMath.gelu(xp.baseAddress!, t.baseAddress!, xp.count, derivative: dp.baseAddress!)
                } }
            }
            return [g.zip(Tensor(shape: x.shape, data: d), *)]
        }
    }
    /// GELU with the tanh approximation.
    public func geluTanh() -> Tensor {
        let c: Float = (2 / Float.pi).squareRoot()
        return unary("gelu_tanh", { x in 0.5 * x * (1 + Foundation.tanh(c * (x + 0.044715 * x * x * x))) }, { x, _ in
            let u = c * (x + 0.044715 * x * x * x)
            let t = Foundation.tanh(u)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
        })
    }
}

@inline(__always) func sigmoidf(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

extension Double { var float: Float { Float(self) } }

extension Tensor {
    /// diffusers' GEGLU after its projection: (a, gate) = chunk(2, -1); a · gelu(gate).
    public func geglu() throws(NeuralError) -> Tensor {
        let parts = try chunked(2, dim: -1)
        return try parts[0].mul(parts[1].gelu())
    }

    /// SwiGLU: (a, b) = chunk(2, -1); silu(a) · b.
    public func swiglu() throws(NeuralError) -> Tensor {
        let parts = try chunked(2, dim: -1)
        return try parts[0].silu().mul(parts[1])
    }
}
