import Foundation

/// A rectangle in page pixels (origin top left) at the page's `dpi`.
public struct BoundingBox: Codable, Sendable, Hashable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) { self.x = x; self.y = y; self.width = width; self.height = height }
    public init(minX: Int, minY: Int, maxX: Int, maxY: Int) { self.init(x: minX, y: minY, width: max(0, maxX - minX), height: max(0, maxY - minY)) }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var midX: Int { x + width / 2 }
    public var midY: Int { y + height / 2 }
    public func union(_ o: BoundingBox) -> BoundingBox {
        BoundingBox(minX: min(x, o.x), minY: min(y, o.y), maxX: max(maxX, o.maxX), maxY: max(maxY, o.maxY))
    }
    public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
    func scaled(_ s: Double) -> BoundingBox {
        BoundingBox(minX: Int((Double(x) * s).rounded()), minY: Int((Double(y) * s).rounded()),
                    maxX: Int((Double(maxX) * s).rounded()), maxY: Int((Double(maxY) * s).rounded()))
    }
    static func enclosing(_ boxes: [BoundingBox]) -> BoundingBox? { boxes.dropFirst().reduce(boxes.first) { $0?.union($1) } }
}

public struct OCRWord: Codable, Sendable, Equatable {
    public var text: String
    public var bbox: BoundingBox
    /// 0–100, as Tesseract reports it; 100 for words from a PDF's text layer.
    public var confidence: Double
}

public struct OCRLine: Codable, Sendable {
    public var text: String
    public var bbox: BoundingBox
    public var words: [OCRWord]
}

public struct OCRParagraph: Codable, Sendable {
    public var bbox: BoundingBox
    public var lines: [OCRLine]
    public var text: String { lines.map(\.text).joined(separator: "\n") }
}

public struct OCRBlock: Codable, Sendable {
    public var bbox: BoundingBox
    public var paragraphs: [OCRParagraph]
    public var text: String { paragraphs.map(\.text).joined(separator: "\n\n") }
}

public struct TableCell: Codable, Sendable, Equatable {
    public var row: Int, column: Int, rowSpan: Int, columnSpan: Int
    public var text: String
    public var bbox: BoundingBox
}

public struct OCRTable: Codable, Sendable {
    public var bbox: BoundingBox
    /// Ruled tables are found from their lines; unruled ones from the alignment of word columns.
    public var ruled: Bool
    public var rows: Int, columns: Int
    public var cells: [TableCell]

    /// The cell text as a grid; a spanning cell fills its first slot.
    public var grid: [[String]] {
        var g = Array(repeating: Array(repeating: "", count: columns), count: rows)
        for c in cells where c.row < rows && c.column < columns { g[c.row][c.column] = c.text }
        return g
    }
}

public struct FormField: Codable, Sendable, Equatable {
    public var key: String
    public var value: String
    public var keyBBox: BoundingBox
    public var valueBBox: BoundingBox?
    /// How the pair was found: `colon` ("Label: value"), `box` (label above or beside a box) or `underline`.
    public var source: String
}

public struct Checkbox: Codable, Sendable, Equatable {
    public var label: String
    public var checked: Bool
    public var bbox: BoundingBox
    /// Share of ink inside the box, which decides `checked`.
    public var fill: Double
}

public struct DocumentType: Codable, Sendable, Equatable {
    /// invoice, receipt, letter, form, table or other.
    public var kind: String
    public var confidence: Double
    public var evidence: [String]
}

public struct OCRPage: Codable, Sendable {
    public var page: Int
    public var width: Int, height: Int, dpi: Int
    /// `ocr` for recognised pixels, `text-layer` for a PDF page that carries its own text.
    public var source: String
    public var skewDegrees: Double
    public var confidence: Double
    public var text: String
    public var blocks: [OCRBlock]
    public var tables: [OCRTable]
    public var fields: [FormField]
    public var checkboxes: [Checkbox]
    public var hocr: String?
    public var seconds: Double
}

public struct PageFailure: Codable, Sendable, Equatable {
    public var page: Int
    public var error: String
    public init(page: Int, error: String) { self.page = page; self.error = error }
}

public struct OCRDocument: Codable, Sendable {
    public var path: String
    public var pageCount: Int
    public var pages: [OCRPage]
    public var failures: [PageFailure]
    public var type: DocumentType?
    public var text: String { pages.map(\.text).joined(separator: "\n\u{0C}\n") }
}
