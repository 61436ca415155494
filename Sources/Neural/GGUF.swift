import Foundation

/// A GGUF file (v2/v3): header, metadata, tensor infos, alignment and the memory-mapped tensor data.
/// Tensors stay in their quantised form; `GGMLType` knows each block layout.
public struct GGUFFile: @unchecked Sendable {
    public enum Value: Sendable, Equatable {
        case int(Int64), uint(UInt64), float(Double), bool(Bool), string(String)
        case array([Value])

        public var int: Int? {
            switch self {
            case .int(let v): return Int(v)
            case .uint(let v): return Int(exactly: v)
            case .float(let f): return Int(exactly: f)
            default: return nil
            }
        }
        public var double: Double? {
            switch self {
            case .float(let f): return f
            case .int(let v): return Double(v)
            case .uint(let v): return Double(v)
            default: return nil
            }
        }
        public var string: String? { if case .string(let s) = self { return s }; return nil }
        public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
        public var array: [Value]? { if case .array(let a) = self { return a }; return nil }
    }

    public struct TensorInfo: Sendable {
        public let name: String
        /// ggml order: dims[0] is the contiguous (row) length.
        public let dims: [Int]
        public let type: GGMLType
        /// Byte range inside `data`.
        public let range: Range<Int>
        public var count: Int { dims.reduce(1, *) }
    }

    public let version: Int
    public let metadata: [String: Value]
    public let tensors: [String: TensorInfo]
    /// Tensor names in file order.
    public let tensorOrder: [String]
    public let alignment: Int
    let data: Data
    let name: String

    public init(path: String) throws(NeuralError) {
        let d: Data
        do { d = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw .io("cannot read GGUF file '\(path)': \(error.localizedDescription)")
        }
        try self.init(data: d, name: path)
    }

    public init(data: Data, name: String = "GGUF data") throws(NeuralError) {
        self.data = data
        self.name = name
        var r = Reader(data: data, name: name)
        guard try r.u32() == 0x4655_4747 else { throw .io("\(name): not a GGUF file (bad magic)") }
        let version = Int(try r.u32())
        guard version == 2 || version == 3 else { throw .io("\(name): GGUF version \(version) is not supported (2 and 3 are)") }
        let nTensors = try r.u64(), nKV = try r.u64()
        guard nTensors < 1_000_000, nKV < 1_000_000 else { throw .io("\(name): implausible header counts (\(nTensors) tensors, \(nKV) metadata keys): the file is corrupt") }
        var meta: [String: Value] = [:]
        for _ in 0..<nKV {
            let key = try r.string()
            meta[key] = try r.value(type: try r.u32())
        }
        let alignment = meta["general.alignment"]?.int ?? 32
        guard alignment > 0, alignment & (alignment - 1) == 0 else { throw .io("\(name): general.alignment \(alignment) is not a power of two") }
        var infos: [(String, [Int], GGMLType, Int)] = []
        for _ in 0..<nTensors {
            let tname = try r.string()
            let nd = Int(try r.u32())
            guard (1...4).contains(nd) else { throw .weights(key: tname, "\(name): \(nd) dimensions") }
            var dims: [Int] = []
            for _ in 0..<nd {
                let v = try r.u64()
                guard v > 0, v < 1 << 40 else { throw .weights(key: tname, "\(name): dimension \(v)") }
                dims.append(Int(v))
            }
            let rawType = try r.u32()
            guard let t = GGMLType(rawValue: Int(rawType)) else {
                throw .weights(key: tname, "\(name): ggml type \(rawType) is not supported (supported: \(GGMLType.allCases.map(\.name).joined(separator: ", ")))")
            }
            infos.append((tname, dims, t, Int(try r.u64())))
        }
        let start = (r.offset + alignment - 1) / alignment * alignment
        var tensors: [String: TensorInfo] = [:]
        for (tname, dims, t, off) in infos {
            guard dims[0] % t.blockSize == 0 else { throw .weights(key: tname, "\(name): row length \(dims[0]) is not a multiple of the \(t.name) block size \(t.blockSize)") }
            let bytes = dims.reduce(1, *) / t.blockSize * t.blockBytes
            let lo = start + off
            guard off >= 0, lo + bytes <= data.count else {
                throw .weights(key: tname, "\(name): tensor data (\(bytes) bytes at \(lo)) runs past the end of the file (\(data.count) bytes): the file is truncated")
            }
            tensors[tname] = TensorInfo(name: tname, dims: dims, type: t, range: lo..<(lo + bytes))
        }
        self.version = version
        self.metadata = meta
        self.tensors = tensors
        self.tensorOrder = infos.map(\.0)
        self.alignment = alignment
    }

