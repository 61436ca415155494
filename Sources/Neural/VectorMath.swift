import Foundation

/// Vectorised elementwise kernels for the hot loops (softmax, attention).
public enum VectorMath {
    /// exp(x) in place: range reduction x = n·ln2 + r (|r| ≤ ln2/2) and a degree-7 Taylor polynomial
    /// for e^r (truncation error < 1e-8 relative), scaled by 2^n through the exponent bits.
    /// Inputs below -87 give 0 (as expf underflows); above 88 they are clamped.
    public static func expInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            let x = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(p + i).storeBytes(of: exp8(x), as: SIMD8<Float>.self)
            i += 8
        }
        if i < n {
            var tail = SIMD8<Float>(repeating: -100)
            for j in 0..<(n - i) { tail[j] = p[i + j] }
            let e = exp8(tail)
            for j in 0..<(n - i) { p[i + j] = e[j] }
        }
    }

    @inline(__always) static func exp8(_ input: SIMD8<Float>) -> SIMD8<Float> {
        let underflow = input .< SIMD8<Float>(repeating: -87)
        // Blends, not `clamped`: that goes through generic pointwiseMin/Max calls that were not inlined
        // and took a third of attention's softmax time.
        let x = input.replacing(with: -87, where: underflow).replacing(with: 88, where: input .> 88)
        // Round to nearest with the 1.5·2^23 trick: the sum's low mantissa bits hold the integer, so
        // neither rounding nor float→int conversion goes through a generic (scalar) path.
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let shifted = x * 1.442_695_04 + magic
        let k = shifted - magic
        let r = x - k * 0.693_145_751_953_125 - k * 1.428_606_765_330_187e-6
        var poly = SIMD8<Float>(repeating: 1.0 / 5040)
        poly = poly * r + 1.0 / 720
        poly = poly * r + 1.0 / 120
        poly = poly * r + 1.0 / 24
        poly = poly * r + 1.0 / 6
        poly = poly * r + 0.5
        poly = poly * r + 1
        poly = poly * r + 1
        let n = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((n &+ 127) &<< 23, to: SIMD8<Float>.self)
        return (poly * scale).replacing(with: 0, where: underflow)
    }

    /// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7), on the vectorised exp.
    @inline(__always) static func erf8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let ax = x.replacing(with: -x, where: x .< 0)
        let t = 1 / (1 + 0.327_591_1 * ax)
        var poly = SIMD8<Float>(repeating: 1.061_405_429)
        poly = poly * t - 1.453_152_027
        poly = poly * t + 1.421_413_741
        poly = poly * t - 0.284_496_736
        poly = poly * t + 0.254_829_592
        poly = poly * t
        let y = 1 - poly * exp8(-ax * ax)
        return y.replacing(with: -y, where: x .< 0)
    }

    /// Exact-form GELU x·Φ(x) in place, and (optionally) its derivative Φ(x) + x·φ(x) into `derivative`.
    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, derivative: UnsafeMutablePointer<Float>? = nil) {
        let invSqrt2: Float = 0.707_106_781_186_547_5, invSqrt2Pi: Float = 0.398_942_280_401_432_7
        var i = 0
        while i < n {
            var v = SIMD8<Float>(repeating: 0)
            let m = Swift.min(8, n - i)
            if m == 8 { v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) } else { for j in 0..<m { v[j] = x[i + j] } }
            let cdf = 0.5 * (1 + erf8(v * invSqrt2))
            let out = v * cdf
            if m == 8 { UnsafeMutableRawPointer(y + i).storeBytes(of: out, as: SIMD8<Float>.self) } else { for j in 0..<m { y[i + j] = out[j] } }
            if let derivative {
                let d = cdf + v * invSqrt2Pi * exp8(-0.5 * v * v)
                for j in 0..<m { derivative[i + j] = d[j] }
            }
            i += 8
        }
    }

    /// x·σ(αx) (SiLU at α = 1, CLIP's quick GELU at α = 1.702) into `y`, and (optionally) its
    /// derivative σ + αx·σ(1 − σ) into `derivative`. Vectorised: these run on every UNet and VAE block.
    public static func sigmoidGate(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, alpha: Float,
                                   derivative: UnsafeMutablePointer<Float>? = nil) {
        var i = 0
        while i < n {
            let m = Swift.min(8, n - i)
            var v = SIMD8<Float>(repeating: 0)
            if m == 8 { v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) } else { for j in 0..<m { v[j] = x[i + j] } }
            let s = 1 / (1 + exp8(-alpha * v))
            let out = v * s
            if m == 8 { UnsafeMutableRawPointer(y + i).storeBytes(of: out, as: SIMD8<Float>.self) } else { for j in 0..<m { y[i + j] = out[j] } }
            if let derivative {
                let d = s + alpha * v * s * (1 - s)
                if m == 8 { UnsafeMutableRawPointer(derivative + i).storeBytes(of: d, as: SIMD8<Float>.self) } else { for j in 0..<m { derivative[i + j] = d[j] } }
            }
            i += 8
        }
    }

    /// Softmax of one row in place (max-shifted); returns log Σ exp, the row's log-sum-exp.
    /// A row of -∞ (fully masked) becomes zeros and returns -∞.
    @discardableResult
    public static func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        let mx = max(row, n)
        if mx == -.infinity {
            for j in 0..<n { row[j] = 0 }
            return -.infinity
        }
        let sum = expShifted(row, n, by: mx)
        scale(row, n, by: 1 / sum)
        return mx + Foundation.log(sum)
    }

    /// row ← exp(row − shift) in one pass; returns Σ row. Attention's rows are long and leave the
    /// cache between passes, so subtracting, exponentiating and summing are fused.
    @discardableResult
    public static func expShifted(_ row: UnsafeMutablePointer<Float>, _ n: Int, by shift: Float) -> Float {
        let sh = SIMD8<Float>(repeating: shift)
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            let e = exp8(UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self) - sh)
            UnsafeMutableRawPointer(row + i).storeBytes(of: e, as: SIMD8<Float>.self)
            acc += e
            i += 8
        }
        var sum = acc.sum()
        if i < n {
            var tail = SIMD8<Float>(repeating: -.infinity)
            for j in 0..<(n - i) { tail[j] = row[i + j] - shift }
            let e = exp8(tail)
            for j in 0..<(n - i) { row[i + j] = e[j]; sum += e[j] }
        }
        return sum
    }

    /// dS ← P ⊙ (dP − dot) · scale, in place over dP: the softmax backward of one attention row.
    @inline(__always) public static func softmaxBackwardRow(_ p: UnsafePointer<Float>, _ dp: UnsafeMutablePointer<Float>, _ n: Int, dot: Float, scale: Float) {
        let d = SIMD8<Float>(repeating: dot)
        var i = 0
        while i + 8 <= n {
            let x = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
                * (UnsafeRawPointer(dp + i).loadUnaligned(as: SIMD8<Float>.self) - d) * scale
            UnsafeMutableRawPointer(dp + i).storeBytes(of: x, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { dp[i] = p[i] * (dp[i] - dot) * scale; i += 1 }
    }

    /// row ← row · factor.
    @inline(__always) public static func scale(_ row: UnsafeMutablePointer<Float>, _ n: Int, by factor: Float) {
        var i = 0
        while i + 8 <= n {
            let x = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self) * factor
            UnsafeMutableRawPointer(row + i).storeBytes(of: x, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { row[i] *= factor; i += 1 }
    }

    /// Maximum of n values.
    /// Σ a[i]·b[i], eight lanes at a time.
    @inline(__always) public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            acc.addProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self), UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
            i += 8
        }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    @inline(__always) public static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= n {
            let x = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            acc.replace(with: x, where: x .> acc)
            i += 8
        }
        var m = acc.max()
        while i < n { if p[i] > m { m = p[i] }; i += 1 }
        return m
    }
}

extension Array where Element == Float {
    /// `count` floats left as the allocator gave them, for buffers the caller overwrites whole (im2col
    /// matrices, GEMM outputs with beta 0): zero-filling tens of megabytes costs milliseconds a conv.
    static func unfilled(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
    }
}
