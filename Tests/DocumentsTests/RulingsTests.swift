@testable import Documents
import XCTest

/// Drawn lines become table grids with spans, boxes and underlines; text strokes never count.
final class RulingsTests: XCTestCase {
    func page(width: Int = 420, height: Int = 320, _ draw: (inout Bitmap) -> Void) -> Bitmap {
        var b = Bitmap(width: width, height: height, pixels: Array(repeating: 0, count: width * height))
        draw(&b)
        return b
    }

    func hline(_ b: inout Bitmap, y: Int, from x0: Int, to x1: Int) {
        for yy in y..<(y + 2) { for x in x0..<x1 { b.pixels[yy * b.width + x] = 1 } }
    }

    func vline(_ b: inout Bitmap, x: Int, from y0: Int, to y1: Int) {
        for y in y0..<y1 { for xx in x..<(x + 2) { b.pixels[y * b.width + xx] = 1 } }
    }

    func testGridWithAMergedCellKeepsItsSpan() throws {
        let ink = page { b in
            for y in [10, 60, 110, 160] { hline(&b, y: y, from: 10, to: 312) }
            for x in [10, 210, 310] { vline(&b, x: x, from: 10, to: 162) }
            // The line between the first two columns is missing in the middle row: one cell spans both.
            vline(&b, x: 110, from: 10, to: 62)
            vline(&b, x: 110, from: 110, to: 162)
        }
        let r = Rulings(ink: ink, textHeight: 20)
        let grid = try XCTUnwrap(r.grids.first)
        XCTAssertEqual(grid.rows, 3)
        XCTAssertEqual(grid.columns, 3)
        XCTAssertEqual(grid.cells.count, 8)
        let merged = try XCTUnwrap(grid.cells.first { $0.row == 1 && $0.column == 0 })
        XCTAssertEqual(merged.columnSpan, 2)
        XCTAssertEqual(merged.rowSpan, 1)
        XCTAssertTrue(r.underlines.isEmpty)
    }

    func testSingleBoxAndFreeUnderline() {
        let ink = page { b in
            hline(&b, y: 20, from: 20, to: 220); hline(&b, y: 70, from: 20, to: 220)
            vline(&b, x: 20, from: 20, to: 72); vline(&b, x: 218, from: 20, to: 72)
            hline(&b, y: 200, from: 40, to: 400)
        }
        let r = Rulings(ink: ink, textHeight: 20)
        XCTAssertTrue(r.grids.isEmpty)
        XCTAssertEqual(r.boxes.count, 1)
        XCTAssertEqual(r.underlines.count, 1)
    }

    func testShortRunsAndSolidInkAreNotLines() {
        let ink = page { b in
            hline(&b, y: 40, from: 20, to: 70)                       // shorter than 6 text heights: a stroke, not an underline
            for y in 150..<170 { for x in 20..<300 { b.pixels[y * b.width + x] = 1 } }  // a solid band (bold, blurred text)
        }
        let r = Rulings(ink: ink, textHeight: 20)
        XCTAssertTrue(r.underlines.isEmpty)
        XCTAssertTrue(r.lineRects.isEmpty)
    }

    func testXYCutReadsColumnsBeforeMovingRight() {
        let title = BoundingBox(x: 0, y: 0, width: 400, height: 30)
        let left = [BoundingBox(x: 0, y: 50, width: 180, height: 100), BoundingBox(x: 0, y: 170, width: 180, height: 100)]
        let right = [BoundingBox(x: 220, y: 50, width: 180, height: 60), BoundingBox(x: 220, y: 130, width: 180, height: 140)]
        let order = ReadingOrder.sort([right[1], left[1], title, right[0], left[0]]) { $0 }
        XCTAssertEqual(order, [title, left[0], left[1], right[0], right[1]])
    }
}
