import ArgumentParser
import Documents
import Foundation
import JSONSchema
import Tools

struct OCRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocr",
        abstract: "Images and PDFs to text, layout, tables and form fields (Tesseract).",
        discussion: "With several files, --json prints one JSON document per line. Pages of a file run in parallel; one engine per core.")

    @Argument(help: "Images (PNG, JPEG, TIFF, BMP, PNM, GIF, WebP) or PDFs.") var files: [String]
    @Flag(name: .long, help: "Print the whole result as JSON (see schemas/tools/ocr_extract.json).") var json = false
    @Flag(name: .long, help: "Print Markdown: paragraphs, tables as Markdown tables, tick boxes as task items.") var markdown = false
    @Option(name: .long, help: "Pages to read, e.g. 1,3-5 (1-based).") var pages: String?
    @Option(name: .long, help: "text, layout, tables, forms or all.") var mode: String = "all"
    @Option(name: .long, help: "Tesseract languages, e.g. eng+deu (default: the config's ocr.languages, else eng).") var languages: String?
    @Option(name: .long, help: "Pre-processing steps deskew, rescale, binarize, denoise; prefix no- to switch one off (defaults: deskew, rescale, denoise when the page is speckled; no-denoise never denoises, denoise always does).") var preprocess: String?
    @Flag(name: .long, help: "Include Tesseract's hOCR for each page (JSON only).") var hocr = false
    @Flag(name: .long, help: "Recognise PDF pages even when they carry text.") var ignoreTextLayer = false
    @Option(name: .long, help: "Pages recognised at once (default: one per core).") var workers: Int?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if json && markdown { throw ValidationError("choose one of --json and --markdown") }
        if OCROptions.Mode(rawValue: mode) == nil { throw ValidationError("--mode must be text, layout, tables, forms or all") }
    }

    func run() throws {
        Log.level = common.logLevel
        var options = OCRExtractTool.options(try common.loadConfig()?.ocr)
        options.mode = OCROptions.Mode(rawValue: mode)!
        if let languages { options.languages = languages }
        options.hocr = hocr
        options.useTextLayer = !ignoreTextLayer
        if let workers { options.workers = max(1, workers) }
        if let pages {
            do { options.pages = try OCRExtractTool.pageList(pages) } catch { throw ValidationError("--\(error)") }
        }
        if let preprocess { options.preprocess = try Self.preprocessing(preprocess) }
        // Several files: one file per worker (pages of a file run on the same worker), results printed
        // in the order given as soon as they are ready.
        let parallelFiles = files.count > 1 ? min(files.count, options.workers) : 1
        if parallelFiles > 1 { options.workers = 1 }
        let output = OrderedOutput(count: files.count)
        let opts = options, files = self.files, emit = self.emit
        DispatchQueue.concurrentPerform(iterations: parallelFiles) { _ in
            while let i = output.take() {
                let file = files[i]
                let result = Result {
                    try DocumentOCR.extract(path: file, options: opts) { done, total, page in
                        Log.info("\(file): page \(page) (\(done)/\(total))")
                    }
                }
                output.finish(i) { emit(file, result) }
            }
        }
        if output.failed { throw ExitCode(1) }
    }

    /// Prints one file's result; returns false when the file or one of its pages failed.
    func emit(_ file: String, _ result: Result<OCRDocument, Error>) -> Bool {
        switch result {
        case .failure(let error):
            if json {
                printJSON(JSONValue.object(JSONObject([("path", .string(file)), ("error", .string("\(error)"))])), pretty: false)
            } else {
                FileHandle.standardError.write(Data("atelier ocr: \(error)\n".utf8))
            }
            return false
        case .success(let doc):
            for f in doc.failures { FileHandle.standardError.write(Data("atelier ocr: \(file): page \(f.page): \(f.error)\n".utf8)) }
            if json {
                printJSON(OCRExtractTool.json(doc), pretty: files.count == 1)
            } else if markdown {
                print(MarkdownRenderer.render(doc))
            } else {
                print(doc.text)
            }
            return doc.failures.isEmpty
        }
    }

    /// Hands out file indices and prints finished results in input order.
    final class OrderedOutput: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0, printed = 0
        private var ready: [Int: () -> Bool] = [:]
        private(set) var failed = false
        let count: Int
        init(count: Int) { self.count = count }
        func take() -> Int? { lock.withLock { guard next < count else { return nil }; next += 1; return next - 1 } }
        func finish(_ i: Int, _ print: @escaping () -> Bool) {
            lock.withLock {
                ready[i] = print
                while let p = ready.removeValue(forKey: printed) {
                    if !p() { failed = true }
                    printed += 1
                }
            }
        }
    }

    static func preprocessing(_ s: String) throws -> PreprocessOptions {
        var p = PreprocessOptions()
        for raw in s.split(separator: ",") {
            let item = raw.trimmingCharacters(in: .whitespaces)
            let on = !item.hasPrefix("no-")
            switch item.hasPrefix("no-") ? String(item.dropFirst(3)) : item {
            case "deskew": p.deskew = on
            case "rescale": p.rescale = on
            case "binarize": p.binarize = on
            case "denoise": p.denoise = on; if !on { p.autoDenoise = false }
            default: throw ValidationError("--preprocess: unknown step '\(item)' (deskew, rescale, binarize, denoise; prefix no- to switch off)")
            }
        }
        return p
    }
}
