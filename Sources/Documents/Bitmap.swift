import CTesseract
import Foundation

/// The ink of a binarised page, one byte per pixel (1 = ink), for layout analysis in Swift.
struct Bitmap {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, pixels: [UInt8]) { self.width = width; self.height = height; self.pixels = pixels }
    init(_ binary: PixImage) { self.init(width: binary.width, height: binary.height, pixels: binary.bits()) }

    @inline(__always) func ink(_ x: Int, _ y: Int) -> Bool { pixels[y * width + x] != 0 }

    /// Ink pixels inside a rectangle (clipped to the page).
    func count(in b: BoundingBox) -> Int {
        let x0 = max(0, b.x), x1 = min(width, b.maxX), y0 = max(0, b.y), y1 = min(height, b.maxY)
        guard x0 < x1, y0 < y1 else { return 0 }
        var n = 0
        pixels.withUnsafeBufferPointer { p in
            for y in y0..<y1 { for x in x0..<x1 { n &+= Int(p[y * width + x]) } }
        }
        return n
    }

    /// Runs of ink at least `minLength` long along rows (`horizontal`) or columns, bridging breaks of up
    /// to `maxGap` pixels (faint or scanned lines), merged across neighbouring rows/columns into segments.
    func lineSegments(horizontal: Bool, minLength: Int, maxThickness: Int, maxGap: Int = 0) -> [Segment] {
        let (outer, inner) = horizontal ? (height, width) : (width, height)
        var open: [Segment] = []    // segments still growing, touched in the previous row
        var done: [Segment] = []
        pixels.withUnsafeBufferPointer { p in
            for o in 0..<outer {
                var runs: [(Int, Int)] = []
                var i = 0
                while i < inner {
                    let at = horizontal ? o * width + i : i * width + o
                    if p[at] == 0 { i += 1; continue }
                    var j = i + 1, end = i + 1
                    while j < inner {
                        if p[horizontal ? o * width + j : j * width + o] != 0 { end = j + 1 } else if j - end >= maxGap { break }
                        j += 1
                    }
                    j = end
                    if j - i >= minLength { runs.append((i, j)) }
                    i = j
                }
                var next: [Segment] = []
                var used = Array(repeating: false, count: open.count)
                for (a, b) in runs {
                    if let k = open.indices.first(where: { !used[$0] && open[$0].start < b && a < open[$0].end && open[$0].last == o - 1 }) {
                        used[k] = true
                        var s = open[k]
                        s.start = min(s.start, a); s.end = max(s.end, b); s.last = o
                        next.append(s)
                    } else {
                        next.append(Segment(start: a, end: b, first: o, last: o))
                    }
                }
                for k in open.indices where !used[k] { done.append(open[k]) }
                open = next
            }
        }
        done.append(contentsOf: open)
        return done.filter { $0.thickness <= maxThickness }
    }

    /// A straight stretch of ink: `start..<end` along its direction, rows/columns `first...last` across it.
    struct Segment: Equatable {
        var start: Int, end: Int, first: Int, last: Int
        var thickness: Int { last - first + 1 }
        var length: Int { end - start }
        var centre: Int { (first + last) / 2 }
    }
}
