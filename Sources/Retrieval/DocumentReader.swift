import Documents
import Foundation

/// Turns a file into text pages, or says why it cannot. Offsets in citations refer to this text.
public enum DocumentReader {
    public enum Kind: String, Sendable { case text, markdown, html, code, pdf, image }

    public struct Document: Sendable {
        public let kind: Kind
        /// One entry per page (a single entry for non-paginated formats).
        public let pages: [String]
    }

    public enum Skip: Error, CustomStringConvertible {
        case binary, invalidEncoding, tooLarge(Int, limit: Int), unreadable(String), unsupported(String), empty
        public var description: String {
            switch self {
            case .binary: return "binary file"
            case .invalidEncoding: return "not valid UTF-8 text"
            case .tooLarge(let n, let limit): return "\(n) bytes exceeds the ingest limit of \(limit) bytes"
            case .unreadable(let why): return "unreadable: \(why)"
            case .unsupported(let why): return why
            case .empty: return "no text"
            }
        }
    }

    static let codeExtensions: Set<String> = ["swift", "py", "js", "ts", "tsx", "jsx", "go", "rs", "java", "kt", "c", "h", "cc", "cpp", "hpp",
                                              "cs", "rb", "php", "sh", "bash", "zsh", "lua", "scala", "sql", "r", "m", "mm", "pl", "hs",
                                              "ex", "exs", "erl", "clj", "dart", "zig", "nim", "ml", "yaml", "yml", "toml", "json", "xml", "css"]

    public static func kind(of path: String) -> Kind {
        let ext = (path as NSString).pathExtension.lowercased()
        switch ext {
        case "md", "markdown", "mdx", "rst": return .markdown
        case "html", "htm", "xhtml": return .html
        case "pdf": return .pdf
        case "png", "jpg", "jpeg", "tif", "tiff", "bmp", "pnm", "pgm", "ppm", "pbm", "gif", "webp": return .image
        default: return codeExtensions.contains(ext) ? .code : .text
        }
    }

