import CTesseract
import Foundation

/// One Tesseract instance (≈350 ms to initialise, so engines live in `EnginePool`). Not thread-safe:
/// the pool hands each one to a single worker at a time.
final class TesseractEngine {
    let handle: OpaquePointer
    let languages: String

    init(languages: String, dataPath: String) throws {
        guard let h = TessBaseAPICreate() else { throw OCRError.engineInit("TessBaseAPICreate returned nothing") }
        // OEM_LSTM_ONLY: Debian's traineddata has no legacy engine (OEM 0 fails).
        guard TessBaseAPIInit2(h, dataPath, languages, OEM_LSTM_ONLY) == 0 else {
            TessBaseAPIDelete(h)
            throw OCRError.engineInit("could not load \(languages) from \(dataPath)")
        }
        // Tesseract's warnings (e.g. about resolution) would otherwise go to stderr for every page.
        _ = TessBaseAPISetVariable(h, "debug_file", "/dev/null")
        handle = h
        self.languages = languages
    }

    deinit { TessBaseAPIEnd(handle); TessBaseAPIDelete(handle) }

    /// Recognises `image` (already pre-processed) and returns its blocks in Tesseract's reading order,
    /// in the image's pixels, plus hOCR when asked.
    func recognize(_ image: PixImage, dpi: Int, segmentation: TessPageSegMode = PSM_AUTO,
                   hocr: Bool, isCancelled: @escaping () -> Bool) throws -> (blocks: [OCRBlock], hocr: String?) {
        TessBaseAPISetPageSegMode(handle, segmentation)
        TessBaseAPISetImage2(handle, image.pix)
        TessBaseAPISetSourceResolution(handle, Int32(max(70, dpi)))
        defer { TessBaseAPIClear(handle) }
        let monitor = TessMonitorCreate()!
        defer { TessMonitorDelete(monitor) }
        let box = Unmanaged.passRetained(CancelBox(isCancelled))
        defer { box.release() }
        TessMonitorSetCancelThis(monitor, box.toOpaque())
        TessMonitorSetCancelFunc(monitor) { this, _ in
            Unmanaged<CancelBox>.fromOpaque(this!).takeUnretainedValue().check()
        }
        let rc = TessBaseAPIRecognize(handle, monitor)
        if isCancelled() { throw OCRError.cancelled }
        guard rc == 0 else { throw OCRError.engineInit("recognition failed") }
        var hocrText: String?
        if hocr, let c = TessBaseAPIGetHOCRText(handle, 0) { hocrText = String(cString: c); TessDeleteText(c) }
        return (readBlocks(), hocrText)
    }

    /// Reads small regions of `image` one at a time as single blocks of text: what the page
    /// segmentation skipped (isolated numbers in a sparse table column are its classic blind spot).
    func recognize(regions: [BoundingBox], in image: PixImage, dpi: Int, isCancelled: @escaping () -> Bool) throws -> [OCRWord] {
        TessBaseAPISetImage2(handle, image.pix)
        TessBaseAPISetSourceResolution(handle, Int32(max(70, dpi)))
        TessBaseAPISetPageSegMode(handle, PSM_SINGLE_BLOCK)
        defer { TessBaseAPIClear(handle) }
        var words: [OCRWord] = []
        for r in regions {
            if isCancelled() { throw OCRError.cancelled }
            TessBaseAPISetRectangle(handle, Int32(r.x), Int32(r.y), Int32(r.width), Int32(r.height))
            guard TessBaseAPIRecognize(handle, nil) == 0 else { continue }
            words += readBlocks().flatMap(\.paragraphs).flatMap(\.lines).flatMap(\.words)
        }
        return words
    }

