import Foundation

/// Orders a page's blocks as a person reads them: recursive XY-cut, splitting at the widest empty
/// band (a horizontal band separates a heading from columns; a vertical gutter separates columns,
/// read left column first).
enum ReadingOrder {
    static func sort<T>(_ items: [T], box: (T) -> BoundingBox) -> [T] {
        guard items.count > 1 else { return items }
        let boxes = items.map(box)
        let h = widestGap(boxes.map { ($0.y, $0.maxY) })
        let v = widestGap(boxes.map { ($0.x, $0.maxX) })
        guard h != nil || v != nil else { return items.sorted { (box($0).y, box($0).x) < (box($1).y, box($1).x) } }
        let horizontal = (h?.width ?? -1) >= (v?.width ?? -1)
        let cut = horizontal ? h!.at : v!.at
        let first = items.filter { horizontal ? box($0).midY < cut : box($0).midX < cut }
        let second = items.filter { horizontal ? box($0).midY >= cut : box($0).midX >= cut }
        guard !first.isEmpty, !second.isEmpty else { return items.sorted { (box($0).y, box($0).x) < (box($1).y, box($1).x) } }
        return sort(first, box: box) + sort(second, box: box)
    }

    /// The widest gap between intervals that no interval crosses.
    static func widestGap(_ spans: [(Int, Int)]) -> (at: Int, width: Int)? {
        var best: (at: Int, width: Int)?
        var reach = Int.min
        for (a, b) in spans.sorted(by: { $0.0 < $1.0 }) {
            if reach != Int.min, a > reach, a - reach > (best?.width ?? 0) { best = ((a + reach) / 2, a - reach) }
            reach = max(reach, b)
        }
        return best
    }
}
