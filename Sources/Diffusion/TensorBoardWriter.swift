import Foundation

/// TensorBoard event files (`events.out.tfevents.*`): TFRecord framing (length, masked CRC-32C of the
/// length, an `Event` protocol buffer, its masked CRC-32C) with scalar and PNG image summaries. The
/// protobuf fields are written by hand; there are only a few.
public final class TensorBoardWriter {
    public let path: String
    private var buffer = Data()
    private var failed = false

    public init(directory: String) throws(DiffusionError) {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .io("cannot create the log folder '\(directory)': \(error.localizedDescription)")
        }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        path = directory + "/events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host).\(getpid())"
        FileManager.default.createFile(atPath: path, contents: nil)
        var event = Self.header(step: 0)
        event += Self.field(3, string: "brain.Event:2")
        append(event)
        try flush()
    }

    /// One event holding several scalars at `step`.
    public func scalars(step: Int, _ values: [String: Float]) {
        var summary = Data()
        for (tag, value) in values.sorted(by: { $0.key < $1.key }) {
            var v = Self.field(1, string: tag)
            v.append(0x15)  // field 2, fixed32: simple_value
            withUnsafeBytes(of: value.bitPattern.littleEndian) { v.append(contentsOf: $0) }
            summary += Self.field(1, bytes: v)
        }
        append(Self.header(step: step) + Self.field(5, bytes: summary))
    }

    /// A PNG image summary.
    public func image(step: Int, tag: String, _ png: PNGImage) {
        var image = Self.field(1, varint: UInt64(png.height)) + Self.field(2, varint: UInt64(png.width)) + Self.field(3, varint: 3)
        image += Self.field(4, bytes: png.pngData())
        let value = Self.field(1, string: tag) + Self.field(4, bytes: image)
        append(Self.header(step: step) + Self.field(5, bytes: Self.field(1, bytes: value)))
    }

    /// Writes what is buffered (the trainer calls it after each step's events and at the end).
    public func flush() throws(DiffusionError) {
        guard !buffer.isEmpty else { return }
        do {
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: buffer)
            buffer.removeAll()
        } catch { throw .io("cannot write the event file '\(path)': \(error.localizedDescription)") }
    }

    private func append(_ event: Data) {
        var length = Data()
        withUnsafeBytes(of: UInt64(event.count).littleEndian) { length.append(contentsOf: $0) }
        buffer += length
        withUnsafeBytes(of: Self.maskedCRC(length).littleEndian) { buffer.append(contentsOf: $0) }
        buffer += event
        withUnsafeBytes(of: Self.maskedCRC(event).littleEndian) { buffer.append(contentsOf: $0) }
        if buffer.count > 1 << 16 { try? flush() }
    }

    /// wall_time (field 1, double) and step (field 2, int64).
    static func header(step: Int) -> Data {
        var d = Data([0x09])
        withUnsafeBytes(of: Date().timeIntervalSince1970.bitPattern.littleEndian) { d.append(contentsOf: $0) }
        return d + field(2, varint: UInt64(step))
    }

    static func varint(_ v: UInt64) -> Data {
        var v = v, d = Data()
        while v >= 0x80 { d.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        d.append(UInt8(v))
        return d
    }

    static func field(_ number: UInt64, varint v: UInt64) -> Data { varint(number << 3) + varint(v) }
    static func field(_ number: UInt64, bytes: Data) -> Data { varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes }
    static func field(_ number: UInt64, string: String) -> Data { field(number, bytes: Data(string.utf8)) }

    static let crcTable: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// CRC-32C (Castagnoli), masked as TFRecord does.
    static func maskedCRC(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in data { crc = crcTable[Int((crc ^ UInt32(b)) & 0xff)] ^ (crc >> 8) }
        crc ^= 0xFFFF_FFFF
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
