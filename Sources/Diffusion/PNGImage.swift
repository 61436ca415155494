import CZlib
import Foundation
import Neural
import Text

/// An 8-bit RGB raster and its PNG encoding and decoding (zlib for the compressed stream).
/// Decoding takes every non-interlaced 8-bit PNG (grey, grey+alpha, RGB, RGBA, palette); alpha is
/// composited on white.
public struct PNGImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Row-major RGB bytes.
    public var pixels: [UInt8]

    public enum Failure: Error, CustomStringConvertible {
        case notPNG(String)
        case unsupported(String)
        case corrupt(String)
        case io(String)
        public var description: String {
            switch self {
            case .notPNG(let what): return "\(what) is not a PNG image"
            case .unsupported(let why): return "unsupported PNG: \(why)"
            case .corrupt(let why): return "corrupt PNG: \(why)"
            case .io(let why): return why
            }
        }
    }

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Image `index` of a [N, 3, H, W] tensor in 0…1 (rounded as diffusers' `numpy_to_pil`).
    public init(tensor: Tensor, index: Int = 0) {
        let (h, w) = (tensor.shape[2], tensor.shape[3])
        var px = [UInt8](repeating: 0, count: w * h * 3)
        let plane = h * w, base = index * 3 * plane
        for c in 0..<3 {
            for i in 0..<plane {
                let v = min(max(tensor.data[base + c * plane + i], 0), 1)
                px[i * 3 + c] = UInt8((v * 255).rounded(.toNearestOrEven))
            }
        }
        self.init(width: w, height: h, pixels: px)
    }

    /// Images [3, H, W] (0…1, all the same size) laid out in rows of `columns`, with a 2-pixel white gutter.
    public static func grid(_ images: [Tensor], columns: Int) -> PNGImage {
        guard let first = images.first else { return PNGImage(width: 1, height: 1, pixels: [255, 255, 255]) }
        let (h, w) = (first.shape[1], first.shape[2]), gap = 2
        let cols = Swift.max(1, Swift.min(columns, images.count)), rows = (images.count + cols - 1) / cols
        let width = cols * w + (cols + 1) * gap, height = rows * h + (rows + 1) * gap
        var px = [UInt8](repeating: 255, count: width * height * 3)
        for (k, image) in images.enumerated() {
            let x0 = gap + (k % cols) * (w + gap), y0 = gap + (k / cols) * (h + gap)
            let tile = PNGImage(tensor: Tensor(shape: [1] + image.shape, data: image.data))
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<3 { px[((y0 + y) * width + x0 + x) * 3 + c] = tile.pixels[(y * w + x) * 3 + c] }
                }
            }
        }
        return PNGImage(width: width, height: height, pixels: px)
    }

    /// [1, 3, H, W] in 0…1.
    public var tensor: Tensor {
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane { for c in 0..<3 { out[c * plane + i] = Float(pixels[i * 3 + c]) / 255 } }
        return Tensor(shape: [1, 3, height, width], data: out)
    }

    // MARK: Encoding

    public func pngData() -> Data {
        var raw = [UInt8]()
        raw.reserveCapacity((width * 3 + 1) * height)
        for y in 0..<height {
            raw.append(0)  // filter: none
            raw += pixels[(y * width * 3)..<((y + 1) * width * 3)]
        }
        var bound = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(bound))
        let status = compress2(&compressed, &bound, raw, uLong(raw.count), 6)
        precondition(status == Z_OK, "zlib compress2 failed with \(status)")
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = [UInt8]()
        header += Self.bigEndian(UInt32(width)) + Self.bigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]  // 8-bit RGB, deflate, no filter method, no interlace
        Self.chunk("IHDR", header, into: &out)
        Self.chunk("IDAT", Array(compressed[0..<Int(bound)]), into: &out)
        Self.chunk("IEND", [], into: &out)
        return out
    }

    /// Writes atomically (a crash never leaves half an image).
    public func write(to path: String) throws(Failure) {
        do { try pngData().write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .io("cannot write '\(path)': \(error.localizedDescription)")
        }
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }

    static func chunk(_ type: String, _ body: [UInt8], into out: inout Data) {
        let typeBytes = Array(type.utf8)
        out.append(contentsOf: bigEndian(UInt32(body.count)))
        out.append(contentsOf: typeBytes)
        out.append(contentsOf: body)
        var crc = crc32(0, nil, 0)
        crc = crc32(crc, typeBytes, uInt(typeBytes.count))
        if !body.isEmpty { crc = crc32(crc, body, uInt(body.count)) }
        out.append(contentsOf: bigEndian(UInt32(crc)))
    }

    // MARK: Decoding

    /// Reads a PNG file, refusing images above `maxPixels` before decompressing them.
    public init(contentsOf path: String, maxPixels: Int = 64 << 20) throws(Failure) {
        guard let data = FileManager.default.contents(atPath: path) else { throw .io("cannot read '\(path)'") }
        try self.init(data: data, name: "'\(path)'", maxPixels: maxPixels)
    }

    public init(data: Data, name: String = "the data", maxPixels: Int = 64 << 20) throws(Failure) {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw .notPNG(name) }
        func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var pos = 8
        var width = 0, height = 0, depth = 0, colorType = 0, interlace = 0
        var idat = [UInt8](), palette = [UInt8](), transparency = [UInt8]()
        while pos + 8 <= bytes.count {
            let length = u32(pos)
            let type = String(decoding: bytes[(pos + 4)..<(pos + 8)], as: UTF8.self)
            guard length >= 0, pos + 12 + length <= bytes.count else { throw .corrupt("chunk \(type) runs past the end of \(name)") }
            let body = Array(bytes[(pos + 8)..<(pos + 8 + length)])
            switch type {
            case "IHDR":
                guard body.count == 13 else { throw .corrupt("IHDR has \(body.count) bytes") }
                width = u32(pos + 8); height = u32(pos + 12)
                depth = Int(body[8]); colorType = Int(body[9]); interlace = Int(body[12])
            case "PLTE": palette = body
            case "tRNS": transparency = body
            case "IDAT": idat += body
            default: break
            }
            pos += 12 + length
            if type == "IEND" { break }
        }
        guard width > 0, height > 0 else { throw .corrupt("\(name) has no image header") }
        guard width * height <= maxPixels else { throw .unsupported("\(name) is \(width)×\(height), above the limit of \(maxPixels) pixels") }
        guard depth == 8 else { throw .unsupported("\(name) has \(depth)-bit samples (8-bit only)") }
        guard interlace == 0 else { throw .unsupported("\(name) is interlaced") }
        let channels: Int
        switch colorType {
        case 0: channels = 1
        case 2: channels = 3
        case 3: channels = 1
        case 4: channels = 2
        case 6: channels = 4
        default: throw .unsupported("\(name) has colour type \(colorType)")
        }
        let stride = width * channels
        let raw: [UInt8]
        do { raw = [UInt8](try Gzip.inflate(Data(idat), expected: (stride + 1) * height)) } catch { throw .corrupt("\(name): \(error)") }
        guard raw.count >= (stride + 1) * height else { throw .corrupt("\(name) has \(raw.count) bytes of pixels, needs \((stride + 1) * height)") }
        var rows = [UInt8](repeating: 0, count: stride * height)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            let src = y * (stride + 1) + 1, dst = y * stride
            for x in 0..<stride {
                let v = raw[src + x]
                let a = x >= channels ? Int(rows[dst + x - channels]) : 0
                let b = y > 0 ? Int(rows[dst - stride + x]) : 0
                let c = (x >= channels && y > 0) ? Int(rows[dst - stride + x - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: throw .corrupt("\(name) uses row filter \(filter)")
                }
                rows[dst + x] = UInt8(truncatingIfNeeded: Int(v) + predictor)
            }
        }
        var px = [UInt8](repeating: 255, count: width * height * 3)
        for i in 0..<(width * height) {
            var rgb: (Int, Int, Int), alpha = 255
            switch colorType {
            case 0: let g = Int(rows[i]); rgb = (g, g, g)
            case 2: rgb = (Int(rows[i * 3]), Int(rows[i * 3 + 1]), Int(rows[i * 3 + 2]))
            case 3:
                let k = Int(rows[i])
                guard 3 * k + 2 < palette.count else { throw .corrupt("\(name) uses palette entry \(k) of \(palette.count / 3)") }
                rgb = (Int(palette[3 * k]), Int(palette[3 * k + 1]), Int(palette[3 * k + 2]))
                if k < transparency.count { alpha = Int(transparency[k]) }
            case 4: let g = Int(rows[i * 2]); rgb = (g, g, g); alpha = Int(rows[i * 2 + 1])
            default: rgb = (Int(rows[i * 4]), Int(rows[i * 4 + 1]), Int(rows[i * 4 + 2])); alpha = Int(rows[i * 4 + 3])
            }
            func over(_ v: Int) -> UInt8 { UInt8((v * alpha + 255 * (255 - alpha) + 127) / 255) }
            px[i * 3] = over(rgb.0); px[i * 3 + 1] = over(rgb.1); px[i * 3 + 2] = over(rgb.2)
        }
        self.init(width: width, height: height, pixels: px)
    }
}
