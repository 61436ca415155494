import CZlib
import Foundation

/// gzip (and zlib) decompression, for vocabularies shipped compressed (CLIP's `bpe_simple_vocab_16e6.txt.gz`).
public enum Gzip {
    public enum Failure: Error, CustomStringConvertible {
        case corrupt(String)
        public var description: String {
            switch self { case .corrupt(let why): return "the compressed data is corrupt: \(why)" }
        }
    }

    public static func decompress(_ data: Data) throws(Failure) -> Data { try inflate(data) }

    /// Inflates a gzip or zlib stream. `expected` (if known) sizes the buffer and bounds the output:
    /// a stream that inflates to far more than that (a decompression bomb) is refused.
    public static func inflate(_ data: Data, expected: Int = 0) throws(Failure) -> Data {
        var stream = z_stream()
        // 15 + 32: a full window, with the gzip or zlib header detected automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var out = Data(capacity: expected)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status: Int32 = Z_OK
        let input = [UInt8](data)
        try input.withUnsafeBufferPointer { (src: UnsafeBufferPointer<UInt8>) throws(Failure) in
            stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress)
            stream.avail_in = uInt(src.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { dst -> Int in
                    stream.next_out = dst.baseAddress
                    stream.avail_out = uInt(dst.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return dst.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw .corrupt(stream.msg.map { String(cString: $0) } ?? "zlib status \(status)")
                }
                out.append(contentsOf: chunk[0..<produced])
                if expected > 0 && out.count > expected + (1 << 16) { throw .corrupt("it inflates to more than the expected \(expected) bytes") }
                if status == Z_OK && produced == 0 && stream.avail_in == 0 { throw .corrupt("it ends early") }
            } while status != Z_STREAM_END
        }
        return out
    }
}
