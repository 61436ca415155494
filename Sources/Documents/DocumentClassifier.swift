import Foundation

/// The kind of document from its words and structure, with the evidence that decided it.
enum DocumentClassifier {
    static let cues: [(kind: String, phrase: String, weight: Double)] = [
        ("invoice", "invoice", 3), ("invoice", "bill to", 2), ("invoice", "invoice number", 2), ("invoice", "invoice no", 2),
        ("invoice", "due date", 2), ("invoice", "amount due", 2), ("invoice", "payment terms", 1.5), ("invoice", "vat", 0.5),
        ("invoice", "subtotal", 0.5), ("invoice", "total", 0.5),
        ("receipt", "receipt", 3), ("receipt", "cash", 1), ("receipt", "change", 1), ("receipt", "thank you", 1),
        ("receipt", "card", 0.5), ("receipt", "subtotal", 1), ("receipt", "total", 0.5), ("receipt", "store", 0.5),
        ("receipt", "cashier", 1.5),
        ("letter", "dear", 2.5), ("letter", "sincerely", 2.5), ("letter", "regards", 1.5), ("letter", "yours", 1),
        ("letter", "faithfully", 1),
        ("form", "signature", 1), ("form", "application", 1), ("form", "please", 0.5), ("form", "date of birth", 1.5),
    ]

    static func classify(text: String, tables: [OCRTable], fields: [FormField], checkboxes: [Checkbox]) -> DocumentType {
        let lower = " " + text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).joined(separator: " ") + " "
        var score: [String: Double] = ["other": 1]
        var evidence: [String: [String]] = [:]
        for c in cues where lower.contains(" \(c.phrase) ") {
            score[c.kind, default: 0] += c.weight
            evidence[c.kind, default: []].append("“\(c.phrase)”")
        }
        if fields.count >= 3 { score["form", default: 0] += 1.5 + 0.3 * Double(fields.count); evidence["form", default: []].append("\(fields.count) labelled fields") }
        if !checkboxes.isEmpty { score["form", default: 0] += 1 + 0.5 * Double(checkboxes.count); evidence["form", default: []].append("\(checkboxes.count) tick boxes") }
        let cells = tables.reduce(0) { $0 + $1.cells.count }
        if cells >= 6 {
            score["table", default: 0] += 2 + Double(cells) / 20
            evidence["table", default: []].append("\(tables.count) table\(tables.count == 1 ? "" : "s") with \(cells) cells")
            // Invoices and receipts have tables too; a table page is mostly table.
            let tableChars = tables.flatMap(\.cells).reduce(0) { $0 + $1.text.count }
            if Double(tableChars) > 0.5 * Double(max(1, text.count)) { score["table", default: 0] += 2; evidence["table", default: []].append("most text is in tables") }
        }
        let best = score.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!
        let total = score.values.reduce(0, +)
        return DocumentType(kind: best.key, confidence: (best.value / total * 100).rounded() / 100, evidence: evidence[best.key] ?? [])
    }
}
