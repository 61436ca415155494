import Foundation

/// Small square outlines the size of a letter: tick boxes. A box is checked when its inside holds ink
/// (a cross, a tick or a fill); letters fail the test that all four sides are straight, dense lines.
enum CheckboxDetector {
    struct Found { var bbox: BoundingBox; var checked: Bool; var fill: Double }

    /// Tick boxes among the page's ink components.
    static func detect(components: [BoundingBox], ink: Bitmap, textHeight: Double) -> [Found] {
        let th = max(8.0, textHeight)
        var found: [Found] = []
        for box in components {
            let size = Double(max(box.width, box.height))
            guard size >= 0.8 * th, size <= 2.5 * th, Double(box.width) >= 0.75 * Double(box.height), Double(box.height) >= 0.75 * Double(box.width) else { continue }
            guard hasStraightSides(box, ink: ink) else { continue }
            let inset = max(3, Int(size / 5))
            let inner = BoundingBox(minX: box.x + inset, minY: box.y + inset, maxX: box.maxX - inset, maxY: box.maxY - inset)
            guard inner.width > 0, inner.height > 0 else { continue }
            let fill = Double(ink.count(in: inner)) / Double(inner.width * inner.height)
            found.append(Found(bbox: box, checked: fill > 0.06, fill: (fill * 1000).rounded() / 1000))
        }
        return found
    }

    /// Each side, within a band a few pixels thick, has ink along ≥ 85% of its length.
    static func hasStraightSides(_ b: BoundingBox, ink: Bitmap) -> Bool {
        let band = max(2, b.width / 8)
        func dense(_ along: Int, _ check: (Int) -> Bool) -> Bool {
            guard along > 0 else { return false }
            var hit = 0
            for i in 0..<along where check(i) { hit += 1 }
            return Double(hit) >= 0.85 * Double(along)
        }
        func anyInk(xs: Range<Int>, ys: Range<Int>) -> Bool {
            for y in ys where y >= 0 && y < ink.height { for x in xs where x >= 0 && x < ink.width && ink.ink(x, y) { return true } }
            return false
        }
        return dense(b.width) { anyInk(xs: (b.x + $0)..<(b.x + $0 + 1), ys: b.y..<(b.y + band)) }
            && dense(b.width) { anyInk(xs: (b.x + $0)..<(b.x + $0 + 1), ys: (b.maxY - band)..<b.maxY) }
            && dense(b.height) { anyInk(xs: b.x..<(b.x + band), ys: (b.y + $0)..<(b.y + $0 + 1)) }
            && dense(b.height) { anyInk(xs: (b.maxX - band)..<b.maxX, ys: (b.y + $0)..<(b.y + $0 + 1)) }
    }
}
