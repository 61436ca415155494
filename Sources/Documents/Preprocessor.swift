import CTesseract
import Foundation

/// Image clean-up before recognition. Each step can be switched off; the defaults were chosen on
/// the generated evaluation set (tools/gen_ocr_eval.py, see BENCHMARKS.md).
public struct PreprocessOptions: Codable, Sendable, Equatable {
    /// Measure the skew of text lines and rotate it away.
    public var deskew: Bool = true
    /// Give Tesseract a Sauvola-binarised image instead of letting it apply its global Otsu threshold.
    public var binarize: Bool = false
    /// Enlarge pages whose text is too small for the LSTM model (it reads best at ~30 px text height).
    public var rescale: Bool = true
    /// Always apply a 3×3 median filter against salt-and-pepper noise.
    public var denoise: Bool = false
    /// Apply it when the page is speckled (many ink specks far smaller than any character).
    public var autoDenoise: Bool = true
    public init() {}
    public init(deskew: Bool, binarize: Bool, rescale: Bool, denoise: Bool, autoDenoise: Bool = true) {
        self.deskew = deskew; self.binarize = binarize; self.rescale = rescale; self.denoise = denoise; self.autoDenoise = autoDenoise
    }
}

/// A page ready for recognition: the image Tesseract reads, its binary ink for layout analysis, and
/// how it relates to the original page.
struct PreparedPage {
    var grey: PixImage
    var ink: Bitmap
    /// Ink at a lighter threshold, where faint ruling lines stay whole.
    var lineInk: Bitmap
    var binary: PixImage
    /// Processed pixels per original pixel.
    var scale: Double
    var skewDegrees: Double
    /// Median height of character-sized ink components, in processed pixels.
    var textHeight: Double
    var dpi: Int
    var denoised: Bool
}

enum Preprocessor {
    static let targetTextHeight = 30.0

    static func prepare(_ image: PixImage, dpi: Int, options: PreprocessOptions) throws -> PreparedPage {
        guard var grey = image.grey() else { throw OCRError.corrupt("", detail: "could not convert to grey") }
        var binary = try binarize(grey, dpi: dpi)
        var census = components(binary)
        var denoised = false
        if options.denoise || (options.autoDenoise && census.specks > max(500, 2 * census.characters)),
           let m = pixRankFilterGray(grey.pix, 3, 3, 0.5) {
            grey = PixImage(m)
            // Specks the median filter leaves are faint: Sauvola's local contrast drops them, Otsu does not.
            binary = try binarize(grey, dpi: dpi, sauvola: true)
            census = components(binary)
            denoised = true
        }
        if PageRecognizer.timing { FileHandle.standardError.write(Data("census \(census) denoised=\(denoised)\n".utf8)) }
        var textHeight = census.textHeight
        var scale = 1.0
        if options.rescale, textHeight > 3, textHeight < targetTextHeight * 0.7 {
            scale = min(4, targetTextHeight / textHeight)
            // Keep enlarged pages within a sane size (a scan of tiny text can already be big).
            scale = min(scale, sqrt(60_000_000 / Double(max(1, grey.width * grey.height))))
            if scale > 1.05, let s = pixScaleGrayLI(grey.pix, Float(scale), Float(scale)) {
                grey = PixImage(s)
                binary = try binarize(grey, dpi: Int(Double(dpi) * scale), sauvola: denoised)
                textHeight *= scale
            } else { scale = 1 }
        }
        var skew = 0.0
        if options.deskew {
            var angle: Float = 0, conf: Float = 0
            // Leptonica's own rule: trust the angle only with a clear peak, ignore tiny ones.
            if pixFindSkew(binary.pix, &angle, &conf) == 0, conf > 2.5, abs(angle) >= 0.1 {
                let radians = Float(Double(angle) * .pi / 180)
                if let r = pixRotate(grey.pix, radians, Int32(L_ROTATE_AREA_MAP), Int32(L_BRING_IN_WHITE), 0, 0) {
                    grey = PixImage(r)
                    binary = try binarize(grey, dpi: Int(Double(dpi) * scale), sauvola: denoised)
                    skew = Double(angle)
                }
            }
        }
        let processedDPI = Int((Double(dpi) * scale).rounded())
        pixSetResolution(grey.pix, Int32(processedDPI), Int32(processedDPI))
        let ink = Bitmap(binary)
        return PreparedPage(grey: grey, ink: ink, lineInk: denoised ? ink : (lineInk(grey) ?? ink), binary: binary, scale: scale,
                            skewDegrees: skew, textHeight: textHeight, dpi: processedDPI, denoised: denoised)
    }

    /// The ink used for layout analysis: Otsu's global threshold (what Tesseract applies itself), or
    /// Sauvola's per-pixel threshold when `sauvola` (noisy pages, and the page Tesseract reads when
    /// binarising is switched on). Otsu is ~10× cheaper; tiled Otsu was tried and left visible seams
    /// across thin table lines.
    static func binarize(_ grey: PixImage, dpi: Int, sauvola: Bool = false) throws -> PixImage {
        var out: UnsafeMutablePointer<PIX>?
        if sauvola {
            let half = Int32(max(8, min(64, dpi / 24)))
            guard pixSauvolaBinarize(grey.pix, half, 0.34, 1, nil, nil, nil, &out) == 0, let out else {
                throw OCRError.corrupt("", detail: "binarisation failed")
            }
            return PixImage(out)
        }
        guard pixOtsuAdaptiveThreshold(grey.pix, Int32(max(16, grey.width)), Int32(max(16, grey.height)), 0, 0, 0.1, nil, &out) == 0, let out else {
            throw OCRError.corrupt("", detail: "binarisation failed")
        }
        return PixImage(out)
    }

    /// A more permissive ink for finding drawn lines: thin rules on a low-resolution or light scan are
    /// grey, lighter than Otsu's threshold, yet unbroken. Threshold halfway between Otsu's and white.
    static func lineInk(_ grey: PixImage) -> Bitmap? {
        var th: UnsafeMutablePointer<PIX>?, out: UnsafeMutablePointer<PIX>?
        guard pixOtsuAdaptiveThreshold(grey.pix, Int32(max(16, grey.width)), Int32(max(16, grey.height)), 0, 0, 0.1, &th, &out) == 0,
              let th, let out else { return nil }
        let thImage = PixImage(th), _ = PixImage(out)
        var t: UInt32 = 128
        pixGetPixel(thImage.pix, 0, 0, &t)
        guard let light = pixThresholdToBinary(grey.pix, Int32(min(250, (Int(t) + 255) / 2))) else { return nil }
        return Bitmap(PixImage(light))
    }

    /// Ink components: the median height of those shaped like characters (0 when too few), how many
    /// there are, and how many specks of at most 3×3 pixels.
    static func components(_ binary: PixImage) -> (textHeight: Double, characters: Int, specks: Int) {
        var heights: [Int] = []
        var specks = 0
        for c in binary.componentBoxes() {
            if c.width <= 3, c.height <= 3 { specks += 1 }
            if c.height >= 4, c.height <= 300, c.width <= 3 * c.height, c.width >= 1, c.height <= 6 * c.width + 20 { heights.append(c.height) }
        }
        guard heights.count >= 10 else { return (0, heights.count, specks) }
        heights.sort()
        return (Double(heights[heights.count / 2]), heights.count, specks)
    }
}
