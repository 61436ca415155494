extension Tensor {
    /// Same data, new shape (one dimension may be -1).
    public func reshaped(_ newShape: [Int]) throws(NeuralError) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else { throw .shapeMismatch(op: "reshape", "input", shape, "target", newShape) }
            s[i] = count / known
        }
        guard s.reduce(1, *) == count else { throw .shapeMismatch(op: "reshape", "input", shape, "target", newShape) }
        let old = shape
        return Tensor(shape: s, data: data).record("reshape", [self]) { g in [Tensor(shape: old, data: g.data)] }
    }

    /// Reorders dimensions (copies).
    public func permuted(_ perm: [Int]) throws(NeuralError) -> Tensor {
        guard perm.count == rank, Set(perm) == Set(0..<rank) else {
            throw .invalidArgument(op: "permute", "\(perm) is not a permutation of the \(rank) dimensions of \(shape)")
        }
        let out = Tensor(shape: perm.map { shape[$0] }, data: Self.permute(data, shape, perm))
        var inverse = [Int](repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        return out.record("permute", [self]) { g in [Tensor(shape: g.shape.indices.map { g.shape[inverse[$0]] }, data: Self.permute(g.data, g.shape, inverse))] }
    }

    static func permute(_ data: [Float], _ shape: [Int], _ perm: [Int]) -> [Float] {
        let rank = shape.count
        let inStrides = strides(shape)
        let outShape = perm.map { shape[$0] }
        let src = perm.map { inStrides[$0] }
        var out = [Float].unfilled(data.count)
        guard !data.isEmpty else { return out }
        var idx = [Int](repeating: 0, count: rank)
        var j = 0
        data.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                // The innermost dimension is a strided copy; the rest advance an odometer.
                let inner = outShape.last ?? 1, innerStride = src.last ?? 1
                var i = 0
                while i < d.count {
                    for k in 0..<inner { d[i + k] = s[j + k * innerStride] }
                    i += inner
                    var dd = rank - 2
                    while dd >= 0 {
                        idx[dd] += 1
                        j += src[dd]
                        if idx[dd] < outShape[dd] { break }
                        j -= src[dd] * outShape[dd]
                        idx[dd] = 0
                        dd -= 1
                    }
                }
            }
        }
        return out
    }

    /// Swaps two dimensions.
    public func transposed(_ a: Int = -2, _ b: Int = -1) throws(NeuralError) -> Tensor {
        var p = Array(0..<rank)
        p.swapAt(normalize(dim: a, rank: rank), normalize(dim: b, rank: rank))
        return try permuted(p)
    }

    /// Splits into `n` equal parts along `dim`.
    public func chunked(_ n: Int, dim: Int = -1) throws(NeuralError) -> [Tensor] {
        let d = normalize(dim: dim, rank: rank)
        guard shape[d] % n == 0 else { throw .invalidArgument(op: "chunk", "dimension \(d) of \(shape) does not split into \(n)") }
        let part = shape[d] / n
        return try (0..<n).map { i throws(NeuralError) in try sliced(dim: d, start: i * part, length: part) }
    }

    /// `length` entries from `start` along `dim`.
    public func sliced(dim: Int, start: Int, length: Int) throws(NeuralError) -> Tensor {
        let d = normalize(dim: dim, rank: rank)
        guard start >= 0, length >= 0, start + length <= shape[d] else {
            throw .invalidArgument(op: "slice", "[\(start), \(start + length)) is outside dimension \(d) of \(shape)")
        }
        let outer = shape[..<d].reduce(1, *), inner = shape[(d + 1)...].reduce(1, *)
        var s = shape
        s[d] = length
        var out = [Float].unfilled(outer * length * inner)
        let full = shape[d], run = length * inner
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for o in 0..<outer { (dst.baseAddress! + o * run).update(from: src.baseAddress! + (o * full + start) * inner, count: run) }
            }
        }
        let inShape = shape
        return Tensor(shape: s, data: out).record("slice", [self]) { g in
            var back = [Float](repeating: 0, count: inShape.reduce(1, *))
            g.data.withUnsafeBufferPointer { src in
                back.withUnsafeMutableBufferPointer { dst in
                    for o in 0..<outer { (dst.baseAddress! + (o * full + start) * inner).update(from: src.baseAddress! + o * run, count: run) }
                }
            }
            return [Tensor(shape: inShape, data: back)]
        }
    }

    /// Concatenates along `dim`.
    public static func concat(_ parts: [Tensor], dim: Int) throws(NeuralError) -> Tensor {
        guard let first = parts.first else { throw .invalidArgument(op: "concat", "nothing to concatenate") }
        let d = normalize(dim: dim, rank: first.rank)
        for p in parts where p.rank != first.rank || p.shape.enumerated().contains(where: { $0.offset != d && $0.element != first.shape[$0.offset] }) {
            throw .shapeMismatch(op: "concat", "first", first.shape, "part", p.shape)
        }
        let outer = first.shape[..<d].reduce(1, *), inner = first.shape[(d + 1)...].reduce(1, *)
        let total = parts.reduce(0) { $0 + $1.shape[d] }
        var s = first.shape
        s[d] = total
        var out = [Float](repeating: 0, count: outer * total * inner)
        var offset = 0
        for p in parts {
            let len = p.shape[d]
            for o in 0..<outer {
                let to = (o * total + offset) * inner, from = o * len * inner
                for k in 0..<(len * inner) { out[to + k] = p.data[from + k] }
            }
            offset += len
        }
        let sizes = parts.map { $0.shape[d] }
        return Tensor(shape: s, data: out).record("concat", parts) { g in
            var start = 0
            return sizes.map { len in
                defer { start += len }
                return try? g.sliced(dim: d, start: start, length: len)
            }
        }
    }

    /// Zero padding of the last two dimensions: (left, right, top, bottom), as torch's F.pad.
    public func padded2D(left: Int, right: Int, top: Int, bottom: Int) throws(NeuralError) -> Tensor {
        guard rank >= 2 else { throw .invalidArgument(op: "pad", "needs at least 2 dimensions, got \(shape)") }
        let h = shape[rank - 2], w = shape[rank - 1]
        let oh = h + top + bottom, ow = w + left + right
        let planes = count / max(h * w, 1)
        var out = [Float](repeating: 0, count: planes * oh * ow)
        for p in 0..<planes {
            for y in 0..<h {
                let from = (p * h + y) * w, to = (p * oh + y + top) * ow + left
                for x in 0..<w { out[to + x] = data[from + x] }
            }
        }
        var s = shape
        s[rank - 2] = oh
        s[rank - 1] = ow
        let inShape = shape
        return Tensor(shape: s, data: out).record("pad", [self]) { g in
            var back = [Float](repeating: 0, count: planes * h * w)
            for p in 0..<planes {
                for y in 0..<h {
                    let to = (p * h + y) * w, from = (p * oh + y + top) * ow + left
                    for x in 0..<w { back[to + x] = g.data[from + x] }
                }
            }
            return [Tensor(shape: inShape, data: back)]
        }
    }
}