    private func readBlocks() -> [OCRBlock] {
        guard let it = TessBaseAPIGetIterator(handle) else { return [] }
        defer { TessResultIteratorDelete(it) }
        let page = TessResultIteratorGetPageIterator(it)!
        var blocks: [OCRBlock] = []
        func box(_ level: TessPageIteratorLevel) -> BoundingBox? {
            var l: Int32 = 0, t: Int32 = 0, r: Int32 = 0, b: Int32 = 0
            guard TessPageIteratorBoundingBox(page, level, &l, &t, &r, &b) != 0 else { return nil }
            return BoundingBox(minX: Int(l), minY: Int(t), maxX: Int(r), maxY: Int(b))
        }
        repeat {
            guard let wb = box(RIL_WORD), let cText = TessResultIteratorGetUTF8Text(it, RIL_WORD) else { continue }
            let text = String(cString: cText).trimmingCharacters(in: .whitespacesAndNewlines)
            TessDeleteText(cText)
            if TessPageIteratorIsAtBeginningOf(page, RIL_BLOCK) != 0 || blocks.isEmpty {
                blocks.append(OCRBlock(bbox: box(RIL_BLOCK) ?? wb, paragraphs: []))
            }
            if TessPageIteratorIsAtBeginningOf(page, RIL_PARA) != 0 || blocks[blocks.count - 1].paragraphs.isEmpty {
                blocks[blocks.count - 1].paragraphs.append(OCRParagraph(bbox: box(RIL_PARA) ?? wb, lines: []))
            }
            let pi = blocks[blocks.count - 1].paragraphs.count - 1
            if TessPageIteratorIsAtBeginningOf(page, RIL_TEXTLINE) != 0 || blocks[blocks.count - 1].paragraphs[pi].lines.isEmpty {
                blocks[blocks.count - 1].paragraphs[pi].lines.append(OCRLine(text: "", bbox: box(RIL_TEXTLINE) ?? wb, words: []))
            }
            guard !text.isEmpty else { continue }
            let conf = Double(TessResultIteratorConfidence(it, RIL_WORD))
            let li = blocks[blocks.count - 1].paragraphs[pi].lines.count - 1
            blocks[blocks.count - 1].paragraphs[pi].lines[li].words.append(OCRWord(text: text, bbox: wb, confidence: (conf * 10).rounded() / 10))
        } while TessResultIteratorNext(it, RIL_WORD) != 0
        return blocks.compactMap { b in
            var b = b
            b.paragraphs = b.paragraphs.compactMap { p in
                var p = p
                p.lines = p.lines.filter { !$0.words.isEmpty }.map { l in
                    var l = l
                    l.text = l.words.map(\.text).joined(separator: " ")
                    return l
                }
                return p.lines.isEmpty ? nil : p
            }
            return b.paragraphs.isEmpty ? nil : b
        }
    }

    private final class CancelBox {
        let isCancelled: () -> Bool
        init(_ f: @escaping () -> Bool) { isCancelled = f }
        func check() -> Bool { isCancelled() }
    }
}

/// Initialised engines by language set, reused across pages and calls.
public final class EnginePool: @unchecked Sendable {
    public static let shared = EnginePool()
    private let lock = NSLock()
    private var idle: [String: [TesseractEngine]] = [:]

    /// Where the traineddata files live: TESSDATA_PREFIX, else the Debian locations.
    public static var dataPath: String? {
        if let p = ProcessInfo.processInfo.environment["TESSDATA_PREFIX"], !p.isEmpty { return p }
        return ["/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata", "/usr/share/tessdata", "/usr/local/share/tessdata"]
            .first { FileManager.default.fileExists(atPath: $0 + "/eng.traineddata") }
    }

    /// Installed language packs (osd is orientation detection, not a language).
    public static var installedLanguages: [String] {
        guard let dir = dataPath, let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return files.filter { $0.hasSuffix(".traineddata") }.map { String($0.dropLast(".traineddata".count)) }.filter { $0 != "osd" }.sorted()
    }

    /// Checks that every language of "eng+deu" is installed before an engine is built.
    public static func validate(languages: String) throws {
        let installed = installedLanguages
        guard dataPath != nil else { throw OCRError.languageMissing("eng", available: []) }
        for l in languages.split(separator: "+").map(String.init) where !installed.contains(l) {
            throw OCRError.languageMissing(l, available: installed)
        }
    }

    func withEngine<T>(languages: String, _ body: (TesseractEngine) throws -> T) throws -> T {
        let engine = try lock.withLock { idle[languages]?.popLast() } ?? {
            try Self.validate(languages: languages)
            return try TesseractEngine(languages: languages, dataPath: Self.dataPath!)
        }()
        defer { lock.withLock { idle[languages, default: []].append(engine) } }
        return try body(engine)
    }
}
