import Documents
import Foundation
import XCTest

/// Multi-page inputs, PDFs, and bad input: each refused with a precise error, other pages kept.
final class DocumentInputTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-ocr-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func write(_ name: String, _ data: Data) throws -> String {
        let p = scratch.appendingPathComponent(name).path
        try data.write(to: URL(fileURLWithPath: p))
        return p
    }

    func error(_ path: String, _ options: OCROptions = OCROptions()) -> OCRError? {
        do { _ = try DocumentOCR.extract(path: path, options: options); return nil } catch { return error as? OCRError }
    }

    func testMultiPageTIFFReadsEveryPageInOrder() throws {
        let doc = try DocumentOCR.extract(path: EvaluationSet.path("multipage.tif"))
        XCTAssertEqual(doc.pageCount, 3)
        XCTAssertEqual(doc.pages.map(\.page), [1, 2, 3])
        XCTAssertFalse(doc.pages[1].tables.isEmpty)
        XCTAssertFalse(doc.pages[2].checkboxes.isEmpty)
    }

    func testPageSelectionAndOutOfRangePages() throws {
        var o = OCROptions()
        o.pages = [3, 9]
        let doc = try DocumentOCR.extract(path: EvaluationSet.path("multipage.tif"), options: o)
        XCTAssertEqual(doc.pages.map(\.page), [3])
        XCTAssertEqual(doc.failures, [PageFailure(page: 9, error: "page 9 does not exist (the document has 3 pages)")])
        o.pages = [7]
        XCTAssertEqual(error(EvaluationSet.path("multipage.tif"), o), .pageOutOfRange(7, pages: 3))
    }

    func testPDFTextLayerIsUsedWithoutRecognition() throws {
        let doc = try DocumentOCR.extract(path: EvaluationSet.path("textlayer.pdf"))
        let truth = try EvaluationSet.extras()["textlayer.pdf"]!
        XCTAssertEqual(doc.pages.map(\.source), ["text-layer", "text-layer"])
        for (p, t) in zip(doc.pages, truth) { XCTAssertEqual(EvaluationSet.cer(t["text"] as! String, p.text), 0) }
        XCTAssertEqual(doc.pages[0].width, 2550)
    }

    func testScannedPDFPagesAreRenderedAndRecognised() throws {
        let doc = try DocumentOCR.extract(path: EvaluationSet.path("scanned.pdf"))
        let truth = try EvaluationSet.extras()["scanned.pdf"]!
        XCTAssertEqual(doc.pages.map(\.source), ["ocr", "ocr"])
        XCTAssertLessThan(EvaluationSet.cer(truth[0]["text"] as! String, doc.pages[0].text), 0.01)
        XCTAssertFalse(doc.pages[1].tables.isEmpty)
    }

    func testEncryptedPDFIsRefusedWithAdvice() {
        XCTAssertEqual(error(EvaluationSet.path("encrypted.pdf")), .encryptedPDF(EvaluationSet.path("encrypted.pdf")))
        XCTAssertTrue(OCRError.encryptedPDF("x").description.contains("qpdf --decrypt"))
    }

    func testMissingEmptyAndUnsupportedFiles() throws {
        XCTAssertEqual(error(scratch.appendingPathComponent("nope.png").path), .notFound(scratch.appendingPathComponent("nope.png").path))
        let empty = try write("empty.png", Data())
        XCTAssertEqual(error(empty), .empty(empty))
        let text = try write("notes.txt", Data("just some text\n".utf8))
        guard case .unsupportedFormat = error(text) else { return XCTFail("text file accepted") }
    }

    func testCorruptAndTruncatedImages() throws {
        let png = try Data(contentsOf: URL(fileURLWithPath: EvaluationSet.path("text-0-clean.png")))
        let truncated = try write("truncated.png", png.prefix(png.count / 3))
        let garbage = try write("garbage.png", png.prefix(64) + Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
        for p in [truncated, garbage] {
            switch error(p) {
            case .corrupt?, .unsupportedFormat?: break
            case let e: XCTFail("\(p): \(String(describing: e))")
            }
        }
    }

    func testDecompressionBombIsRefusedFromItsHeader() throws {
        // A PNG whose header claims 200000×200000 pixels, with almost no data behind it.
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            return be(UInt32(body.count)) + typed + be(crc32(typed))
        }
        let ihdr = be(200_000) + be(200_000) + [8, 0, 0, 0, 0]
        let png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + chunk("IEND", [])
        let bomb = try write("bomb.png", Data(png))
        XCTAssertEqual(error(bomb), .tooLarge(bomb, width: 200000, height: 200000, limit: OCROptions().maxPixels))
    }

    func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (c & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~c
    }

    func testMissingLanguagePackNamesWhatIsInstalled() {
        var o = OCROptions()
        o.languages = "eng+xyz"
        guard case .languageMissing("xyz", let available)? = error(EvaluationSet.path("text-0-clean.png"), o) else { return XCTFail() }
        XCTAssertTrue(available.contains("eng"))
    }

    func testCancellationStopsRecognition() {
        var o = OCROptions()
        o.workers = 1
        XCTAssertThrowsError(try DocumentOCR.extract(path: EvaluationSet.path("multipage.tif"), options: o, isCancelled: { true })) {
            XCTAssertEqual($0 as? OCRError, .cancelled)
        }
    }

    func testProgressIsReportedPerPage() throws {
        let seen = Seen()
        _ = try DocumentOCR.extract(path: EvaluationSet.path("multipage.tif"), progress: { done, total, page in seen.add(done, total, page) })
        XCTAssertEqual(seen.all.map(\.0).sorted(), [1, 2, 3])
        XCTAssertTrue(seen.all.allSatisfy { $0.1 == 3 })
        XCTAssertEqual(Set(seen.all.map(\.2)), [1, 2, 3])
    }

    final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var all: [(Int, Int, Int)] = []
        func add(_ a: Int, _ b: Int, _ c: Int) { lock.withLock { all.append((a, b, c)) } }
    }
}
