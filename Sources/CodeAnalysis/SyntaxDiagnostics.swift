import Foundation

/// A syntax problem: an ERROR node (text the grammar could not place) or a MISSING one (a token the
/// parser had to assume, e.g. a closing brace).
public struct SyntaxDiagnostic: Codable, Sendable, Equatable {
    public var severity: String
    public var message: String
    public var range: SourceRange
}

public enum SyntaxDiagnostics {
    public static func check(_ tree: SyntaxTree, limit: Int = 200) -> [SyntaxDiagnostic] {
        var out: [SyntaxDiagnostic] = []
        guard tree.root.hasError else { return [] }
        tree.walk { node, _ in
            guard out.count < limit else { return false }
            if node.isMissing {
                out.append(SyntaxDiagnostic(severity: "error", message: "missing \(node.type)", range: SourceRange(start: node.start, end: node.end)))
                return false
            }
            if node.type == "ERROR" {
                let snippet = tree.text(node).split(whereSeparator: \.isNewline).first.map { String($0.prefix(60)) } ?? ""
                out.append(SyntaxDiagnostic(severity: "error", message: "syntax error near “\(snippet)”", range: SourceRange(start: node.start, end: node.end)))
                return false
            }
            return node.hasError
        }
        return out
    }
}
