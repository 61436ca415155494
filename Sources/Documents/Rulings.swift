import Foundation

/// The drawn lines of a page: ruled-table grids, single boxes (form fields) and free-standing
/// underlines. Found from long ink runs, so text strokes never count as lines.
struct Rulings {
    /// A table's grid: row and column boundaries with the cells that spans leave.
    struct Grid {
        var bbox: BoundingBox
        var rowEdges: [Int]
        var columnEdges: [Int]
        /// Cells as (row, column, rowSpan, columnSpan).
        var cells: [(row: Int, column: Int, rowSpan: Int, columnSpan: Int)]
        var rows: Int { rowEdges.count - 1 }
        var columns: Int { columnEdges.count - 1 }
        func box(_ c: (row: Int, column: Int, rowSpan: Int, columnSpan: Int)) -> BoundingBox {
            BoundingBox(minX: columnEdges[c.column], minY: rowEdges[c.row], maxX: columnEdges[c.column + c.columnSpan], maxY: rowEdges[c.row + c.rowSpan])
        }
    }

    var grids: [Grid] = []
    var boxes: [BoundingBox] = []
    /// Horizontal lines touching no vertical one: underlines of form fields, or separators.
    var underlines: [BoundingBox] = []
    /// Every line's pixels, to be whitened before recognition.
    var lineRects: [BoundingBox] = []

