import Foundation

/// ggml tensor types: block layouts, dequantisation, and the row · vector products the llama
/// forward pass runs on. Quantised rows are multiplied with activations quantised the way llama.cpp
/// does it (Q8_0 for Q4_0/Q5_0/Q8_0 weights, Q8_1 — with the block sum — for Q4_1), so the integer
/// dot products and their rounding match the reference.
public enum GGMLType: Int, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q4_K = 12, q6_K = 14, bf16 = 30

    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q4_K: return "Q4_K"
        case .q6_K: return "Q6_K"
        case .bf16: return "BF16"
        }
    }

    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q4_K, .q6_K: return 256
        }
    }

    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q4_K: return 144
        case .q6_K: return 210
        }
    }

    public func rowBytes(_ n: Int) -> Int { n / blockSize * blockBytes }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ o: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
    }

    /// float32 values of `count` elements starting at `src` (a whole number of blocks).
    public static func dequantize(_ t: GGMLType, _ src: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>, count: Int) {
        let blocks = count / t.blockSize
        switch t {
        case .f32:
            out.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            for i in 0..<count { out[i] = half(src, 2 * i) }
        case .bf16:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .q4_0, .q4_1:
            for b in 0..<blocks {
                let p = src + b * t.blockBytes
                let d = half(p, 0)
                let m: Float = t == .q4_1 ? half(p, 2) : -8 * d
                let qs = p + (t == .q4_1 ? 4 : 2)
                let o = out + b * 32
                for j in 0..<16 {
                    let q = qs.load(fromByteOffset: j, as: UInt8.self)
                    o[j] = Float(q & 0x0F) * d + m
                    o[j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q5_0, .q5_1:
            for b in 0..<blocks {
                let p = src + b * t.blockBytes
                let d = half(p, 0)
                let m: Float = t == .q5_1 ? half(p, 2) : -16 * d
                let hOff = t == .q5_1 ? 4 : 2
                let qh = p.loadUnaligned(fromByteOffset: hOff, as: UInt32.self)
                let qs = p + hOff + 4
                let o = out + b * 32
                for j in 0..<16 {
                    let q = qs.load(fromByteOffset: j, as: UInt8.self)
                    let h0 = UInt8((qh >> UInt32(j)) & 1) << 4, h1 = UInt8((qh >> UInt32(j + 16)) & 1) << 4
                    o[j] = Float((q & 0x0F) | h0) * d + m
                    o[j + 16] = Float((q >> 4) | h1) * d + m
                }
            }
        case .q8_0:
            for b in 0..<blocks {
                let p = src + b * 34
                let d = half(p, 0)
                for j in 0..<32 { out[b * 32 + j] = Float(p.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
            }
        case .q4_K:
            for b in 0..<blocks { dequantizeQ4K(src + b * 144, out + b * 256) }
        case .q6_K:
            for b in 0..<blocks { dequantizeQ6K(src + b * 210, out + b * 256) }
        }
    }

    /// Q4_K super-block: d, dmin (f16), 12 bytes of 6-bit scales and mins for 8 sub-blocks, 128 bytes of nibbles.
    static func dequantizeQ4K(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), dmin = half(p, 2)
        let scales = p + 4, qs = p + 16
        func scaleMin(_ j: Int) -> (Float, Float) {
            let s = { (i: Int) in scales.load(fromByteOffset: i, as: UInt8.self) }
            if j < 4 { return (Float(s(j) & 63), Float(s(j + 4) & 63)) }
            return (Float((s(j + 4) & 0x0F) | ((s(j - 4) >> 6) << 4)), Float((s(j + 4) >> 4) | ((s(j) >> 6) << 4)))
        }
        var out = o, q = qs
        for j in stride(from: 0, to: 8, by: 2) {
            let (sc1, m1) = scaleMin(j), (sc2, m2) = scaleMin(j + 1)
            let d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2
            for l in 0..<32 { out[l] = d1 * Float(q.load(fromByteOffset: l, as: UInt8.self) & 0x0F) - mm1 }
            for l in 0..<32 { out[32 + l] = d2 * Float(q.load(fromByteOffset: l, as: UInt8.self) >> 4) - mm2 }
            out += 64
            q += 32
        }
    }

    /// Q6_K super-block: 128 bytes low nibbles, 64 bytes high bits, 16 int8 scales, f16 d.
    static func dequantizeQ6K(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 208)
        var ql = p, qh = p + 128, sc = p + 192
        var y = o
        for _ in 0..<2 {
            for l in 0..<32 {
                let isc = l / 16
                let lq0 = ql.load(fromByteOffset: l, as: UInt8.self), lq32 = ql.load(fromByteOffset: l + 32, as: UInt8.self)
                let h = qh.load(fromByteOffset: l, as: UInt8.self)
                let q1 = Int8(bitPattern: (lq0 & 0x0F) | ((h >> 0) & 3) << 4) &- 32
                let q2 = Int8(bitPattern: (lq32 & 0x0F) | ((h >> 2) & 3) << 4) &- 32
                let q3 = Int8(bitPattern: (lq0 >> 4) | ((h >> 4) & 3) << 4) &- 32
                let q4 = Int8(bitPattern: (lq32 >> 4) | ((h >> 6) & 3) << 4) &- 32
                let s = { (i: Int) in Float(sc.load(fromByteOffset: i, as: Int8.self)) }
                y[l] = d * s(isc) * Float(q1)
                y[l + 32] = d * s(isc + 2) * Float(q2)
                y[l + 64] = d * s(isc + 4) * Float(q3)
                y[l + 96] = d * s(isc + 6) * Float(q4)
            }
            y += 128
            ql += 64
            qh += 32
            sc += 8
        }
    }
}