    public static func read(_ path: String, maxBytes: Int) throws(Skip) -> Document {
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attrs?[.size] as? NSNumber)?.intValue ?? 0
        if size > maxBytes { throw .tooLarge(size, limit: maxBytes) }
        let kind = kind(of: path)
        if kind == .pdf { return try readPDF(path) }
        if kind == .image { return Document(kind: .image, pages: try recognise(path, pages: nil)) }
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable("cannot open") }
        let bytes = [UInt8](data)
        if bytes.prefix(8192).contains(0) { throw .binary }
        guard var text = String(validating: bytes, as: UTF8.self) else { throw .invalidEncoding }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        if kind == .html { text = HTMLText.extract(text) }
        if text.allSatisfy(\.isWhitespace) { throw .empty }
        return Document(kind: kind, pages: [text])
    }

    /// PDF text layer through poppler's `pdftotext` (pages are separated by form feeds).
    static func readPDF(_ path: String) throws(Skip) -> Document {
        let exe = ["/usr/bin/pdftotext", "/usr/local/bin/pdftotext"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let exe else { throw .unsupported("PDF text needs poppler-utils (pdftotext); run the bootstrap") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["-enc", "UTF-8", path, "-"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw .unreadable("\(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw .unreadable("pdftotext failed: \(errText.prefix(200))") }
        var pages = String(decoding: data, as: UTF8.self).components(separatedBy: "\u{0C}")
        if pages.last?.allSatisfy(\.isWhitespace) == true && pages.count > 1 { pages.removeLast() }
        // Scanned pages (no text layer) are recognised with OCR; page numbers stay those of the PDF.
        let scanned = pages.indices.filter { pages[$0].allSatisfy(\.isWhitespace) }.map { $0 + 1 }
        if !scanned.isEmpty {
            let text = try recognise(path, pages: scanned)
            for (n, t) in zip(scanned, text) { pages[n - 1] = t }
        }
        if pages.allSatisfy({ $0.allSatisfy(\.isWhitespace) }) { throw .empty }
        return Document(kind: .pdf, pages: pages)
    }

    /// Page texts recognised by OCR (in the order of `pages`, or every page); a page that fails reads as empty.
    static func recognise(_ path: String, pages: [Int]?) throws(Skip) -> [String] {
        var options = OCROptions()
        options.mode = .text
        options.pages = pages
        options.useTextLayer = false
        do {
            let doc = try DocumentOCR.extract(path: path, options: options)
            let byPage = Dictionary(doc.pages.map { ($0.page, $0.text) }, uniquingKeysWith: { a, _ in a })
            let wanted = pages ?? Array(1...max(1, doc.pageCount))
            let texts = wanted.map { byPage[$0] ?? "" }
            if pages == nil, texts.allSatisfy({ $0.allSatisfy(\.isWhitespace) }) { throw Skip.empty }
            return texts
        } catch let e as Skip {
            throw e
        } catch {
            throw .unreadable("OCR: \(error)")
        }
    }
}

/// Visible text of an HTML page: scripts, styles and comments dropped, block elements as line breaks,
/// entities decoded.
enum HTMLText {
    static let blocks: Set<String> = ["p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer",
                                      "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "hr", "title", "dd", "dt", "nav", "main"]

    static func extract(_ html: String) -> String {
        var out = ""
        var s = Substring(html)
        while let lt = s.firstIndex(of: "<") {
            out += decode(s[..<lt])
            s = s[lt...]
            if s.hasPrefix("<!--") {
                s = s.firstRange(of: "-->").map { s[$0.upperBound...] } ?? ""
                continue
            }
            guard let gt = s.firstIndex(of: ">") else { s = ""; break }
            let tag = s[s.index(after: s.startIndex)..<gt]
            let name = tag.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }.lowercased()
            s = s[s.index(after: gt)...]
            if (name == "script" || name == "style") && !tag.hasPrefix("/") {
                let lower = s.lowercased()
                if let r = lower.firstRange(of: "</\(name)") {
                    s = s.dropFirst(lower.distance(from: lower.startIndex, to: r.upperBound))
                } else {
                    s = ""
                }
                if let close = s.firstIndex(of: ">") { s = s[s.index(after: close)...] }
                continue
            }
            if name.hasPrefix("h") && name.count == 2 && !tag.hasPrefix("/") { out += "\n\n" + String(repeating: "#", count: Int(String(name.last!)) ?? 1) + " " }
            else if blocks.contains(name) { out += "\n" }
        }
        out += decode(s)
        // Collapse runs of blank lines and trailing spaces.
        var lines: [String] = []
        for line in out.components(separatedBy: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty && (lines.last?.isEmpty ?? true) { continue }
            lines.append(t)
        }
        return lines.joined(separator: "\n")
    }

    static let entities: [String: String] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "mdash": "—",
                                             "ndash": "–", "hellip": "…", "copy": "©", "reg": "®", "rsquo": "’", "lsquo": "‘",
                                             "rdquo": "”", "ldquo": "“"]

    static func decode(_ s: Substring) -> String {
        guard s.contains("&") else { return String(s) }
        var out = ""
        var rest = s
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            rest = rest[amp...]
            guard let semi = rest.prefix(12).firstIndex(of: ";") else { out += "&"; rest = rest.dropFirst(); continue }
            let name = rest[rest.index(after: rest.startIndex)..<semi]
            var replacement: String? = entities[String(name)]
            if name.hasPrefix("#") {
                let num = name.dropFirst()
                let v = num.hasPrefix("x") || num.hasPrefix("X") ? UInt32(num.dropFirst(), radix: 16) : UInt32(num)
                replacement = v.flatMap(Unicode.Scalar.init).map { String(Character($0)) }
            }
            if let replacement { out += replacement; rest = rest[rest.index(after: semi)...] } else { out += "&"; rest = rest.dropFirst() }
        }
        return out + rest
    }
}
