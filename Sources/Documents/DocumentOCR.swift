import CTesseract
import Foundation

/// What to extract and how.
public struct OCROptions: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable, CaseIterable { case text, layout, tables, forms, all }
    public var mode: Mode = .all
    /// Tesseract language packs joined by "+", e.g. "eng+deu".
    public var languages: String = "eng"
    /// 1-based page numbers; nil for every page.
    public var pages: [Int]?
    /// Resolution at which PDF pages without a text layer are rendered.
    public var pdfDPI: Int = 300
    /// Resolution assumed for images that do not record one.
    public var defaultDPI: Int = 300
    /// Images larger than this are refused before decoding (decompression bombs).
    public var maxPixels: Int = 120_000_000
    public var maxBytes: Int = 512 << 20
    /// Use a PDF page's own text when it has one instead of rendering and recognising it.
    public var useTextLayer: Bool = true
    public var hocr: Bool = false
    public var preprocess = PreprocessOptions()
    /// Pages recognised at once; each worker owns one Tesseract engine.
    public var workers: Int = ProcessInfo.processInfo.activeProcessorCount
    public init() {}

    var wantsTables: Bool { mode == .tables || mode == .all }
    var wantsForms: Bool { mode == .forms || mode == .all }
}

/// Images and PDFs to text, layout, tables and form fields. Pages run in parallel, one Tesseract
/// engine per worker (with OMP_THREAD_LIMIT=1, which `atelier` sets: OpenMP inside Tesseract on a
/// busy machine is many times slower than page-level parallelism). A page that fails is reported in
/// `failures` and the others are still processed.
public enum DocumentOCR {
    public typealias Progress = @Sendable (_ done: Int, _ total: Int, _ page: Int) -> Void

    public static func extract(path: String, options: OCROptions = OCROptions(), progress: Progress? = nil,
                               isCancelled: @escaping @Sendable () -> Bool = { false }) throws -> OCRDocument {
        let attrs: [FileAttributeKey: Any]
        do { attrs = try FileManager.default.attributesOfItem(atPath: path) } catch { throw OCRError.notFound(path) }
        guard (attrs[.type] as? FileAttributeType) != .typeDirectory else { throw OCRError.unsupportedFormat(path, detail: "a directory") }
        let size = (attrs[.size] as? NSNumber)?.intValue ?? 0
        if size == 0 { throw OCRError.empty(path) }
        if size > options.maxBytes { throw OCRError.fileTooLarge(path, bytes: size, limit: options.maxBytes) }
        try EnginePool.validate(languages: options.languages)

        let source: PageSource = try isPDF(path) ? .pdf(try PDFDocument(path: path)) : .image(try PixImage.pageCount(path: path, maxPixels: options.maxPixels))
        let count = source.pageCount
        var failures: [PageFailure] = []
        var wanted: [Int] = []
        for n in options.pages ?? Array(1...max(1, count)) {
            if n >= 1 && n <= count { if !wanted.contains(n) { wanted.append(n) } } else {
                failures.append(PageFailure(page: n, error: OCRError.pageOutOfRange(n, pages: count).description))
            }
        }
        if wanted.isEmpty, let f = failures.first { throw OCRError.pageOutOfRange(f.page, pages: count) }
        var textLayer: [PDFDocument.TextPage] = []
        if case .pdf(let pdf) = source, options.useTextLayer {
            textLayer = try pdf.textLayer(dpi: options.pdfDPI)
        }

        let pagesToRead = wanted, layer = textLayer
        let results = ResultBox(count: wanted.count)
        let workers = max(1, min(options.workers, wanted.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = results.next(), !isCancelled() {
                let n = pagesToRead[i]
                do {
                    let page: OCRPage
                    if n - 1 < layer.count, layer[n - 1].blocks.flatMap(\.paragraphs).flatMap(\.lines).flatMap(\.words).count >= 3 {
                        page = PageRecognizer.fromTextLayer(layer[n - 1], number: n, options: options)
                    } else {
                        let image: PixImage
                        var dpi: Int
                        switch source {
                        case .pdf(let pdf):
                            dpi = options.pdfDPI
                            if n - 1 < layer.count {
                                // Keep huge page sizes under the pixel limit by lowering the resolution.
                                let pts = layer[n - 1].widthPt * layer[n - 1].heightPt
                                let fit = Int(sqrt(Double(options.maxPixels) / max(1, pts)) * 72)
                                dpi = max(50, min(dpi, fit))
                            }
                            image = try pdf.render(page: n, dpi: dpi, maxPixels: options.maxPixels)
                        case .image:
                            image = try PixImage.read(path: path, index: n - 1, maxPixels: options.maxPixels)
                            dpi = image.resolution >= 70 && image.resolution <= 2400 ? image.resolution : options.defaultDPI
                        }
                        page = try PageRecognizer.recognize(image, number: n, dpi: dpi, options: options, isCancelled: isCancelled)
                    }
                    let done = results.set(i, .success(page))
                    progress?(done, pagesToRead.count, n)
                } catch {
                    let done = results.set(i, .failure(error))
                    progress?(done, pagesToRead.count, n)
                }
            }
        }
        if isCancelled() { throw OCRError.cancelled }
        var pages: [OCRPage] = []
        for (i, r) in results.all.enumerated() {
            switch r {
            case .success(let p): pages.append(p)
            case .failure(let e): failures.append(PageFailure(page: wanted[i], error: (e as? OCRError)?.description ?? "\(e)"))
            case nil: failures.append(PageFailure(page: wanted[i], error: "not processed"))
            }
        }
        // A document none of whose pages could be read is an error, not an empty result.
        if pages.isEmpty, let first = results.all.compactMap({ r -> Error? in if case .failure(let e)? = r { return e }; return nil }).first {
            throw first
        }
        var doc = OCRDocument(path: path, pageCount: count, pages: pages, failures: failures.sorted { $0.page < $1.page }, type: nil)
        if !pages.isEmpty {
            doc.type = DocumentClassifier.classify(text: doc.text, tables: pages.flatMap(\.tables), fields: pages.flatMap(\.fields),
                                                   checkboxes: pages.flatMap(\.checkboxes))
        }
        return doc
    }

    static func isPDF(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 1024)) ?? Data()
        return head.range(of: Data("%PDF-".utf8)) != nil
    }

    enum PageSource {
        case pdf(PDFDocument)
        case image(Int)
        var pageCount: Int {
            switch self { case .pdf(let p): return p.pageCount; case .image(let n): return n }
        }
    }

    /// Page results filled by the workers, and the next page to take.
    final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var cursor = 0
        private var finished = 0
        private var results: [Result<OCRPage, Error>?]
        init(count: Int) { results = Array(repeating: nil, count: count) }
        func next() -> Int? { lock.withLock { guard cursor < results.count else { return nil }; cursor += 1; return cursor - 1 } }
        /// Stores a page's result and returns how many pages are finished.
        func set(_ i: Int, _ r: Result<OCRPage, Error>) -> Int { lock.withLock { results[i] = r; finished += 1; return finished } }
        var all: [Result<OCRPage, Error>?] { lock.withLock { results } }
    }
}
