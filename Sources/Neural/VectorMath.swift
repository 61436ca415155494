import CKernels
import Foundation

/// Vectorised elementwise kernels for the hot loops (softmax, attention, activations); the
/// transcendental ones run in CKernels (AVX-512 / AVX2 / baseline, picked at run time).
public enum VectorMath {
    /// exp(x) in place (CKernels' vectorised exp: below -87 gives 0, above 88 is clamped, relative
    /// error < 1e-7).
    public static func expInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        ck_exp_inplace(p, n)
    }

    /// Exact-form GELU x·Φ(x), and (optionally) its derivative Φ(x) + x·φ(x) into `derivative`.
    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, derivative: UnsafeMutablePointer<Float>? = nil) {
        ck_gelu(x, y, n, derivative)
    }

    /// x·σ(αx) (SiLU at α = 1, CLIP's quick GELU at α = 1.702) into `y`, and (optionally) its
    /// derivative σ + αx·σ(1 − σ) into `derivative`. These run on every UNet and VAE block.
    public static func sigmoidGate(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, alpha: Float,
                                   derivative: UnsafeMutablePointer<Float>? = nil) {
        ck_sigmoid_gate(x, y, n, alpha, derivative)
    }

    /// Softmax of one row in place (max-shifted); returns log Σ exp, the row's log-sum-exp.
    /// A row of -∞ (fully masked) becomes zeros and returns -∞.
    @discardableResult
    public static func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        ck_softmax_row(row, n)
    }

    /// row ← exp(row − shift) in one pass; returns Σ row. Attention's rows are long and leave the
    /// cache between passes, so subtracting, exponentiating and summing are fused.
    @discardableResult
    public static func expShifted(_ row: UnsafeMutablePointer<Float>, _ n: Int, by shift: Float) -> Float {
        ck_exp_shifted(row, n, shift)
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

    /// Maximum of n values.
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
