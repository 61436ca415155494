import Foundation

/// Words regrouped into visual rows across the whole page (Tesseract's lines stop at block edges,
/// and it often cuts a table into column blocks), each row split into segments at wide gaps.
struct WordRows {
    struct Row {
        var words: [OCRWord]
        var bbox: BoundingBox
        var segments: [[OCRWord]]
    }

    var rows: [Row]
    /// Median word height: the unit for gaps and distances.
    let unit: Double

    init(words: [OCRWord], gapFactor: Double = 1.2) {
        let heights = words.map(\.bbox.height).sorted()
        let unit = Double(heights.isEmpty ? 20 : max(6, heights[heights.count / 2]))
        self.unit = unit
        var rows: [Row] = []
        for w in words.sorted(by: { ($0.bbox.midY, $0.bbox.x) < ($1.bbox.midY, $1.bbox.x) }) {
            // A word joins the row it overlaps vertically by at least half its height.
            if let k = rows.lastIndex(where: { r in
                let overlap = min(r.bbox.maxY, w.bbox.maxY) - max(r.bbox.y, w.bbox.y)
                return Double(overlap) >= 0.5 * Double(min(w.bbox.height, r.bbox.height)) && abs(r.bbox.midY - w.bbox.midY) < Int(unit)
            }) {
                rows[k].words.append(w)
                rows[k].bbox = rows[k].bbox.union(w.bbox)
            } else {
                rows.append(Row(words: [w], bbox: w.bbox, segments: []))
            }
        }
        let gap = Int(unit * gapFactor)
        for i in rows.indices {
            rows[i].words.sort { $0.bbox.x < $1.bbox.x }
            var segs: [[OCRWord]] = []
            for w in rows[i].words {
                if let last = segs.last?.last, w.bbox.x - last.bbox.maxX <= gap { segs[segs.count - 1].append(w) } else { segs.append([w]) }
            }
            rows[i].segments = segs
        }
        self.rows = rows.sorted { $0.bbox.y < $1.bbox.y }
    }

    static func text(_ words: [OCRWord]) -> String { words.map(\.text).joined(separator: " ") }
    static func box(_ words: [OCRWord]) -> BoundingBox { BoundingBox.enclosing(words.map(\.bbox)) ?? BoundingBox(x: 0, y: 0, width: 0, height: 0) }
}
