import Foundation
#if canImport(_FoundationICU)
import _FoundationICU
#endif

/// A regular expression with ECMA-262 (JSON Schema) semantics, run on ICU.
/// The pattern is translated so that the classes ECMA-262 defines as ASCII stay ASCII (`\d`, `\w`),
/// `\s` is ECMA's whitespace set, and `$` anchors only at the end of input. Matching runs on ICU's C API
/// with a time limit, so a catastrophically backtracking pattern fails instead of hanging.
/// Known differences: ICU's `.` also excludes U+0085; ICU needs bounded lookbehind, so `*`/`+` inside
/// one match at most 1000 repetitions.
public final class ECMARegex: @unchecked Sendable {
    public static let maxPatternLength = 32_768
    /// ICU match-engine steps before giving up (on the order of a second here).
    static let timeLimit: Int32 = 2000
    public let pattern: String
    private let engine: Engine

    public enum Failure: Error, CustomStringConvertible {
        case tooLong(Int)
        case invalid(String, String)
        public var description: String {
            switch self {
            case .tooLong(let n): return "regular expression of \(n) characters exceeds the limit of \(ECMARegex.maxPatternLength)"
            case .invalid(let p, let why): return "invalid regular expression /\(p)/: \(why)"
            }
        }
    }

    public init(_ pattern: String) throws(Failure) {
        self.pattern = pattern
        guard pattern.utf8.count <= Self.maxPatternLength else { throw .tooLong(pattern.utf8.count) }
        let translated = try Self.translate(pattern)
        guard let e = Engine(translated) else { throw .invalid(pattern, "not a valid ECMA-262 pattern") }
        engine = e
    }

    /// Unanchored search, as the `pattern` keyword requires. A match that exceeds the time limit counts as no match.
    public func matches(_ s: String) -> Bool { engine.find(s) == true }

    /// nil when matching gave up at the time limit.
    public func search(_ s: String) -> Bool? { engine.find(s) }

#if canImport(_FoundationICU)
    /// ICU regex objects are not thread-safe: clones of the compiled pattern are pooled, one per concurrent user.
    final class Engine: @unchecked Sendable {
        private let master: OpaquePointer
        private var pool: [OpaquePointer] = []
        private let lock = NSLock()

        init?(_ pattern: String) {
            var status = U_ZERO_ERROR
            let utf16 = Array(pattern.utf16)
            guard let re = swift_uregex_open(utf16, Int32(utf16.count), 0, nil, &status), status.rawValue <= 0 else { return nil }
            master = re
        }

        deinit {
            for r in pool { swift_uregex_close(r) }
            swift_uregex_close(master)
        }

        func find(_ s: String) -> Bool? {
            var status = U_ZERO_ERROR
            let re: OpaquePointer = lock.withLock { pool.popLast() } ?? swift_uregex_clone(master, &status)
            defer { lock.withLock { pool.append(re) } }
            swift_uregex_setTimeLimit(re, ECMARegex.timeLimit, &status)
            // One spare element so even the empty string has a base address.
            var utf16 = Array(s.utf16)
            let n = utf16.count
            utf16.append(0)
            return utf16.withUnsafeBufferPointer { buf -> Bool? in
                var st = U_ZERO_ERROR
                swift_uregex_setText(re, buf.baseAddress!, Int32(n), &st)
                let found = swift_uregex_find(re, 0, &st)
                if st == U_REGEX_TIME_OUT || st == U_REGEX_STACK_OVERFLOW { return nil }
                return found != 0
            }
        }
    }
#else
    final class Engine: @unchecked Sendable {
        private let regex: NSRegularExpression
        init?(_ pattern: String) {
            guard let r = try? NSRegularExpression(pattern: pattern, options: []) else { return nil }
            regex = r
        }
        func find(_ s: String) -> Bool? {
            regex.firstMatch(in: s, options: [], range: NSRange(location: 0, length: (s as NSString).length)) != nil
        }
    }
#endif

    static let ecmaSpace = "\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}"

    static func translate(_ p: String) throws(Failure) -> String {
        var out = ""
        var inClass = false
        var groupDepth = 0
        var lookbehindDepth: [Int] = []
        let chars = Array(p.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\" {
                guard i + 1 < chars.count else { throw .invalid(p, "trailing backslash") }
                let e = chars[i + 1]
                i += 2
                switch e {
                case "d": out += inClass ? "0-9" : "[0-9]"
                case "D": out += inClass ? "[^0-9]" : "[^0-9]"
                case "w": out += inClass ? "a-zA-Z0-9_" : "[a-zA-Z0-9_]"
                case "W": out += "[^a-zA-Z0-9_]"
                case "s": out += inClass ? ecmaSpace : "[\(ecmaSpace)]"
                case "S": out += "[^\(ecmaSpace)]"
                case "a", "e", "A", "z", "Z", "G", "Q", "E", "h", "H", "R", "X", "N", "V", "K", "o":
                    throw .invalid(p, "'\\\(e)' is not an ECMA-262 escape")
                case "u":
                    if i < chars.count, chars[i] == "{" {
                        guard let close = chars[i...].firstIndex(of: "}") else { throw .invalid(p, "unterminated \\u{…}") }
                        out += "\\x{" + String(String.UnicodeScalarView(chars[(i + 1)..<close])) + "}"
                        i = close + 1
                    } else {
                        out += "\\u"
                    }
                case "c":
                    // ECMA-262: \cX with X a letter; ICU agrees.
                    out += "\\c"
                default:
                    out += "\\" + String(e)
                }
                continue
            }
            if inClass {
                if c == "]" { inClass = false }
                if c == "[" { out += "\\["; i += 1; continue }
                out.unicodeScalars.append(c)
            } else {
                switch c {
                case "[":
                    // ECMA-262's `[]` matches nothing and `[^]` anything; ICU reads a leading ']' as a literal.
                    let negated = i + 1 < chars.count && chars[i + 1] == "^"
                    let close = i + (negated ? 2 : 1)
                    if close < chars.count, chars[close] == "]" {
                        out += negated ? "(?s:.)" : "(?!)"
                        i = close + 1
                        continue
                    }
                    inClass = true
                    out += negated ? "[^" : "["
                    if negated { i += 1 }
                case "$": out += "\\z"
                case "(":
                    out += "("
                    if i + 1 < chars.count, chars[i + 1] == "?" {
                        // ECMA-262 groups: (?:  (?=  (?!  (?<=  (?<!  (?<name>. No inline flags or comments.
                        let next = i + 2 < chars.count ? chars[i + 2] : " "
                        let after = i + 3 < chars.count ? chars[i + 3] : " "
                        switch (next, after) {
                        case (":", _), ("=", _), ("!", _): break
                        case ("<", "="), ("<", "!"): lookbehindDepth.append(groupDepth + 1)
                        case ("<", _) where after.properties.isAlphabetic || after == "_" || after == "$": break
                        default: throw .invalid(p, "'(?\(next)' is not ECMA-262 group syntax")
                        }
                    }
                    groupDepth += 1
                case ")":
                    if lookbehindDepth.last == groupDepth { lookbehindDepth.removeLast() }
                    groupDepth -= 1
                    out += ")"
                case "*" where !lookbehindDepth.isEmpty, "+" where !lookbehindDepth.isEmpty:
                    // ICU needs a bounded lookbehind; ECMA-262 allows any width. Bound it generously.
                    out += c == "*" ? "{0,1000}" : "{1,1000}"
                    if i + 1 < chars.count, chars[i + 1] == "?" { i += 1 }
                default: out.unicodeScalars.append(c)
                }
            }
            i += 1
        }
        return out
    }
}