    public func tensor(_ key: String) throws(NeuralError) -> TensorInfo {
        guard let t = tensors[key] else { throw .weights(key: key, "\(name): no tensor named '\(key)'") }
        return t
    }

    /// Runs `body` with a pointer to the tensor's raw bytes.
    public func withBytes<R>(_ t: TensorInfo, _ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        try data.withUnsafeBytes { try body($0.baseAddress! + t.range.lowerBound) }
    }

    /// The tensor as float32 (dequantised), row-major with `dims[0]` contiguous.
    public func floats(_ key: String) throws(NeuralError) -> [Float] {
        let t = try tensor(key)
        var out = [Float](repeating: 0, count: t.count)
        withBytes(t) { p in out.withUnsafeMutableBufferPointer { GGMLType.dequantize(t.type, p, into: $0.baseAddress!, count: t.count) } }
        return out
    }

    /// Sequential little-endian reader with bounds checks: a truncated file is an error, not a crash.
    struct Reader {
        let data: Data
        let name: String
        var offset = 0

        mutating func bytes(_ n: Int) throws(NeuralError) -> Data {
            guard n >= 0, offset + n <= data.count else { throw .io("\(name): unexpected end of file at byte \(offset) (the file is truncated)") }
            defer { offset += n }
            return data.subdata(in: (data.startIndex + offset)..<(data.startIndex + offset + n))
        }

        mutating func int<T: FixedWidthInteger>(_: T.Type) throws(NeuralError) -> T {
            let b = try bytes(MemoryLayout<T>.size)
            return b.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(as: T.self)) }
        }

        mutating func u32() throws(NeuralError) -> UInt32 { try int(UInt32.self) }
        mutating func u64() throws(NeuralError) -> UInt64 { try int(UInt64.self) }

        mutating func string() throws(NeuralError) -> String {
            let n = try u64()
            guard n < 1 << 30 else { throw .io("\(name): string of \(n) bytes at byte \(offset): the file is corrupt") }
            return String(decoding: try bytes(Int(n)), as: UTF8.self)
        }

        mutating func value(type: UInt32) throws(NeuralError) -> Value {
            switch type {
            case 0: return .uint(UInt64(try int(UInt8.self)))
            case 1: return .int(Int64(try int(Int8.self)))
            case 2: return .uint(UInt64(try int(UInt16.self)))
            case 3: return .int(Int64(try int(Int16.self)))
            case 4: return .uint(UInt64(try u32()))
            case 5: return .int(Int64(try int(Int32.self)))
            case 6: return .float(Double(Float(bitPattern: try u32())))
            case 7: return .bool(try int(UInt8.self) != 0)
            case 8: return .string(try string())
            case 9:
                let t = try u32(), n = try u64()
                guard n < 1 << 28 else { throw .io("\(name): array of \(n) items: the file is corrupt") }
                var a: [Value] = []
                a.reserveCapacity(Int(n))
                for _ in 0..<n { a.append(try value(type: t)) }
                return .array(a)
            case 10: return .uint(try u64())
            case 11: return .int(Int64(bitPattern: try u64()))
            case 12: return .float(Double(bitPattern: try u64()))
            default: throw .io("\(name): unknown metadata value type \(type) at byte \(offset)")
            }
        }
    }
}