    init(ink: Bitmap, textHeight: Double) {
        let th = max(8.0, textHeight)
        let maxThick = max(3, Int(th / 3))
        let gap = max(2, Int(th / 10))
        let hs = ink.lineSegments(horizontal: true, minLength: max(30, Int(th * 2.5)), maxThickness: maxThick, maxGap: gap)
            .map { BoundingBox(minX: $0.start, minY: $0.first, maxX: $0.end, maxY: $0.last + 1) }
            .filter { Self.isolated($0, horizontal: true, ink: ink) }
        let tol = max(3, Int(th / 4))
        func touches(_ h: BoundingBox, _ v: BoundingBox) -> Bool {
            v.x <= h.maxX + tol && v.maxX >= h.x - tol && h.y <= v.maxY + tol && h.maxY >= v.y - tol
        }
        // A vertical line of a structure joins two horizontal ones; a letter stem touching an underline does not.
        let vs = ink.lineSegments(horizontal: false, minLength: max(16, Int(th * 1.6)), maxThickness: maxThick, maxGap: gap)
            .map { BoundingBox(minX: $0.first, minY: $0.start, maxX: $0.last + 1, maxY: $0.end) }
            .filter { v in hs.filter { touches($0, v) }.count >= 2 }
            .filter { Self.isolated($0, horizontal: false, ink: ink) }
        // Group lines that touch into connected structures (union-find over h and v lines).
        let all = hs + vs
        var parent = Array(all.indices)
        func find(_ i: Int) -> Int { var i = i; while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }; return i }
        for (i, h) in hs.enumerated() {
            for (j, v) in vs.enumerated() where touches(h, v) { parent[find(i)] = find(hs.count + j) }
        }
        var groups: [Int: [Int]] = [:]
        for i in all.indices { groups[find(i), default: []].append(i) }
        for members in groups.values.sorted(by: { $0.min()! < $1.min()! }) {
            let gh = members.filter { $0 < hs.count }.map { hs[$0] }
            let gv = members.filter { $0 >= hs.count }.map { vs[$0 - hs.count] }
            if gv.isEmpty {
                // Free-standing lines must be long: blurred letters merge into short runs along a baseline.
                let long = gh.filter { Double($0.width) >= 6 * th }
                underlines.append(contentsOf: long)
                lineRects.append(contentsOf: long)
                continue
            }
            // Stray vertical strokes (a long bracket, a bar) are not lines of a structure.
            guard gh.count >= 2, gv.count >= 2 else { continue }
            lineRects.append(contentsOf: gh + gv)
            guard let grid = Self.grid(horizontal: gh, vertical: gv, tolerance: tol) else { continue }
            if grid.cells.count == 1 { boxes.append(grid.bbox) } else { grids.append(grid) }
        }
    }

    /// A drawn line has clear paper on at least one side; a row of blurred or bold text that happens
    /// to form a long run has ink on both.
    static func isolated(_ b: BoundingBox, horizontal: Bool, ink: Bitmap) -> Bool {
        let off = 3, band = 3
        let sides = horizontal
            ? [BoundingBox(minX: b.x, minY: b.y - off - band, maxX: b.maxX, maxY: b.y - off), BoundingBox(minX: b.x, minY: b.maxY + off, maxX: b.maxX, maxY: b.maxY + off + band)]
            : [BoundingBox(minX: b.x - off - band, minY: b.y, maxX: b.x - off, maxY: b.maxY), BoundingBox(minX: b.maxX + off, minY: b.y, maxX: b.maxX + off + band, maxY: b.maxY)]
        let density = sides.map { Double(ink.count(in: $0)) / Double(max(1, $0.width * $0.height)) }
        return density.min()! < 0.35
    }

    /// Boundaries from clustered line positions, then spans wherever a boundary is missing for most of a cell side.
    static func grid(horizontal: [BoundingBox], vertical: [BoundingBox], tolerance: Int) -> Grid? {
        let rowEdges = cluster(horizontal.map(\.midY), tolerance: tolerance)
        let colEdges = cluster(vertical.map(\.midX), tolerance: tolerance)
        guard rowEdges.count >= 2, colEdges.count >= 2 else { return nil }
        let R = rowEdges.count - 1, C = colEdges.count - 1
        func covered(_ lines: [BoundingBox], at pos: Int, from a: Int, to b: Int, vertical: Bool) -> Bool {
            var spans: [(Int, Int)] = []
            for l in lines {
                let (p, s, e) = vertical ? (l.midX, l.y, l.maxY) : (l.midY, l.x, l.maxX)
                if abs(p - pos) <= tolerance { spans.append((max(a, s - tolerance), min(b, e + tolerance))) }
            }
            let len = spans.filter { $0.0 < $0.1 }.reduce(0) { $0 + $1.1 - $1.0 }
            return Double(len) >= 0.6 * Double(b - a)
        }
        // Union-find over grid slots: neighbours without a line between them are one cell.
        var parent = Array(0..<(R * C))
        func find(_ i: Int) -> Int { var i = i; while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }; return i }
        for r in 0..<R {
            for c in 0..<C {
                if c + 1 < C, !covered(vertical, at: colEdges[c + 1], from: rowEdges[r], to: rowEdges[r + 1], vertical: true) {
                    parent[find(r * C + c)] = find(r * C + c + 1)
                }
                if r + 1 < R, !covered(horizontal, at: rowEdges[r + 1], from: colEdges[c], to: colEdges[c + 1], vertical: false) {
                    parent[find(r * C + c)] = find((r + 1) * C + c)
                }
            }
        }
        var regions: [Int: (r0: Int, c0: Int, r1: Int, c1: Int)] = [:]
        for r in 0..<R {
            for c in 0..<C {
                let k = find(r * C + c)
                if let g = regions[k] { regions[k] = (min(g.r0, r), min(g.c0, c), max(g.r1, r), max(g.c1, c)) } else { regions[k] = (r, c, r, c) }
            }
        }
        let cells = regions.values.map { (row: $0.r0, column: $0.c0, rowSpan: $0.r1 - $0.r0 + 1, columnSpan: $0.c1 - $0.c0 + 1) }
            .sorted { ($0.row, $0.column) < ($1.row, $1.column) }
        return Grid(bbox: BoundingBox(minX: colEdges.first!, minY: rowEdges.first!, maxX: colEdges.last!, maxY: rowEdges.last!),
                    rowEdges: rowEdges, columnEdges: colEdges, cells: cells)
    }

    /// Positions closer than `tolerance` are one line (thick or slightly wavy).
    static func cluster(_ values: [Int], tolerance: Int) -> [Int] {
        var out: [[Int]] = []
        for v in values.sorted() {
            if let last = out.last?.last, v - last <= tolerance { out[out.count - 1].append(v) } else { out.append([v]) }
        }
        return out.map { $0.reduce(0, +) / $0.count }
    }
}
