import Foundation

/// Tables as cells: ruled ones from their grid, unruled ones from runs of rows whose word segments
/// line up in the same columns.
enum TableExtractor {
    static func ruled(_ grid: Rulings.Grid, words: [OCRWord]) -> OCRTable {
        let cells = grid.cells.map { c -> TableCell in
            let box = grid.box(c)
            let inside = words.filter { box.contains(x: $0.bbox.midX, y: $0.bbox.midY) }
            return TableCell(row: c.row, column: c.column, rowSpan: c.rowSpan, columnSpan: c.columnSpan,
                             text: readingText(inside), bbox: box)
        }
        return OCRTable(bbox: grid.bbox, ruled: true, rows: grid.rows, columns: grid.columns, cells: cells)
    }

    /// Words in reading order: by row, then left to right.
    static func readingText(_ words: [OCRWord]) -> String {
        WordRows(words: words, gapFactor: 1e9).rows.map { WordRows.text($0.words) }.joined(separator: " ")
    }

    /// Runs of ≥ 3 consecutive rows with ≥ 2 segments each that share one column structure.
    /// Rows that read as "Label: value" pairs or as running text are not table rows.
    static func unruled(rows: WordRows, excluding taken: [BoundingBox]) -> [OCRTable] {
        let unit = rows.unit
        func isTableRow(_ r: WordRows.Row) -> Bool {
            guard r.segments.count >= 2 else { return false }
            if taken.contains(where: { $0.contains(x: r.bbox.midX, y: r.bbox.midY) }) { return false }
            let keyed = r.segments.filter { s in s.contains { $0.text.hasSuffix(":") && $0.text.count > 1 } }.count
            if keyed * 2 >= r.segments.count { return false }
            let words = r.segments.reduce(0) { $0 + $1.count }
            return Double(words) / Double(r.segments.count) <= 4
        }
        var tables: [OCRTable] = []
        var i = 0
        let all = rows.rows
        while i < all.count {
            guard isTableRow(all[i]) else { i += 1; continue }
            var j = i + 1
            while j < all.count, isTableRow(all[j]), Double(all[j].bbox.y - all[j - 1].bbox.maxY) < 2.5 * unit { j += 1 }
            if j - i >= 3, let t = table(Array(all[i..<j])) { tables.append(t) }
            i = j
        }
        return tables
    }

    static func table(_ rows: [WordRows.Row]) -> OCRTable? {
        // Columns: the union of segment extents across rows; a segment overlapping two columns joins them.
        var columns: [(Int, Int)] = []
        for s in rows.flatMap(\.segments) {
            let b = WordRows.box(s)
            var lo = b.x, hi = b.maxX
            columns.removeAll { c in
                let overlap = c.0 < hi && lo < c.1
                if overlap { lo = min(lo, c.0); hi = max(hi, c.1) }
                return overlap
            }
            columns.append((lo, hi))
        }
        columns.sort { $0.0 < $1.0 }
        guard columns.count >= 2 else { return nil }
        // Most rows must fill at least two of the columns, or this is ragged text.
        let filled = rows.filter { r in Set(r.segments.compactMap { s in column(of: WordRows.box(s), in: columns) }).count >= 2 }.count
        guard Double(filled) >= 0.7 * Double(rows.count) else { return nil }
        var cells: [TableCell] = []
        for (ri, r) in rows.enumerated() {
            var byColumn: [Int: [OCRWord]] = [:]
            for s in r.segments { if let c = column(of: WordRows.box(s), in: columns) { byColumn[c, default: []] += s } }
            for c in columns.indices {
                let words = byColumn[c] ?? []
                let box = words.isEmpty ? BoundingBox(minX: columns[c].0, minY: r.bbox.y, maxX: columns[c].1, maxY: r.bbox.maxY) : WordRows.box(words)
                cells.append(TableCell(row: ri, column: c, rowSpan: 1, columnSpan: 1, text: WordRows.text(words), bbox: box))
            }
        }
        let bbox = BoundingBox.enclosing(rows.map(\.bbox))!
        return OCRTable(bbox: bbox, ruled: false, rows: rows.count, columns: columns.count, cells: cells)
    }

    static func column(of b: BoundingBox, in columns: [(Int, Int)]) -> Int? {
        columns.firstIndex { b.x < $0.1 && $0.0 < b.maxX }
    }
}
