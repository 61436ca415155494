import Foundation

/// Key–value pairs of a form: "Label: value" on a row, a label beside or above a drawn box, a label
/// before an underline with the value written on it; and the labels of tick boxes.
enum FormExtractor {
    static func fields(rows: WordRows, words: [OCRWord], boxes: [BoundingBox], underlines: [BoundingBox],
                       excluding taken: [BoundingBox]) -> [FormField] {
        let unit = rows.unit
        var fields: [FormField] = []
        var used = Set<BoundingBox>()
        func free(_ w: OCRWord) -> Bool {
            !used.contains(w.bbox) && !taken.contains { $0.contains(x: w.bbox.midX, y: w.bbox.midY) }
        }
        func label(leftOf target: BoundingBox) -> [OCRWord]? {
            // The nearest segment ending left of the target, on its row.
            let cands = rows.rows.filter { r in
                let overlap = min(r.bbox.maxY, target.maxY) - max(r.bbox.y, target.y)
                return overlap > 0 || abs(r.bbox.midY - target.midY) < Int(unit)
            }.flatMap(\.segments).map { $0.filter(free) }.filter { s in
                guard let last = s.last else { return false }
                return last.bbox.maxX <= target.x + Int(unit / 2) && Double(target.x - last.bbox.maxX) < 8 * unit
            }
            return cands.max { $0.last!.bbox.maxX < $1.last!.bbox.maxX }
        }
        func label(above target: BoundingBox) -> [OCRWord]? {
            let ws = words.filter { w in free(w) && w.bbox.maxY <= target.y + 2 && Double(target.y - w.bbox.maxY) < 1.5 * unit
                && w.bbox.maxX > target.x && w.bbox.x < target.maxX }
            return ws.isEmpty ? nil : ws.sorted { $0.bbox.x < $1.bbox.x }
        }
        func add(_ key: [OCRWord], _ value: [OCRWord], valueBox: BoundingBox?, source: String) {
            let k = cleanKey(WordRows.text(key))
            guard !k.isEmpty else { return }
            for w in key + value { used.insert(w.bbox) }
            fields.append(FormField(key: k, value: WordRows.text(value), keyBBox: WordRows.box(key), valueBBox: valueBox, source: source))
        }
        // Boxes: the value is inside; the label beside it, or above it.
        for box in boxes {
            let value = words.filter { free($0) && box.contains(x: $0.bbox.midX, y: $0.bbox.midY) }.sorted { $0.bbox.x < $1.bbox.x }
            for w in value { used.insert(w.bbox) }
            if let key = label(leftOf: box) ?? label(above: box) { add(key, value, valueBox: box, source: "box") }
        }
        // Underlines: the value sits on the line; the label ends just before it.
        for line in underlines where Double(line.width) < 0.8 * Double(rows.rows.map(\.bbox.maxX).max() ?? line.width) {
            let value = words.filter { w in free(w) && w.bbox.midX > line.x && w.bbox.midX < line.maxX
                && w.bbox.maxY <= line.maxY + Int(unit / 3) && Double(line.y - w.bbox.maxY) < 0.8 * unit }.sorted { $0.bbox.x < $1.bbox.x }
            let area = BoundingBox(minX: line.x, minY: line.y - Int(unit), maxX: line.maxX, maxY: line.maxY)
            if let key = label(leftOf: area), key.last?.text.hasSuffix(":") == true || !key.isEmpty {
                add(key, value, valueBox: area, source: "underline")
            }
        }
        // "Label: value" on a row; a lone "Label:" takes the next segment of its row as the value.
        for row in rows.rows {
            let segs = row.segments.map { $0.filter(free) }.filter { !$0.isEmpty }
            var s = 0
            while s < segs.count {
                let seg = segs[s]
                guard let colon = seg.firstIndex(where: isKey) else { s += 1; continue }
                var starts = [0]
                for i in seg.indices where i > colon && isKey(seg[i]) && i + 1 <= seg.count { starts.append(keyStart(seg, colonAt: i)) }
                for (n, start) in starts.enumerated() {
                    let end = n + 1 < starts.count ? starts[n + 1] : seg.count
                    let part = Array(seg[start..<end])
                    guard let c = part.firstIndex(where: isKey) else { continue }
                    var value = Array(part[(c + 1)...])
                    if value.isEmpty, n == starts.count - 1, s + 1 < segs.count, !segs[s + 1].contains(where: isKey) {
                        value = segs[s + 1]
                        s += 1
                    }
                    add(Array(part[...c]), value, valueBox: value.isEmpty ? nil : WordRows.box(value), source: "colon")
                }
                s += 1
            }
        }
        return fields
    }

    /// The labels of tick boxes: the words right of the box on its row (else left of it).
    /// Also returns the boxes of the label words, which are then not read as fields.
    static func checkboxes(_ found: [CheckboxDetector.Found], rows: WordRows) -> (boxes: [Checkbox], labelWords: [BoundingBox]) {
        let unit = rows.unit
        var labelWords: [BoundingBox] = []
        let boxes = found.map { f in
            let row = rows.rows.filter { r in
                let overlap = min(r.bbox.maxY, f.bbox.maxY) - max(r.bbox.y, f.bbox.y)
                return Double(overlap) > 0.3 * Double(f.bbox.height)
            }
            let segs = row.flatMap(\.segments)
            let right = segs.filter { s in s.first!.bbox.x >= f.bbox.maxX - 2 && Double(s.first!.bbox.x - f.bbox.maxX) < 3 * unit }
                .min { $0.first!.bbox.x < $1.first!.bbox.x }
            let left = segs.filter { s in s.last!.bbox.maxX <= f.bbox.x + 2 && Double(f.bbox.x - s.last!.bbox.maxX) < 3 * unit }
                .max { $0.last!.bbox.maxX < $1.last!.bbox.maxX }
            labelWords += (right ?? left ?? []).map(\.bbox)
            return Checkbox(label: WordRows.text(right ?? left ?? []), checked: f.checked, bbox: f.bbox, fill: f.fill)
        }
        return (boxes, labelWords)
    }

    /// "Name:" or "Date of birth:" but not "10:30" or "http://".
    static func isKey(_ w: OCRWord) -> Bool {
        w.text.count > 1 && w.text.hasSuffix(":") && w.text.dropLast().contains(where: \.isLetter)
    }

    /// Where a second key on the same segment starts: the colon word, plus the word before it when
    /// the key reads as one phrase ("Invoice number:").
    static func keyStart(_ seg: [OCRWord], colonAt i: Int) -> Int {
        guard i > 0, let f = seg[i].text.first, f.isLowercase, seg[i - 1].text.first?.isUppercase == true else { return i }
        return i - 1
    }

    static func cleanKey(_ s: String) -> String {
        var k = s.trimmingCharacters(in: .whitespaces)
        while k.hasSuffix(":") || k.hasSuffix("_") || k.hasSuffix(".") { k.removeLast() }
        return k.trimmingCharacters(in: .whitespaces)
    }
}
