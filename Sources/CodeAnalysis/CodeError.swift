import Foundation

/// Why a file or a request could not be analysed. Messages say what to do about it.
public enum CodeError: Error, CustomStringConvertible, Equatable, Sendable {
    case notFound(String)
    case outsideRoots(String)
    case unsupportedLanguage(String)
    case grammarsMissing(String)
    case grammarUnavailable(String, detail: String)
    case binary(String)
    case invalidUTF8(String)
    case tooLarge(String, bytes: Int, limit: Int)
    case lineTooLong(String, line: Int, length: Int, limit: Int)
    case parseTimeout(String)
    case invalidQuery(String, detail: String)
    case ctagsFailed(String, detail: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no such file or directory"
        case .outsideRoots(let p): return "\(p) is outside the configured roots"
        case .unsupportedLanguage(let p): return "\(p): no grammar or ctags parser for this language (see `atelier code languages`)"
        case .grammarsMissing(let path): return "tree-sitter grammars not found at \(path); run `make bootstrap` (PyPI tree-sitter-languages==1.10.2)"
        case .grammarUnavailable(let l, let d): return "the \(l) grammar could not be loaded: \(d)"
        case .binary(let p): return "\(p): binary file, skipped"
        case .invalidUTF8(let p): return "\(p): not valid UTF-8, skipped"
        case .tooLarge(let p, let n, let limit): return "\(p): \(n) bytes exceeds the limit of \(limit) bytes, skipped"
        case .lineTooLong(let p, let line, let n, let limit): return "\(p): line \(line) has \(n) characters (limit \(limit)); minified or generated code is skipped"
        case .parseTimeout(let p): return "\(p): parsing took too long, skipped"
        case .invalidQuery(let q, let d): return "invalid tree-sitter query (\(d)): \(q.prefix(120))"
        case .ctagsFailed(let p, let d): return "\(p): universal-ctags failed (\(d))"
        }
    }
}
