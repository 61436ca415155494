import CTesseract
import Foundation

/// A Leptonica image owned by Swift: destroyed with the value, read with size checks before decoding.
public final class PixImage: @unchecked Sendable {
    let pix: UnsafeMutablePointer<PIX>

    init(_ pix: UnsafeMutablePointer<PIX>) { self.pix = pix }
    deinit { var p: UnsafeMutablePointer<PIX>? = pix; pixDestroy(&p) }

    public var width: Int { Int(pixGetWidth(pix)) }
    public var height: Int { Int(pixGetHeight(pix)) }
    public var depth: Int { Int(pixGetDepth(pix)) }
    public var resolution: Int { Int(pixGetXRes(pix)) }

    /// Leptonica prints every decoder complaint to stderr; our errors carry the detail instead.
    static let quiet: Void = { _ = setMsgSeverity(Int32(L_SEVERITY_NONE)) }()

    /// The pages of an image file (one, or one per TIFF directory), with the pixel limit checked
    /// from the header so that a decompression bomb is refused before it is decoded.
    static func pageCount(path: String, maxPixels: Int) throws -> Int {
        _ = quiet
        var format: Int32 = 0, w: Int32 = 0, h: Int32 = 0, bps: Int32 = 0, spp: Int32 = 0, cmap: Int32 = 0
        guard findFileFormat(path, &format) == 0, format != Int32(IFF_UNKNOWN) else {
            throw OCRError.unsupportedFormat(path, detail: "not a recognised image")
        }
        guard pixReadHeader(path, &format, &w, &h, &bps, &spp, &cmap) == 0 else {
            throw OCRError.corrupt(path, detail: "unreadable header")
        }
        guard w > 0, h > 0 else { throw OCRError.corrupt(path, detail: "zero-size image") }
        if Int(w) * Int(h) > maxPixels { throw OCRError.tooLarge(path, width: Int(w), height: Int(h), limit: maxPixels) }
        guard isTIFF(format) else { return 1 }
        guard let fp = fopen(path, "rb") else { throw OCRError.notFound(path) }
        defer { fclose(fp) }
        var n: Int32 = 0
        guard tiffGetCount(fp, &n) == 0, n > 0 else { throw OCRError.corrupt(path, detail: "no TIFF directories") }
        return Int(n)
    }

    static func isTIFF(_ f: Int32) -> Bool {
        [IFF_TIFF, IFF_TIFF_PACKBITS, IFF_TIFF_RLE, IFF_TIFF_G3, IFF_TIFF_G4, IFF_TIFF_LZW, IFF_TIFF_ZIP, IFF_TIFF_JPEG]
            .contains { Int32($0) == f }
    }

    /// Page `index` (0-based) of an image file, decoded.
    static func read(path: String, index: Int, maxPixels: Int) throws -> PixImage {
        _ = quiet
        var format: Int32 = 0
        _ = findFileFormat(path, &format)
        let p = isTIFF(format) ? pixReadTiff(path, Int32(index)) : pixRead(path)
        guard let p else {
            throw OCRError.corrupt(path, detail: isTIFF(format) ? "TIFF page \(index + 1) failed to decode" : "decoding failed")
        }
        let image = PixImage(p)
        // Some formats (multi-page TIFF pages, JPEG without a full header) only reveal their size here.
        if image.width * image.height > maxPixels { throw OCRError.tooLarge(path, width: image.width, height: image.height, limit: maxPixels) }
        return image
    }

    /// An 8-bit grey copy (colour maps removed, colour converted with luminance weights).
    func grey() -> PixImage? {
        if depth == 8, pixGetColormap(pix) == nil { return PixImage(pixClone(pix)) }
        guard let g = pixConvertTo8(pix, 0) else { return nil }
        return PixImage(g)
    }

    /// The bounding boxes of a 1-bit image's 8-connected ink components.
    func componentBoxes() -> [BoundingBox] {
        guard let boxa = pixConnComp(pix, nil, 8) else { return [] }
        var b: UnsafeMutablePointer<BOXA>? = boxa
        defer { boxaDestroy(&b) }
        return (0..<boxaGetCount(boxa)).map { i in
            var x: Int32 = 0, y: Int32 = 0, w: Int32 = 0, h: Int32 = 0
            boxaGetBoxGeometry(boxa, i, &x, &y, &w, &h)
            return BoundingBox(x: Int(x), y: Int(y), width: Int(w), height: Int(h))
        }
    }

    /// The pixels of an 8-bit image as rows of bytes.
    func greyBytes() -> [UInt8] {
        precondition(depth == 8)
        let w = width, h = height, wpl = Int(pixGetWpl(pix))
        let data = UnsafeRawPointer(pixGetData(pix)!).assumingMemoryBound(to: UInt8.self)
        var out = [UInt8](repeating: 0, count: w * h)
        out.withUnsafeMutableBufferPointer { o in
            for y in 0..<h {
                let row = data + y * wpl * 4
                // Leptonica packs bytes big-endian within 32-bit words.
                for x in 0..<w { o[y * w + x] = row[x ^ 3] }
            }
        }
        return out
    }

    /// A new 8-bit image from rows of bytes.
    static func fromGrey(_ bytes: [UInt8], width w: Int, height h: Int, resolution: Int) -> PixImage {
        let p = pixCreate(Int32(w), Int32(h), 8)!
        let wpl = Int(pixGetWpl(p))
        let data = UnsafeMutableRawPointer(pixGetData(p)!).assumingMemoryBound(to: UInt8.self)
        bytes.withUnsafeBufferPointer { b in
            for y in 0..<h {
                let row = data + y * wpl * 4
                for x in 0..<w { row[x ^ 3] = b[y * w + x] }
            }
        }
        pixSetResolution(p, Int32(resolution), Int32(resolution))
        return PixImage(p)
    }

    /// The ink of a 1-bit image (1 = black) as one byte per pixel.
    func bits() -> [UInt8] {
        precondition(depth == 1)
        let w = width, h = height, wpl = Int(pixGetWpl(pix))
        let data = pixGetData(pix)!
        var out = [UInt8](repeating: 0, count: w * h)
        out.withUnsafeMutableBufferPointer { o in
            for y in 0..<h {
                let row = data + y * wpl
                for x in 0..<w where row[x >> 5] & (UInt32(0x8000_0000) >> UInt32(x & 31)) != 0 { o[y * w + x] = 1 }
            }
        }
        return out
    }
}
