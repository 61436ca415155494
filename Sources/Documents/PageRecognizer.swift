import CTesseract
import Foundation

/// One page: pre-processing, line and tick-box removal, recognition, then tables, fields and
/// reading order, with every box mapped back to the original page.
enum PageRecognizer {
    /// ATELIER_OCR_TIMING=1 prints where each page's time goes (stderr).
    static let timing = ProcessInfo.processInfo.environment["ATELIER_OCR_TIMING"] != nil
    /// ATELIER_OCR_DEBUG_DIR=DIR writes each page's analysed ink and recognised input there (developer aid).
    static let debugDirectory = ProcessInfo.processInfo.environment["ATELIER_OCR_DEBUG_DIR"]

    static func recognize(_ image: PixImage, number: Int, dpi: Int, options: OCROptions,
                          isCancelled: @escaping @Sendable () -> Bool) throws -> OCRPage {
        let start = Date()
        var marks: [(String, Date)] = [("start", start)]
        func mark(_ s: String) { if timing { marks.append((s, Date())) } }
        defer {
            if timing {
                let parts = zip(marks.dropFirst(), marks).map { "\($0.0)=\(Int($0.1.timeIntervalSince($1.1) * 1000))ms" }
                FileHandle.standardError.write(Data("ocr timing page \(number): \(parts.joined(separator: " "))\n".utf8))
            }
        }
        let prepared = try Preprocessor.prepare(image, dpi: dpi, options: options.preprocess)
        mark("prepare")
        let rulings = Rulings(ink: prepared.lineInk, textHeight: prepared.textHeight)
        if let dir = debugDirectory {
            _ = pixWrite("\(dir)/page-\(number)-ink.png", prepared.binary.pix, Int32(IFF_PNG))
        }
        mark("rulings")
        let components = prepared.binary.componentBoxes()
        let ticks = options.wantsForms ? CheckboxDetector.detect(components: components, ink: prepared.ink, textHeight: prepared.textHeight) : []
        mark("ticks")

        // Drawn lines and tick boxes confuse the recogniser (a ruled cell reads as "|text|", a box as "O"):
        // whiten them before recognition.
        let w = prepared.grey.width, h = prepared.grey.height
        var grey = options.preprocess.binarize
            ? Bitmap(try Preprocessor.binarize(prepared.grey, dpi: prepared.dpi, sauvola: true)).pixels.map { $0 == 0 ? 255 : 0 }
            : prepared.grey.greyBytes()
        func whiten(_ b: BoundingBox, pad: Int) {
            for y in max(0, b.y - pad)..<min(h, b.maxY + pad) { for x in max(0, b.x - pad)..<min(w, b.maxX + pad) { grey[y * w + x] = 255 } }
        }
        for r in rulings.lineRects { whiten(r, pad: 2) }
        for t in ticks { whiten(t.bbox, pad: 2) }
        let input = PixImage.fromGrey(grey, width: w, height: h, resolution: prepared.dpi)
        mark("clean")
        if let dir = debugDirectory {
            _ = pixWrite("\(dir)/page-\(number)-input.png", input.pix, Int32(IFF_PNG))
        }

        let removed = rulings.lineRects + ticks.map(\.bbox)
        let (rawBlocks, hocr) = try EnginePool.shared.withEngine(languages: options.languages) { engine in
            var (blocks, hocr) = try engine.recognize(input, dpi: prepared.dpi, hocr: options.hocr, isCancelled: isCancelled)
            mark("tesseract")
            let missed = missedInk(prepared, components: components, read: blocks.flatMap(\.paragraphs).flatMap(\.lines).flatMap(\.words).map(\.bbox), removed: removed)
            if !missed.isEmpty {
                let words = try engine.recognize(regions: missed, in: input, dpi: prepared.dpi, isCancelled: isCancelled)
                    .filter { $0.confidence >= 40 && $0.text.contains(where: { $0.isLetter || $0.isNumber }) }
                for region in missed {
                    let inside = words.filter { region.contains(x: $0.bbox.midX, y: $0.bbox.midY) }.sorted { $0.bbox.x < $1.bbox.x }
                    guard let box = BoundingBox.enclosing(inside.map(\.bbox)) else { continue }
                    let line = OCRLine(text: inside.map(\.text).joined(separator: " "), bbox: box, words: inside)
                    blocks.append(OCRBlock(bbox: box, paragraphs: [OCRParagraph(bbox: box, lines: [line])]))
                }
            }
            mark("missed")
            return (blocks, hocr)
        }
        var page = assemble(blocks: rawBlocks, grids: options.wantsTables ? rulings.grids : [], boxes: rulings.boxes,
                            underlines: rulings.underlines, ticks: ticks, options: options)
        page.page = number
        page.source = "ocr"
        page.dpi = dpi
        page.skewDegrees = (prepared.skewDegrees * 100).rounded() / 100
        page.hocr = hocr
        mark("structure")
        page = page.mapped(by: 1 / prepared.scale)
        page.width = image.width
        page.height = image.height
        page.seconds = (Date().timeIntervalSince(start) * 1000).rounded() / 1000
        return page
    }

