import Foundation

/// Why a document, or one of its pages, could not be read. Messages say what to do about it.
public enum OCRError: Error, CustomStringConvertible, Equatable, Sendable {
    case notFound(String)
    case empty(String)
    case unsupportedFormat(String, detail: String)
    case corrupt(String, detail: String)
    case tooLarge(String, width: Int, height: Int, limit: Int)
    case fileTooLarge(String, bytes: Int, limit: Int)
    case encryptedPDF(String)
    case pdfToolMissing(String)
    case pdfFailed(String, detail: String)
    case languageMissing(String, available: [String])
    case engineInit(String)
    case pageOutOfRange(Int, pages: Int)
    case cancelled

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no such file"
        case .empty(let p): return "\(p): the file is empty"
        case .unsupportedFormat(let p, let d):
            return "\(p): unsupported format (\(d)); OCR reads PNG, JPEG, TIFF (multi-page), BMP, PNM, GIF, WebP and PDF"
        case .corrupt(let p, let d): return "\(p): the image is corrupt or truncated (\(d))"
        case .tooLarge(let p, let w, let h, let limit):
            return "\(p): \(w)×\(h) pixels exceeds the limit of \(limit) pixels (raise ocr.maxPixels if the image is genuine)"
        case .fileTooLarge(let p, let n, let limit): return "\(p): \(n) bytes exceeds the limit of \(limit) bytes"
        case .encryptedPDF(let p): return "\(p): the PDF is encrypted; decrypt it first (e.g. qpdf --decrypt --password=… in out.pdf)"
        case .pdfToolMissing(let t): return "PDF support needs poppler-utils (\(t) not found); run `make bootstrap`"
        case .pdfFailed(let p, let d): return "\(p): poppler could not read the PDF (\(d))"
        case .languageMissing(let l, let available):
            return "no Tesseract language pack for '\(l)' (installed: \(available.joined(separator: ", "))); install Debian tesseract-ocr-\(l)"
        case .engineInit(let d): return "Tesseract failed to start: \(d)"
        case .pageOutOfRange(let n, let pages): return "page \(n) does not exist (the document has \(pages) page\(pages == 1 ? "" : "s"))"
        case .cancelled: return "cancelled"
        }
    }
}
