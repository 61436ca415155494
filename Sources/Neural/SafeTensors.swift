import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header
/// {name: {dtype, shape, data_offsets}}, then raw little-endian data. Files are memory-mapped;
/// F32, F16, BF16 and I64 convert to float32 tensors on access.
public struct SafeTensors {
    public enum DType: String, Sendable { case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32" }

    public struct Entry: Sendable {
        public let dtype: DType
        public let shape: [Int]
        let range: Range<Int>
    }

    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let data: Data
    private let base: Int

    public init(path: String) throws(NeuralError) {
        let d: Data
        do { d = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw .io("cannot read safetensors file '\(path)': \(error.localizedDescription)")
        }
        try self.init(data: d, name: path)
    }

    public init(data: Data, name: String = "safetensors data") throws(NeuralError) {
        guard data.count >= 8 else { throw .io("\(name): too short to be safetensors") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n < 100_000_000, 8 + Int(n) <= data.count else { throw .io("\(name): header length \(n) does not fit the file") }
        let header: [String: Any]
        do {
            guard let h = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + Int(n)))) as? [String: Any] else { throw NeuralError.io("") }
            header = h
        } catch { throw .io("\(name): the header is not a JSON object") }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        let payload = data.count - 8 - Int(n)
        for (key, value) in header {
            if key == "__metadata__" { metadata = value as? [String: String] ?? [:]; continue }
            guard let v = value as? [String: Any], let ds = v["dtype"] as? String, let shape = v["shape"] as? [Int],
                  let off = v["data_offsets"] as? [Int], off.count == 2 else { throw .weights(key: key, "malformed header entry in \(name)") }
            guard let dt = DType(rawValue: ds) else { throw .weights(key: key, "unsupported dtype \(ds) in \(name)") }
            let size = shape.reduce(1, *) * Self.width(dt)
            guard off[0] >= 0, off[1] == off[0] + size, off[1] <= payload else {
                throw .weights(key: key, "data offsets \(off) do not match shape \(shape) of \(ds) in \(name)")
            }
            entries[key] = Entry(dtype: dt, shape: shape, range: off[0]..<off[1])
        }
        self.entries = entries
        self.metadata = metadata
        self.data = data
        self.base = 8 + Int(n)
    }

    static func width(_ d: DType) -> Int {
        switch d {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i64: return 8
        }
    }

    public var names: [String] { entries.keys.sorted() }

    /// The tensor `name` as float32.
    public func tensor(_ name: String) throws(NeuralError) -> Tensor {
        guard let e = entries[name] else { throw .weights(key: name, "not in this file") }
        let n = e.shape.reduce(1, *)
        var out = [Float](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            let p = raw.baseAddress! + base + e.range.lowerBound
            switch e.dtype {
            case .f32: for i in 0..<n { out[i] = Float(bitPattern: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
            case .f16: for i in 0..<n { out[i] = Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)) }
            case .bf16: for i in 0..<n { out[i] = Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16) }
            case .i64: for i in 0..<n { out[i] = Float(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case .i32: for i in 0..<n { out[i] = Float(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            }
        }
        return Tensor(shape: e.shape, data: out)
    }

    /// Every tensor, optionally renamed (upstream key → our key); unmapped keys keep their names.
    public func tensors(renaming map: (String) -> String? = { $0 }) throws(NeuralError) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in names { if let k = map(name) { out[k] = try tensor(name) } }
        return out
    }

    /// Writes tensors (float32, or float16/bfloat16 storage) atomically: a crash never leaves half a file.
    public static func write(_ tensors: [String: Tensor], to path: String, dtype: DType = .f32, metadata: [String: String] = [:]) throws(NeuralError) {
        guard [.f32, .f16, .bf16].contains(dtype) else { throw .io("safetensors writing supports F32, F16 and BF16, not \(dtype.rawValue)") }
        var header: [String: Any] = metadata.isEmpty ? [:] : ["__metadata__": metadata]
        var body = Data()
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            let start = body.count
            switch dtype {
            case .f32: for v in t.data { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            case .f16: for v in t.data { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            default:
                // bf16 with round-to-nearest-even.
                for v in t.data {
                    let bits = v.bitPattern
                    let rounded = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
                    withUnsafeBytes(of: (v.isNaN ? 0x7FC0 : rounded).littleEndian) { body.append(contentsOf: $0) }
                }
            }
            header[name] = ["dtype": dtype.rawValue, "shape": t.shape, "data_offsets": [start, body.count]]
        }
        do {
            var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
            while json.count % 8 != 0 { json.append(0x20) }  // keeps the data 8-byte aligned
            var file = Data()
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
            file.append(json)
            file.append(body)
            try file.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch { throw .io("cannot write '\(path)': \(error.localizedDescription)") }
    }
}
