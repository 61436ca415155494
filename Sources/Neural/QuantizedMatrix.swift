import CKernels
import Foundation

/// A weight matrix kept in its GGUF encoding (`rows` × `cols`, each row `cols` contiguous values),
/// multiplied by activation vectors. Activations are quantised per 32-block the way llama.cpp does
/// for the weight's type, then each row · vector is an integer dot product per block — the hot loop
/// of local inference, split across threads by rows.
public struct QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    let base: UnsafeRawPointer
    let rowBytes: Int
    /// Keeps the mapped file alive.
    let owner: Any

    public init(file: GGUFFile, name: String) throws(NeuralError) {
        let t = try file.tensor(name)
        guard t.dims.count <= 2 else { throw .weights(key: name, "expected a matrix, got dims \(t.dims)") }
        type = t.type
        cols = t.dims[0]
        rows = t.dims.count == 2 ? t.dims[1] : 1
        rowBytes = t.type.rowBytes(cols)
        base = file.data.withUnsafeBytes { $0.baseAddress! } + t.range.lowerBound
        owner = file.data
    }

    /// Gives `body` a function from row index to the row's raw bytes (embedding lookups).
    public func withRow<R>(_ body: ((Int) -> UnsafeRawPointer) throws -> R) rethrows -> R {
        try body { self.base + $0 * self.rowBytes }
    }

    /// Activations prepared for this matrix's type.
    public struct Activations: Sendable {
        var q: [Int8] = []
        var d: [Float] = []
        /// Q8_1: d · Σq per block (as llama.cpp stores it, rounded through f16).
        var s: [Float] = []
        var f: [Float] = []
        let count: Int
    }

    /// How activations are prepared for a weight type.
    enum Prep { case q8_0, q8_1, f16, f32 }
    var prep: Prep {
        switch type {
        case .q4_0, .q5_0, .q8_0: return .q8_0
        case .q4_1, .q5_1: return .q8_1
        case .f16: return .f16
        default: return .f32
        }
    }

    public func prepare(_ x: UnsafePointer<Float>, tokens: Int) -> Activations {
        let n = cols * tokens
        var a = Activations(count: n)
        switch prep {
        case .f32: a.f = Array(UnsafeBufferPointer(start: x, count: n))
        case .f16: a.f = (0..<n).map { Float(Float16(x[$0])) }
        case .q8_0, .q8_1:
            let blocks = n / 32
            a.q = [Int8](repeating: 0, count: n)
            a.d = [Float](repeating: 0, count: blocks)
            if prep == .q8_1 { a.s = [Float](repeating: 0, count: blocks) }
            // A batch's tokens are quantised in parallel (each token's blocks are independent).
            let per = cols / 32
            a.q.withUnsafeMutableBufferPointer { q in
                a.d.withUnsafeMutableBufferPointer { d in
                    a.s.withUnsafeMutableBufferPointer { s in
                        let xp = UnsafeSendable(UnsafeMutablePointer(mutating: x)), qp = UnsafeSendable(q.baseAddress!), dp = UnsafeSendable(d.baseAddress!), sp = self.prep == .q8_1 ? UnsafeSendable(s.baseAddress!) : nil
                        ParallelRows.forEach(tokens, threads: tokens >= 8 ? ParallelRows.threads : 1) { t in
                            ck_quantize_q8(xp.pointer + t * self.cols, per, qp.pointer + t * self.cols, dp.pointer + t * per, sp.map { $0.pointer + t * per })
                        }
                    }
                }
            }
        }
        return a
    }

    /// y[t][r] = W[r] · x[t] for `tokens` activation vectors (row-major `tokens × cols` in, `tokens × rows` out).
    public func multiply(_ x: UnsafePointer<Float>, tokens: Int, into y: UnsafeMutablePointer<Float>, threads: Int = ParallelRows.threads) {
        let a = prepare(x, tokens: tokens)
        let out = UnsafeSendable(y)
        if [.q4_0, .q4_1, .q8_0].contains(type) {
            // The bulk of a model: C kernels (AVX2 where the CPU has it); a batch of tokens takes each
            // weight block once for four tokens.
            let blocks = cols / 32
            ParallelRows.run(rows, threads: threads) { r0, r1 in
                a.q.withUnsafeBufferPointer { q in
                    a.d.withUnsafeBufferPointer { d in
                        a.s.withUnsafeBufferPointer { s in
                            let w = self.base.assumingMemoryBound(to: UInt8.self)
                            if tokens > 1 {
                                ck_rows_multi(Int32(self.type.rawValue), w, self.rowBytes, r0, r1, blocks, q.baseAddress!, d.baseAddress!,
                                              s.baseAddress, tokens, out.pointer, self.rows)
                                return
                            }
                            let qx = q.baseAddress!, dx = d.baseAddress!
                            switch self.type {
                            case .q4_0: ck_rows_q4_0_q8_0(w, self.rowBytes, r0, r1, blocks, qx, dx, out.pointer)
                            case .q4_1: ck_rows_q4_1_q8_1(w, self.rowBytes, r0, r1, blocks, qx, dx, s.baseAddress!, out.pointer)
                            default: ck_rows_q8_0_q8_0(w, self.rowBytes, r0, r1, blocks, qx, dx, out.pointer)
                            }
                        }
                    }
                }
            }
            return
        }
        ParallelRows.run(rows, threads: threads) { r0, r1 in
            var scratch = [Float](repeating: 0, count: self.type.blockSize == 256 ? self.cols : 0)
            for r in r0..<r1 {
                let row = self.base + r * self.rowBytes
                for t in 0..<tokens {
                    out.pointer[t * self.rows + r] = self.dot(row, a, offset: t * self.cols, scratch: &scratch)
                }
            }
        }
    }

    @inline(__always)
    func dot(_ row: UnsafeRawPointer, _ a: Activations, offset: Int, scratch: inout [Float]) -> Float {
        let blocks = cols / 32
        switch type {
        case .q4_0, .q4_1, .q8_0:
            preconditionFailure("\(type.name) rows go through the C kernels (multiply)")
        case .q5_0, .q5_1:
            // Rarely the bulk of a model: dequantise the block, integer dot with the quantised activations.
            return a.q.withUnsafeBufferPointer { q in
                var acc: Float = 0
                for b in 0..<blocks {
                    let p = row + b * type.blockBytes
                    let d = GGMLType.half(p, 0)
                    let hOff = type == .q5_1 ? 4 : 2
                    let qh = p.loadUnaligned(fromByteOffset: hOff, as: UInt32.self)
                    var sumi: Int32 = 0
                    for j in 0..<16 {
                        let v = p.load(fromByteOffset: hOff + 4 + j, as: UInt8.self)
                        var q0 = Int32((v & 0x0F) | UInt8((qh >> UInt32(j)) & 1) << 4)
                        var q1 = Int32((v >> 4) | UInt8((qh >> UInt32(j + 16)) & 1) << 4)
                        if type == .q5_0 { q0 -= 16; q1 -= 16 }
                        sumi += q0 * Int32(q[offset + b * 32 + j]) + q1 * Int32(q[offset + b * 32 + j + 16])
                    }
                    let bi = (offset / 32) + b
                    acc += d * a.d[bi] * Float(sumi) + (type == .q5_1 ? GGMLType.half(p, 2) * a.s[bi] : 0)
                }
                return acc
            }
        case .f32:
            return a.f.withUnsafeBufferPointer { f in
                VectorMath.dot(row.assumingMemoryBound(to: Float.self), f.baseAddress! + offset, cols)
            }
        case .f16, .bf16, .q4_K, .q6_K:
            scratch = scratch.count == cols ? scratch : [Float](repeating: 0, count: cols)
            scratch.withUnsafeMutableBufferPointer { GGMLType.dequantize(type, row, into: $0.baseAddress!, count: cols) }
            return a.f.withUnsafeBufferPointer { f in
                scratch.withUnsafeBufferPointer { VectorMath.dot($0.baseAddress!, f.baseAddress! + offset, cols) }
            }
        }
    }
}

/// A pointer handed to worker threads that write disjoint parts of it.
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<T>
    public init(_ p: UnsafeMutablePointer<T>) { pointer = p }
}