    /// Regions of character-sized ink that no recognised word covers, merged into word-sized groups
    /// (at most 80, largest first: a page of specks is noise, not missed text).
    static func missedInk(_ page: PreparedPage, components: [BoundingBox], read: [BoundingBox], removed: [BoundingBox]) -> [BoundingBox] {
        let th = max(8, page.textHeight)
        let pad = Int(th * 0.3)
        func overlaps(_ a: BoundingBox, _ c: BoundingBox) -> Bool { a.x < c.maxX && c.x < a.maxX && a.y < c.maxY && c.y < a.maxY }
        let pieces = components.filter { c in
            guard Double(c.height) >= 0.5 * th, Double(c.height) <= 3 * th, Double(c.width) <= 6 * th else { return false }
            let grown = BoundingBox(minX: c.x - pad, minY: c.y - pad, maxX: c.maxX + pad, maxY: c.maxY + pad)
            return !read.contains { overlaps($0, grown) } && !removed.contains { overlaps($0, c) }
        }
        // Merge pieces closer than a character's height along the row into groups.
        var groups: [BoundingBox] = []
        for p in pieces.sorted(by: { ($0.y, $0.x) < ($1.y, $1.x) }) {
            let reach = BoundingBox(minX: p.x - Int(th), minY: p.y - Int(th * 0.2), maxX: p.maxX + Int(th), maxY: p.maxY + Int(th * 0.2))
            if let k = groups.firstIndex(where: { overlaps($0, reach) }) { groups[k] = groups[k].union(p) } else { groups.append(p) }
        }
        let m = Int(th * 0.5)
        return groups.filter { Double($0.height) >= 0.6 * th }
            .sorted { $0.width * $0.height > $1.width * $1.height }.prefix(80)
            .map { BoundingBox(minX: max(0, $0.x - m), minY: max(0, $0.y - m), maxX: min(page.grey.width, $0.maxX + m), maxY: min(page.grey.height, $0.maxY + m)) }
    }

    /// A PDF page with its own text: the same structure analysis from the words' boxes (no pixels,
    /// so no ruled lines or tick boxes).
    static func fromTextLayer(_ t: PDFDocument.TextPage, number: Int, options: OCROptions) -> OCRPage {
        var page = assemble(blocks: t.blocks, grids: [], boxes: [], underlines: [], ticks: [], options: options)
        page.page = number
        page.source = "text-layer"
        page.dpi = options.pdfDPI
        page.width = Int((t.widthPt * Double(options.pdfDPI) / 72).rounded())
        page.height = Int((t.heightPt * Double(options.pdfDPI) / 72).rounded())
        return page
    }

    static func assemble(blocks raw: [OCRBlock], grids: [Rulings.Grid], boxes: [BoundingBox], underlines: [BoundingBox],
                         ticks: [CheckboxDetector.Found], options: OCROptions) -> OCRPage {
        let blocks = ReadingOrder.sort(raw, box: \.bbox)
        let words = blocks.flatMap(\.paragraphs).flatMap(\.lines).flatMap(\.words)
        let rows = WordRows(words: words)
        var tables = grids.map { TableExtractor.ruled($0, words: words) }
        if options.wantsTables {
            tables += TableExtractor.unruled(rows: rows, excluding: tables.map(\.bbox) + boxes)
            tables.sort { $0.bbox.y < $1.bbox.y }
        }
        var fields: [FormField] = []
        var checkboxes: [Checkbox] = []
        if options.wantsForms {
            let found = FormExtractor.checkboxes(ticks, rows: rows)
            checkboxes = found.boxes
            fields = FormExtractor.fields(rows: rows, words: words, boxes: boxes, underlines: underlines,
                                          excluding: tables.map(\.bbox) + checkboxes.map(\.bbox) + found.labelWords)
        }
        let confidences = words.map(\.confidence)
        return OCRPage(page: 0, width: 0, height: 0, dpi: 0, source: "", skewDegrees: 0,
                       confidence: confidences.isEmpty ? 0 : (confidences.reduce(0, +) / Double(confidences.count) * 10).rounded() / 10,
                       text: blocks.map(\.text).joined(separator: "\n\n"),
                       blocks: options.mode == .text ? [] : blocks, tables: tables, fields: fields, checkboxes: checkboxes, hocr: nil, seconds: 0)
    }
}

extension OCRPage {
    /// Every box multiplied by `s` (from processed back to original pixels).
    func mapped(by s: Double) -> OCRPage {
        guard abs(s - 1) > 1e-9 else { return self }
        var p = self
        func m(_ b: BoundingBox) -> BoundingBox { b.scaled(s) }
        p.blocks = blocks.map { b in
            OCRBlock(bbox: m(b.bbox), paragraphs: b.paragraphs.map { para in
                OCRParagraph(bbox: m(para.bbox), lines: para.lines.map { l in
                    OCRLine(text: l.text, bbox: m(l.bbox), words: l.words.map { OCRWord(text: $0.text, bbox: m($0.bbox), confidence: $0.confidence) })
                })
            })
        }
        p.tables = tables.map { t in
            var t = t
            t.bbox = m(t.bbox)
            t.cells = t.cells.map { var c = $0; c.bbox = m(c.bbox); return c }
            return t
        }
        p.fields = fields.map { f in var f = f; f.keyBBox = m(f.keyBBox); f.valueBBox = f.valueBBox.map(m); return f }
        p.checkboxes = checkboxes.map { c in var c = c; c.bbox = m(c.bbox); return c }
        return p
    }
}
