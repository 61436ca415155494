import Foundation
import Neural

/// A folder of training photos, read once and brought to the training resolution: the shorter side
/// resized to `resolution` (area-averaged when shrinking, bilinear when growing), then a square crop
/// (the centre, or anywhere when `centerCrop` is off, chosen per use).
public struct TrainingImages: Sendable {
    /// Each image [3, h, w] in 0…1 after the resize (one side equals the resolution).
    public let images: [Tensor]
    public let files: [String]
    /// Per image, the text of a caption file beside it (`photo.txt` for `photo.png`), as kohya's
    /// trainers read them; nil where there is none (the instance prompt applies).
    public let captions: [String?]
    public let resolution: Int

    /// Reads every PNG in `folder` (sorted by name). Other files are reported, not silently skipped.
    public init(folder: String, resolution: Int, minimumSide: Int = 8) throws(DiffusionError) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw .invalidRequest("the image folder '\(folder)' does not exist")
        }
        let names = ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        let pngs = names.filter { $0.lowercased().hasSuffix(".png") }
        let allowed = [".png", ".json", ".txt"]
        if let other = names.first(where: { name in !allowed.contains { name.lowercased().hasSuffix($0) } }) {
            throw .invalidRequest("'\(folder)/\(other)' is not a PNG; convert the training photos to PNG (Atelier reads PNG only)")
        }
        guard !pngs.isEmpty else { throw .invalidRequest("the image folder '\(folder)' has no PNG images") }
        var images: [Tensor] = []
        for name in pngs {
            let path = folder + "/" + name
            let png: PNGImage
            do { png = try PNGImage(contentsOf: path) } catch { throw .invalidRequest("cannot read '\(path)': \(error)") }
            guard min(png.width, png.height) >= minimumSide else {
                throw .invalidRequest("'\(path)' is \(png.width)×\(png.height); training images need at least \(minimumSide) pixels a side")
            }
            let t = png.tensor
            images.append(Self.resizeShorterSide(Tensor(shape: Array(t.shape.dropFirst()), data: t.data), to: resolution))
        }
        self.images = images
        files = pngs.map { folder + "/" + $0 }
        captions = pngs.map { name -> String? in
            let caption = folder + "/" + String(name.dropLast(4)) + ".txt"
            guard let data = fm.contents(atPath: caption) else { return nil }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : text
        }
        self.resolution = resolution
    }

    /// A square crop of image `i`: the centre, or at (dx, dy) ∈ [0, 1]² of the slack.
    public func crop(_ i: Int, at offset: (Float, Float)? = nil, flip: Bool = false) -> Tensor {
        Self.crop(images[i], resolution: resolution, at: offset, flip: flip)
    }

    /// A `resolution`² crop of [3, h, w] (both sides at least the resolution), optionally mirrored.
    public static func crop(_ t: Tensor, resolution r: Int, at offset: (Float, Float)? = nil, flip: Bool = false) -> Tensor {
        let (h, w) = (t.shape[1], t.shape[2])
        let fx = offset?.0 ?? 0.5, fy = offset?.1 ?? 0.5
        let x0 = Int((Float(w - r) * fx).rounded()), y0 = Int((Float(h - r) * fy).rounded())
        var out = [Float](repeating: 0, count: 3 * r * r)
        for c in 0..<3 {
            for y in 0..<r {
                for x in 0..<r {
                    let sx = flip ? x0 + r - 1 - x : x0 + x
                    out[(c * r + y) * r + x] = t.data[(c * h + y0 + y) * w + sx]
                }
            }
        }
        return Tensor(shape: [3, r, r], data: out)
    }

    /// Resizes [3, H, W] so its shorter side is `side`.
    static func resizeShorterSide(_ t: Tensor, to side: Int) -> Tensor {
        let (h, w) = (t.shape[1], t.shape[2])
        let scale = Double(side) / Double(min(h, w))
        let nh = max(side, Int((Double(h) * scale).rounded())), nw = max(side, Int((Double(w) * scale).rounded()))
        if nh == h && nw == w { return t }
        var out = [Float](repeating: 0, count: 3 * nh * nw)
        for c in 0..<3 {
            for y in 0..<nh {
                for x in 0..<nw {
                    out[(c * nh + y) * nw + x] = scale < 1
                        ? area(t, c, Double(y) / scale, Double(y + 1) / scale, Double(x) / scale, Double(x + 1) / scale)
                        : bilinear(t, c, (Double(y) + 0.5) / scale - 0.5, (Double(x) + 0.5) / scale - 0.5)
                }
            }
        }
        return Tensor(shape: [3, nh, nw], data: out)
    }

    /// Mean of the source pixels the box [y0, y1) × [x0, x1) covers, weighted by overlap.
    static func area(_ t: Tensor, _ c: Int, _ y0: Double, _ y1: Double, _ x0: Double, _ x1: Double) -> Float {
        let (h, w) = (t.shape[1], t.shape[2])
        var sum = 0.0, weight = 0.0
        for sy in Int(y0)..<min(h, Int(y1.rounded(.up))) {
            let wy = min(y1, Double(sy + 1)) - max(y0, Double(sy))
            for sx in Int(x0)..<min(w, Int(x1.rounded(.up))) {
                let wx = min(x1, Double(sx + 1)) - max(x0, Double(sx))
                sum += Double(t.data[(c * h + sy) * w + sx]) * wy * wx
                weight += wy * wx
            }
        }
        return Float(sum / max(weight, 1e-12))
    }

    static func bilinear(_ t: Tensor, _ c: Int, _ y: Double, _ x: Double) -> Float {
        let (h, w) = (t.shape[1], t.shape[2])
        let yc = min(max(y, 0), Double(h - 1)), xc = min(max(x, 0), Double(w - 1))
        let y0 = Int(yc), x0 = Int(xc), y1 = min(y0 + 1, h - 1), x1 = min(x0 + 1, w - 1)
        let fy = Float(yc - Double(y0)), fx = Float(xc - Double(x0))
        func p(_ yy: Int, _ xx: Int) -> Float { t.data[(c * h + yy) * w + xx] }
        return (p(y0, x0) * (1 - fx) + p(y0, x1) * fx) * (1 - fy) + (p(y1, x0) * (1 - fx) + p(y1, x1) * fx) * fy
    }
}
