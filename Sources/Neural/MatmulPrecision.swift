import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Operand precision of the engine's matrix products (linear layers, convolutions, attention).
///
/// `.bf16` is bf16 mixed precision as PyTorch's autocast does it on a bf16 GEMM: both operands are
/// rounded to bfloat16 (round to nearest, ties to even), products are accumulated and returned in
/// fp32, and parameters, gradients and optimizer state stay fp32. On CPUs with AVX512-BF16 the
/// products run on its dot-product instructions (CKernels' `ck_sgemm_bf16`, 1.4–1.6× the fp32 kernel);
/// elsewhere (Debian's OpenBLAS is built without `sbgemm`) the operands are rounded here before an
/// fp32 GEMM: the numerics of bf16 training, not its speed.
///
/// The precision belongs to the calling thread, so a training job in bf16 never changes the
/// results of other work (embeddings, sampling) running at the same time.
public enum MatmulPrecision: Sendable, Equatable {
    case fp32, bf16

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// The calling thread's precision: fp32 unless inside `run(_:_:)`.
    public static var current: MatmulPrecision {
        pthread_getspecific(key) == nil ? .fp32 : .bf16
    }

    /// Runs `body` with this thread's matrix products at `precision`.
    public static func run<T, E: Error>(_ precision: MatmulPrecision, _ body: () throws(E) -> T) throws(E) -> T {
        let saved = pthread_getspecific(key)
        pthread_setspecific(key, precision == .bf16 ? UnsafeRawPointer(bitPattern: 1) : nil)
        defer { pthread_setspecific(key, saved) }
        return try body()
    }

    /// `value` rounded to the nearest bfloat16 (ties to even), as an fp32. NaN stays NaN.
    @inline(__always)
    public static func bf16(_ value: Float) -> Float {
        let bits = value.bitPattern
        if value.isNaN { return value }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return Float(bitPattern: rounded & 0xFFFF_0000)
    }

    /// A copy of `count` values rounded to bfloat16.
    static func bf16Copy(_ p: UnsafePointer<Float>, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, n in
            for i in 0..<count { out[i] = bf16(p[i]) }
            n = count
        }
    }
}
