import Foundation

/// Splits a request into what it asks for: stages that must happen one after another ("… then …"),
/// each made of clauses that can run in parallel ("OCR this and also index that").
enum RequestClauses {
    /// Words that start a later stage.
    static let sequenceMarkers = [" and then ", ", then ", " then ", "; then ", " after that ", " afterwards ", ". Then ", ". After that, "]
    /// Separators of parallel clauses that are always clause boundaries.
    static let strongSeparators = [" and also ", ", and also ", "; ", ". ", "? ", "! ", " as well as ", " also "]

    static func stages(_ request: String) -> [[String]] {
        var text = request.trimmingCharacters(in: .whitespacesAndNewlines)
        if let attached = text.range(of: "\n\nAttached files") { text = String(text[..<attached.lowerBound]) }
        text = text.replacingOccurrences(of: "\n", with: " ")
        return split(text, on: sequenceMarkers)
            .map { split($0, on: strongSeparators) }
            .filter { !$0.isEmpty }
    }

    /// Candidate splits of a clause on " and " (used only when both halves route to different tools).
    static func andSplits(_ clause: String) -> [(String, String)] {
        var out: [(String, String)] = []
        var search = clause.startIndex..<clause.endIndex
        while let r = clause.range(of: " and ", options: .caseInsensitive, range: search) {
            let a = clause[..<r.lowerBound].trimmingCharacters(in: CharacterSet(charactersIn: ",;").union(.whitespaces))
            let b = withoutConnective(String(clause[r.upperBound...]))
            if a.split(separator: " ").count >= 2, b.split(separator: " ").count >= 2 { out.append((a, b)) }
            search = r.upperBound..<clause.endIndex
        }
        return out
    }

    static let connective = try! NSRegularExpression(
        pattern: "^\\s*(?:(?:also|separately|additionally|then|too|afterwards|meanwhile|in addition|on top of that|while you(?:'|’)?re at it|while you are at it)\\b[\\s,]*)+",
        options: .caseInsensitive)

    /// The second half of an "and" without the words that only link it to the first ("… and separately
    /// search for …"): they say nothing about the tool and dilute the match.
    static func withoutConnective(_ text: String) -> String {
        let ns = text as NSString
        let stripped = connective.stringByReplacingMatches(in: text, range: NSRange(location: 0, length: ns.length), withTemplate: "")
            .trimmingCharacters(in: .whitespaces)
        return stripped.isEmpty ? text.trimmingCharacters(in: .whitespaces) : stripped
    }

    private static func split(_ text: String, on separators: [String]) -> [String] {
        var parts = [text]
        for sep in separators {
            parts = parts.flatMap { p -> [String] in
                // Dots inside paths and numbers ("v1.2", "a.md") are not sentence ends: only split on ". " etc.
                p.components(separatedBy: sep)
            }
        }
        return parts.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " ,;.!?").union(.whitespaces)) }
            .filter { $0.split(separator: " ").count >= 1 && !$0.isEmpty }
    }
}
