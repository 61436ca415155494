import CTesseract
import Foundation

/// One page: pre-processing, line and tick-box removal, recognition, then tables, fields and
/// reading order, with every box mapped back to the original page.
enum PageRecognizer {
    static func recognize(_ image: PixImage, number: Int, dpi: Int, options: OCROptions,
                          isCancelled: @escaping @Sendable () -> Bool) throws -> OCRPage {
        let start = Date()
        let prepared = try Preprocessor.prepare(image, dpi: dpi, options: options.preprocess)
        let rulings = Rulings(ink: prepared.ink, textHeight: prepared.textHeight)
        let ticks = options.wantsForms ? CheckboxDetector.detect(binary: prepared.binary, ink: prepared.ink, textHeight: prepared.textHeight) : []

        // Drawn lines and tick boxes confuse the recogniser (a ruled cell reads as "|text|", a box as "O"):
        // whiten them before recognition.
        let w = prepared.grey.width, h = prepared.grey.height
        var grey = options.preprocess.binarize ? prepared.ink.pixels.map { $0 == 0 ? 255 : 0 } : prepared.grey.greyBytes()
        func whiten(_ b: BoundingBox, pad: Int) {
            for y in max(0, b.y - pad)..<min(h, b.maxY + pad) { for x in max(0, b.x - pad)..<min(w, b.maxX + pad) { grey[y * w + x] = 255 } }
        }
        for r in rulings.lineRects { whiten(r, pad: 1) }
        for t in ticks { whiten(t.bbox, pad: 2) }
        let input = PixImage.fromGrey(grey, width: w, height: h, resolution: prepared.dpi)

        let (rawBlocks, hocr) = try EnginePool.shared.withEngine(languages: options.languages) { engine in
            try engine.recognize(input, dpi: prepared.dpi, scale: 1, hocr: options.hocr, isCancelled: isCancelled)
        }
        var page = assemble(blocks: rawBlocks, grids: options.wantsTables ? rulings.grids : [], boxes: rulings.boxes,
                            underlines: rulings.underlines, ticks: ticks, options: options)
        page.page = number
        page.source = "ocr"
        page.dpi = dpi
        page.skewDegrees = (prepared.skewDegrees * 100).rounded() / 100
        page.hocr = hocr
        page = page.mapped(by: 1 / prepared.scale)
        page.width = image.width
        page.height = image.height
        page.seconds = (Date().timeIntervalSince(start) * 1000).rounded() / 1000
        return page
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
