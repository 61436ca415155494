import Foundation

/// A recognised document as Markdown: paragraphs in reading order, tables as Markdown tables at
/// their place on the page, tick boxes as task-list items.
public enum MarkdownRenderer {
    public static func render(_ doc: OCRDocument) -> String {
        doc.pages.map { page in
            let body = render(page)
            return doc.pages.count > 1 ? "<!-- page \(page.page) -->\n\n" + body : body
        }.joined(separator: "\n\n")
    }

    public static func render(_ page: OCRPage) -> String {
        if page.blocks.isEmpty { return page.text }
        let tickLabels = Set(page.checkboxes.map(\.label))
        func inStructure(_ w: OCRWord) -> Bool { page.tables.contains { $0.bbox.contains(x: w.bbox.midX, y: w.bbox.midY) } }
        var items: [(y: Int, text: String)] = []
        for p in page.blocks.flatMap(\.paragraphs) {
            let lines = p.lines.compactMap { l -> String? in
                let kept = l.words.filter { !inStructure($0) }
                return kept.isEmpty || tickLabels.contains(kept.map(\.text).joined(separator: " ")) ? nil : kept.map(\.text).joined(separator: " ")
            }
            if !lines.isEmpty { items.append((p.bbox.y, lines.joined(separator: "\n"))) }
        }
        var placed: [(y: Int, text: String)] = page.tables.map { ($0.bbox.y, table($0)) }
        if !page.checkboxes.isEmpty {
            let ticks = page.checkboxes.sorted { $0.bbox.y < $1.bbox.y }
            placed.append((ticks[0].bbox.y, ticks.map { "- [\($0.checked ? "x" : " ")] \($0.label)" }.joined(separator: "\n")))
        }
        // Structures go before the first paragraph (in reading order) that starts below them.
        for s in placed.sorted(by: { $0.y < $1.y }) {
            let at = items.firstIndex { $0.y > s.y } ?? items.count
            items.insert(s, at: at)
        }
        return items.map(\.text).joined(separator: "\n\n")
    }

    public static func table(_ t: OCRTable) -> String {
        let g = t.grid.map { $0.map { $0.replacingOccurrences(of: "|", with: "\\|") } }
        guard let head = g.first else { return "" }
        var out = ["| " + head.joined(separator: " | ") + " |", "|" + String(repeating: " --- |", count: head.count)]
        out += g.dropFirst().map { "| " + $0.joined(separator: " | ") + " |" }
        return out.joined(separator: "\n")
    }
}
