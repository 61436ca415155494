import Foundation

extension Tensor {
    /// Normalises groups of `groupSize` consecutive values of each of `groups` rows; returns (x̂, 1/σ per group).
    static func normalizeRows(_ x: [Float], rows: Int, width: Int, eps: Float, centered: Bool) -> ([Float], [Float]) {
        var xhat = [Float](repeating: 0, count: x.count)
        var inv = [Float](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { src in
            xhat.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows {
                    let row = src.baseAddress! + r * width, out = dst.baseAddress! + r * width
                    // Two passes in float SIMD lanes (8 partial sums keep the error small for these widths).
                    var mean: Float = 0
                    if centered { mean = Self.sum(row, width) / Float(width) }
                    let m8 = SIMD8<Float>(repeating: mean)
                    var acc = SIMD8<Float>()
                    var j = 0
                    while j + 8 <= width {
                        let d = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self) - m8
                        acc += d * d
                        j += 8
                    }
                    var v = acc.sum()
                    while j < width { let d = row[j] - mean; v += d * d; j += 1 }
                    let istd = 1 / (v / Float(width) + eps).squareRoot()
                    inv[r] = istd
                    for j in 0..<width { out[j] = (row[j] - mean) * istd }
                }
            }
        }
        return (xhat, inv)
    }

    @inline(__always) static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var j = 0
        while j + 8 <= n { acc += UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self); j += 8 }
        var s = acc.sum()
        while j < n { s += p[j]; j += 1 }
        return s
    }

    /// Backward of row normalisation: dx from d x̂.
    static func normalizeRowsBackward(_ dxhat: [Float], _ xhat: [Float], _ inv: [Float], rows: Int, width: Int, centered: Bool) -> [Float] {
        var dx = [Float](repeating: 0, count: dxhat.count)
        let n = Float(width)
        for r in 0..<rows {
            let o = r * width
            var sum: Float = 0, dot: Float = 0
            for j in 0..<width { sum += dxhat[o + j]; dot += dxhat[o + j] * xhat[o + j] }
            for j in 0..<width {
                dx[o + j] = inv[r] * (dxhat[o + j] - (centered ? sum / n : 0) - xhat[o + j] * dot / n)
            }
        }
        return dx
    }

    /// Layer norm over the last dimension with optional affine weight and bias.
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws(NeuralError) -> Tensor {
        try rowNorm(op: "layer_norm", weight: weight, bias: bias, eps: eps, centered: true)
    }

    /// RMS norm over the last dimension: x / sqrt(mean(x²) + eps) · weight.
    public func rmsNorm(weight: Tensor?, eps: Float = 1e-6) throws(NeuralError) -> Tensor {
        try rowNorm(op: "rms_norm", weight: weight, bias: nil, eps: eps, centered: false)
    }

    func rowNorm(op: String, weight: Tensor?, bias: Tensor?, eps: Float, centered: Bool) throws(NeuralError) -> Tensor {
        let d = shape.last ?? 1
        if let weight, weight.shape != [d] { throw .shapeMismatch(op: op, "input", shape, "weight", weight.shape) }
        if let bias, bias.shape != [d] { throw .shapeMismatch(op: op, "input", shape, "bias", bias.shape) }
        let rows = count / d
        let (xhat, inv) = Self.normalizeRows(data, rows: rows, width: d, eps: eps, centered: centered)
        var y = xhat
        if weight != nil || bias != nil {
            // Row by row, so the inner loop is contiguous and vectorises (an index modulo d did not).
            let w = weight?.data ?? [Float](repeating: 1, count: d), b = bias?.data ?? [Float](repeating: 0, count: d)
            y.withUnsafeMutableBufferPointer { yp in
                w.withUnsafeBufferPointer { wp in
                    b.withUnsafeBufferPointer { bp in
                        for r in 0..<rows {
                            let row = yp.baseAddress! + r * d
                            for j in 0..<d { row[j] = row[j] * wp[j] + bp[j] }
                        }
                    }
                }
            }
        }
        let x = self
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Tensor(shape: shape, data: y).record(op, inputs) { g in
            var dxhat = g.data
            if let weight {
                dxhat.withUnsafeMutableBufferPointer { gp in
                    weight.data.withUnsafeBufferPointer { wp in
                        for r in 0..<rows { let row = gp.baseAddress! + r * d; for j in 0..<d { row[j] *= wp[j] } }
                    }
                }
            }
            var out: [Tensor?] = [Tensor(shape: x.shape, data: Self.normalizeRowsBackward(dxhat, xhat, inv, rows: rows, width: d, centered: centered))]
            if weight != nil || bias != nil {
                var gw = [Float](repeating: 0, count: d), gb = [Float](repeating: 0, count: d)
                g.data.withUnsafeBufferPointer { gp in
                    xhat.withUnsafeBufferPointer { xp in
                        gw.withUnsafeMutableBufferPointer { gwp in
                            gb.withUnsafeMutableBufferPointer { gbp in
                                for r in 0..<rows {
                                    let go = gp.baseAddress! + r * d, xo = xp.baseAddress! + r * d
                                    for j in 0..<d { gwp[j] += go[j] * xo[j]; gbp[j] += go[j] }
                                }
                            }
                        }
                    }
                }
                if weight != nil { out.append(Tensor(shape: [d], data: gw)) }
                if bias != nil { out.append(Tensor(shape: [d], data: gb)) }
            }
            return out
        }
    }

    /// Group norm over [N, C, …]: C split into `groups`, per-channel affine weight and bias.
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws(NeuralError) -> Tensor {
        guard rank >= 2, shape[1] % groups == 0 else {
            throw .invalidArgument(op: "group_norm", "\(shape[safe: 1] ?? 0) channels do not split into \(groups) groups (input \(shape))")
        }
        let n = shape[0], c = shape[1], spatial = count / (n * c)
        if let weight, weight.shape != [c] { throw .shapeMismatch(op: "group_norm", "input", shape, "weight", weight.shape) }
        if let bias, bias.shape != [c] { throw .shapeMismatch(op: "group_norm", "input", shape, "bias", bias.shape) }
        let rows = n * groups, width = (c / groups) * spatial
        let (xhat, inv) = Self.normalizeRows(data, rows: rows, width: width, eps: eps, centered: true)
        var y = xhat
        if weight != nil || bias != nil {
            let w = weight?.data, b = bias?.data
            y.withUnsafeMutableBufferPointer { yp in
                for plane in 0..<(n * c) {
                    let ch = plane % c, scale = w?[ch] ?? 1, shift = b?[ch] ?? 0
                    let p = yp.baseAddress! + plane * spatial
                    for i in 0..<spatial { p[i] = p[i] * scale + shift }
                }
            }
        }
        let x = self
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Tensor(shape: shape, data: y).record("group_norm", inputs) { g in
            let gd = g.data
            var dxhat = gd
            if let w = weight?.data {
                dxhat.withUnsafeMutableBufferPointer { dp in
                    for plane in 0..<(n * c) {
                        let scale = w[plane % c], p = dp.baseAddress! + plane * spatial
                        for i in 0..<spatial { p[i] *= scale }
                    }
                }
            }
            var out: [Tensor?] = [Tensor(shape: x.shape, data: Self.normalizeRowsBackward(dxhat, xhat, inv, rows: rows, width: width, centered: true))]
            // Per-channel sums, plane by plane.
            var gw = [Float](repeating: 0, count: c), gb = [Float](repeating: 0, count: c)
            gd.withUnsafeBufferPointer { gp in
                xhat.withUnsafeBufferPointer { xp in
                    for plane in 0..<(n * c) {
                        let o = plane * spatial
                        var sw: Float = 0, sb: Float = 0
                        for i in 0..<spatial { sw += gp[o + i] * xp[o + i]; sb += gp[o + i] }
                        gw[plane % c] += sw
                        gb[plane % c] += sb
                    }
                }
            }
            if weight != nil { out.append(Tensor(shape: [c], data: gw)) }
            if bias != nil { out.append(Tensor(shape: [c], data: gb)) }
            return out
        }
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
