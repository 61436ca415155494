import Foundation

/// A PDF read through poppler's command-line tools (Debian poppler-utils): page count and sizes,
/// the text layer with word boxes, and pages rendered to grey images for OCR.
struct PDFDocument {
    let path: String
    let pageCount: Int

    init(path: String) throws {
        self.path = path
        let info = try Self.poppler("pdfinfo", [path])
        if info.status != 0 {
            if info.stderr.localizedCaseInsensitiveContains("password") { throw OCRError.encryptedPDF(path) }
            throw OCRError.pdfFailed(path, detail: info.stderr.split(separator: "\n").first.map(String.init) ?? "exit \(info.status)")
        }
        let pages = info.stdout.split(separator: "\n").first { $0.hasPrefix("Pages:") }
            .flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) }
        guard let pages else { throw OCRError.pdfFailed(path, detail: "no page count") }
        pageCount = pages
    }

    /// One page's text layer: its size in points and its words grouped as poppler grouped them.
    struct TextPage { var widthPt: Double; var heightPt: Double; var blocks: [OCRBlock] }

    /// The text layer of every page, with boxes converted from points to pixels at `dpi`.
    func textLayer(dpi: Int) throws -> [TextPage] {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-pdf-\(UUID().uuidString).html").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try Self.poppler("pdftotext", ["-bbox-layout", "-enc", "UTF-8", path, out])
        guard r.status == 0, let html = try? String(contentsOfFile: out, encoding: .utf8) else {
            throw OCRError.pdfFailed(path, detail: r.stderr.split(separator: "\n").first.map(String.init) ?? "pdftotext exit \(r.status)")
        }
        return Self.parseBBoxLayout(html, scale: Double(dpi) / 72)
    }

    /// pdftotext's `-bbox-layout` XHTML: page > flow > block > line > word, coordinates in points.
    static func parseBBoxLayout(_ html: String, scale: Double) -> [TextPage] {
        var pages: [TextPage] = []
        var line: OCRLine?
        for raw in html.split(separator: "\n") {
            let s = raw.trimmingCharacters(in: .whitespaces)
            if s.hasPrefix("<page ") {
                let a = attributes(s)
                pages.append(TextPage(widthPt: a["width"] ?? 612, heightPt: a["height"] ?? 792, blocks: []))
            } else if s.hasPrefix("<block "), !pages.isEmpty {
                pages[pages.count - 1].blocks.append(OCRBlock(bbox: box(attributes(s), scale), paragraphs: [OCRParagraph(bbox: box(attributes(s), scale), lines: [])]))
            } else if s.hasPrefix("<line ") {
                line = OCRLine(text: "", bbox: box(attributes(s), scale), words: [])
            } else if s.hasPrefix("<word "), line != nil, let gt = s.firstIndex(of: ">"), let end = s.range(of: "</word>") {
                let text = unescape(String(s[s.index(after: gt)..<end.lowerBound]))
                line!.words.append(OCRWord(text: text, bbox: box(attributes(s), scale), confidence: 100))
            } else if s.hasPrefix("</line>"), var l = line, !pages.isEmpty, !pages[pages.count - 1].blocks.isEmpty {
                l.text = l.words.map(\.text).joined(separator: " ")
                if !l.words.isEmpty { pages[pages.count - 1].blocks[pages[pages.count - 1].blocks.count - 1].paragraphs[0].lines.append(l) }
                line = nil
            }
        }
        for p in pages.indices { pages[p].blocks.removeAll { $0.paragraphs[0].lines.isEmpty } }
        return pages
    }

    static func attributes(_ tag: String) -> [String: Double] {
        var out: [String: Double] = [:]
        var rest = Substring(tag)
        while let eq = rest.range(of: "=\"") {
            let name = rest[..<eq.lowerBound].split(separator: " ").last.map(String.init) ?? ""
            let after = rest[eq.upperBound...]
            guard let close = after.firstIndex(of: "\"") else { break }
            out[name] = Double(after[..<close])
            rest = after[after.index(after: close)...]
        }
        return out
    }

    static func box(_ a: [String: Double], _ s: Double) -> BoundingBox {
        BoundingBox(minX: Int(((a["xMin"] ?? 0) * s).rounded()), minY: Int(((a["yMin"] ?? 0) * s).rounded()),
                    maxX: Int(((a["xMax"] ?? 0) * s).rounded()), maxY: Int(((a["yMax"] ?? 0) * s).rounded()))
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
    }

    /// Page `number` (1-based) rendered to an 8-bit grey image.
    func render(page number: Int, dpi: Int, maxPixels: Int) throws -> PixImage {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-page-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: prefix + ".pgm") }
        let r = try Self.poppler("pdftoppm", ["-gray", "-r", "\(dpi)", "-f", "\(number)", "-l", "\(number)", "-singlefile", path, prefix])
        guard r.status == 0, FileManager.default.fileExists(atPath: prefix + ".pgm") else {
            throw OCRError.pdfFailed(path, detail: "page \(number): " + (r.stderr.split(separator: "\n").first.map(String.init) ?? "pdftoppm exit \(r.status)"))
        }
        return try PixImage.read(path: prefix + ".pgm", index: 0, maxPixels: maxPixels)
    }

    struct ToolResult { var status: Int32; var stdout: String; var stderr: String }

    static func poppler(_ tool: String, _ args: [String]) throws -> ToolResult {
        guard let exe = ["/usr/bin/", "/usr/local/bin/"].map({ $0 + tool }).first(where: FileManager.default.isExecutableFile) else {
            throw OCRError.pdfToolMissing(tool)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Read stderr while stdout is drained, so neither pipe can fill up and stall the tool.
        let errBox = DataBox()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errBox.data = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        p.waitUntilExit()
        return ToolResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    private final class DataBox: @unchecked Sendable { var data = Data() }
}
