import Documents
import Foundation
import XCTest

/// What `DocumentOCR` must read from rendered pages whose truth is known.
final class RecognitionTests: XCTestCase {
    func extract(_ name: String, mode: OCROptions.Mode = .all) throws -> OCRDocument {
        var o = OCROptions()
        o.mode = mode
        return try DocumentOCR.extract(path: EvaluationSet.path(name), options: o)
    }

    func testTextPageIsReadAlmostExactlyWithWordBoxes() throws {
        let doc = try extract("text-0-clean.png")
        let truth = try EvaluationSet.truth("text-0-clean.png")
        XCTAssertLessThan(EvaluationSet.cer(truth["text"] as! String, doc.text), 0.01)
        let page = try XCTUnwrap(doc.pages.first)
        XCTAssertEqual(page.source, "ocr")
        XCTAssertEqual(page.width, 2550)
        let words = page.blocks.flatMap(\.paragraphs).flatMap(\.lines).flatMap(\.words)
        XCTAssertGreaterThan(words.count, 50)
        for w in words { XCTAssertTrue(w.bbox.width > 0 && w.bbox.maxX <= page.width && w.bbox.maxY <= page.height) }
        XCTAssertGreaterThan(page.confidence, 80)
        XCTAssertEqual(doc.type?.kind, "other")
    }

    func testTwoColumnsReadLeftColumnFirst() throws {
        let doc = try extract("columns-0-clean.png", mode: .layout)
        let truth = try EvaluationSet.truth("columns-0-clean.png")
        XCTAssertLessThan(EvaluationSet.cer(truth["text"] as! String, doc.text), 0.02)
    }

    func testSkewedPageIsStraightened() throws {
        let doc = try extract("letter-0-skew.png")
        let truth = try EvaluationSet.truth("letter-0-skew.png")
        XCTAssertGreaterThan(abs(doc.pages[0].skewDegrees), 1)
        XCTAssertLessThan(EvaluationSet.cer(truth["text"] as! String, doc.text), 0.02)
        XCTAssertEqual(doc.type?.kind, "letter")
    }

    func testLowResolutionTextIsEnlargedAndBoxesMapBack() throws {
        let doc = try extract("text-0-lowres.png")
        let truth = try EvaluationSet.truth("text-0-lowres.png")
        XCTAssertLessThan(EvaluationSet.cer(truth["text"] as! String, doc.text), 0.03)
        let page = doc.pages[0]
        XCTAssertEqual(page.dpi, 100)
        let words = page.blocks.flatMap(\.paragraphs).flatMap(\.lines).flatMap(\.words)
        XCTAssertTrue(words.allSatisfy { $0.bbox.maxX <= page.width && $0.bbox.maxY <= page.height })
    }

    func grid(_ truth: [String: Any]) -> [[String]] { (truth["tables"] as! [[[String]]])[0] }

    func testRuledTableBecomesCells() throws {
        let doc = try extract("ruled-table-0-clean.png", mode: .tables)
        let t = try XCTUnwrap(doc.pages[0].tables.first)
        XCTAssertTrue(t.ruled)
        XCTAssertEqual(t.grid, grid(try EvaluationSet.truth("ruled-table-0-clean.png")))
        XCTAssertTrue(t.cells.allSatisfy { $0.rowSpan == 1 && $0.columnSpan == 1 })
        XCTAssertEqual(doc.type?.kind, "table")
        // Ruling lines are removed before recognition: no cell reads as "|text|".
        XCTAssertFalse(t.cells.contains { $0.text.contains("|") })
    }

    func testUnruledTableIsFoundFromColumnAlignment() throws {
        let doc = try extract("unruled-table-0-clean.png", mode: .tables)
        let t = try XCTUnwrap(doc.pages[0].tables.first)
        XCTAssertFalse(t.ruled)
        XCTAssertEqual(t.grid, grid(try EvaluationSet.truth("unruled-table-0-clean.png")))
    }

    func testFormFieldsAndTickBoxes() throws {
        let doc = try extract("form-0-clean.png", mode: .forms)
        let truth = try EvaluationSet.truth("form-0-clean.png")
        let page = doc.pages[0]
        for f in truth["fields"] as! [[String: String]] {
            XCTAssertTrue(page.fields.contains { $0.key == f["key"] && $0.value == f["value"] }, "missing \(f); got \(page.fields.map { ($0.key, $0.value) })")
        }
        XCTAssertTrue(page.fields.contains { $0.source == "box" })
        let boxes = truth["checkboxes"] as! [[String: Any]]
        XCTAssertEqual(page.checkboxes.count, boxes.count)
        for b in boxes {
            let got = page.checkboxes.first { $0.label == b["label"] as? String }
            XCTAssertEqual(got?.checked, b["checked"] as? Bool, "\(b)")
        }
        XCTAssertEqual(doc.type?.kind, "form")
    }

    func testInvoiceIsTypedWithEvidence() throws {
        let doc = try extract("invoice-0-clean.png")
        XCTAssertEqual(doc.type?.kind, "invoice")
        XCTAssertTrue(doc.type?.evidence.contains("“invoice”") ?? false)
        let truth = try EvaluationSet.truth("invoice-0-clean.png")
        let total = (truth["fields"] as! [[String: String]]).first { $0["key"] == "Total" }!["value"]!
        XCTAssertTrue(doc.pages[0].fields.contains { $0.key == "Total" && $0.value == total })
    }

    func testMarkdownHasTablesAndTaskItems() throws {
        let table = MarkdownRenderer.render(try extract("ruled-table-0-clean.png"))
        XCTAssertTrue(table.contains("| Item | Qty |"), table)
        XCTAssertTrue(table.contains("| --- |"))
        let form = MarkdownRenderer.render(try extract("form-0-clean.png"))
        XCTAssertTrue(form.contains("- [x] ") || form.contains("- [ ] "), form)
    }

    func testHOCRIsPassedThroughWhenAsked() throws {
        var o = OCROptions()
        o.hocr = true
        let doc = try DocumentOCR.extract(path: EvaluationSet.path("invoice-0-clean.png"), options: o)
        XCTAssertTrue(doc.pages[0].hocr?.contains("ocr_page") ?? false)
        XCTAssertNil(try extract("invoice-0-clean.png").pages[0].hocr)
    }

    func testTextModeSkipsLayout() throws {
        let doc = try extract("text-0-clean.png", mode: .text)
        XCTAssertTrue(doc.pages[0].blocks.isEmpty)
        XCTAssertFalse(doc.text.isEmpty)
    }
}
