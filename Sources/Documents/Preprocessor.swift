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
    /// A 3×3 median filter against salt-and-pepper noise.
    public var denoise: Bool = false
    public init() {}
    public init(deskew: Bool, binarize: Bool, rescale: Bool, denoise: Bool) {
        self.deskew = deskew; self.binarize = binarize; self.rescale = rescale; self.denoise = denoise
    }
}

/// A page ready for recognition: the image Tesseract reads, its binary ink for layout analysis, and
/// how it relates to the original page.
struct PreparedPage {
    var grey: PixImage
    var ink: Bitmap
    var binary: PixImage
    /// Processed pixels per original pixel.
    var scale: Double
    var skewDegrees: Double
    /// Median height of character-sized ink components, in processed pixels.
    var textHeight: Double
    var dpi: Int
}

enum Preprocessor {
    static let targetTextHeight = 30.0

    static func prepare(_ image: PixImage, dpi: Int, options: PreprocessOptions) throws -> PreparedPage {
        guard var grey = image.grey() else { throw OCRError.corrupt("", detail: "could not convert to grey") }
        if options.denoise, let m = pixRankFilterGray(grey.pix, 3, 3, 0.5) { grey = PixImage(m) }
        var binary = try binarize(grey, dpi: dpi)
        var textHeight = estimateTextHeight(binary)
        var scale = 1.0
        if options.rescale, textHeight > 3, textHeight < targetTextHeight * 0.7 {
            scale = min(4, targetTextHeight / textHeight)
            // Keep enlarged pages within a sane size (a scan of tiny text can already be big).
            scale = min(scale, sqrt(60_000_000 / Double(max(1, grey.width * grey.height))))
            if scale > 1.05, let s = pixScaleGrayLI(grey.pix, Float(scale), Float(scale)) {
                grey = PixImage(s)
                binary = try binarize(grey, dpi: Int(Double(dpi) * scale))
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
                    binary = try binarize(grey, dpi: Int(Double(dpi) * scale))
                    skew = Double(angle)
                }
            }
        }
        let processedDPI = Int((Double(dpi) * scale).rounded())
        pixSetResolution(grey.pix, Int32(processedDPI), Int32(processedDPI))
        return PreparedPage(grey: grey, ink: Bitmap(binary), binary: binary, scale: scale, skewDegrees: skew,
                            textHeight: textHeight, dpi: processedDPI)
    }

    /// Sauvola's local threshold (window ≈ a twelfth of an inch, k = 0.34).
    static func binarize(_ grey: PixImage, dpi: Int) throws -> PixImage {
        let half = Int32(max(8, min(64, dpi / 24)))
        var out: UnsafeMutablePointer<PIX>?
        guard pixSauvolaBinarize(grey.pix, half, 0.34, 1, nil, nil, nil, &out) == 0, let out else {
            throw OCRError.corrupt("", detail: "binarisation failed")
        }
        return PixImage(out)
    }

    /// The median height of ink components shaped like characters; 0 when there are too few.
    static func estimateTextHeight(_ binary: PixImage) -> Double {
        guard let boxa = pixConnComp(binary.pix, nil, 8) else { return 0 }
        var b: UnsafeMutablePointer<BOXA>? = boxa
        defer { boxaDestroy(&b) }
        var heights: [Int32] = []
        for i in 0..<boxaGetCount(boxa) {
            var x: Int32 = 0, y: Int32 = 0, w: Int32 = 0, h: Int32 = 0
            boxaGetBoxGeometry(boxa, i, &x, &y, &w, &h)
            if h >= 4, h <= 300, w <= 3 * h, w >= 1, h <= 6 * w + 20 { heights.append(h) }
        }
        guard heights.count >= 10 else { return 0 }
        heights.sort()
        return Double(heights[heights.count / 2])
    }
}
