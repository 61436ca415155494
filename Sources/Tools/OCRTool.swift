import Documents
import Foundation
import JSONSchema
import Orchestrator

/// `ocr_extract`: images and PDFs to text, layout, tables and fields, with progress per page.
public struct OCRExtractTool: Tool {
    public let descriptor = ToolCatalog.descriptor("ocr_extract")
    let sandbox: RootSandbox
    let defaults: OCROptions

    public init(sandbox: RootSandbox, defaults: OCROptions = OCROptions()) {
        self.sandbox = sandbox
        self.defaults = defaults
    }

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let path: String
        do { path = try sandbox.resolve(arguments["path"]?.stringValue ?? "").path } catch { throw ToolError.failed("\(error)") }
        var options = defaults
        if let m = arguments["mode"]?.stringValue, let mode = OCROptions.Mode(rawValue: m) { options.mode = mode }
        if let langs = arguments["languages"]?.arrayValue?.compactMap(\.stringValue), !langs.isEmpty { options.languages = langs.joined(separator: "+") }
        if let list = arguments["pages"]?.arrayValue { options.pages = list.compactMap(\.intValue) }
        if let s = arguments["pages"]?.stringValue { options.pages = try Self.pageList(s) }
        options.hocr = arguments["hocr"]?.boolValue ?? false
        let markdown = arguments["format"]?.stringValue == "markdown"

        let flag = OneWaySwitch()
        let deadline = context.deadline
        let opts = options
        let doc: OCRDocument = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (k: CheckedContinuation<OCRDocument, Error>) in
                // Tesseract blocks its thread for seconds per page: keep it off the cooperative pool.
                Thread.detachNewThread {
                    k.resume(with: Result {
                        try DocumentOCR.extract(path: path, options: opts, progress: { done, total, page in
                            context.progress(Double(done), total: Double(total), message: "page \(page) recognised")
                        }, isCancelled: { flag.isSet || deadline.map { Date() >= $0 } == true })
                    })
                }
            }
        } onCancel: { flag.set() }
        var out = Self.json(doc)
        if markdown, case .object(var o) = out {
            o["markdown"] = .string(MarkdownRenderer.render(doc))
            out = .object(o)
        }
        let summary = "\(doc.pages.count) page\(doc.pages.count == 1 ? "" : "s") read" + (doc.type.map { ", looks like a \($0.kind)" } ?? "")
            + (doc.failures.isEmpty ? "" : "; failed: " + doc.failures.map { "page \($0.page): \($0.error)" }.joined(separator: "; "))
        return ToolOutput(structured: out, text: summary + "\n\n" + (markdown ? MarkdownRenderer.render(doc) : doc.text))
    }

    /// The OCR defaults a configuration's `ocr` section sets.
    public static func options(_ c: AtelierConfig.OCR?) -> OCROptions {
        var o = OCROptions()
        guard let c else { return o }
        if let v = c.languages { o.languages = v }
        if let v = c.maxPixels { o.maxPixels = v }
        if let v = c.maxBytes { o.maxBytes = v }
        if let v = c.pdfDPI { o.pdfDPI = v }
        if let v = c.workers { o.workers = v }
        return o
    }

    /// The document as JSON, with `text` at the top for readers that want only that.
    public static func json(_ doc: OCRDocument) -> JSONValue {
        guard case .object(var o) = JSONValue(encoding: doc) else { return .null }
        o["text"] = .string(doc.text)
        if doc.type == nil { o["type"] = .null }
        return .object(o)
    }

    /// "1,3-5" → [1, 3, 4, 5].
    public static func pageList(_ s: String) throws -> [Int] {
        var out: [Int] = []
        for part in s.split(separator: ",") {
            let raw = part.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let ends = raw.compactMap { Int($0) }
            guard ends.count == raw.count, (1...2).contains(ends.count), let a = ends.first, let b = ends.last, a >= 1, a <= b, b - a < 100_000 else {
                throw ToolError.failed("pages: '\(part)' is not a page or a range like 3-5")
            }
            out += Array(a...b)
        }
        return out
    }
}
