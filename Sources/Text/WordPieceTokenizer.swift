import Foundation

/// BERT's tokenizer: the basic tokenizer (clean-up, CJK spacing, lower-casing, accent stripping,
/// punctuation splitting) followed by greedy longest-match WordPiece, as in the reference
/// `BertTokenizer` with `do_lower_case`, `tokenize_chinese_chars` and default accent stripping.
public struct WordPieceTokenizer: Sendable {
    public let vocab: [String: Int]
    public let idToToken: [String]
    public let lowercase: Bool
    public let maxCharsPerWord = 100
    public let cls: Int, sep: Int, unk: Int, pad: Int

    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case missingToken(String)
        public var description: String {
            switch self {
            case .unreadable(let p): return "cannot read vocabulary '\(p)'"
            case .missingToken(let t): return "the vocabulary has no \(t) token"
            }
        }
    }

    public init(vocabFile: String, lowercase: Bool = true) throws {
        guard let text = try? String(contentsOfFile: vocabFile, encoding: .utf8) else { throw Failure.unreadable(vocabFile) }
        var tokens = text.components(separatedBy: "\n")
        if tokens.last == "" { tokens.removeLast() }
        try self.init(tokens: tokens.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }, lowercase: lowercase)
    }

    public init(tokens: [String], lowercase: Bool = true) throws {
        var v: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where v[t] == nil { v[t] = i }
        vocab = v
        idToToken = tokens
        self.lowercase = lowercase
        func id(_ t: String) throws -> Int { guard let i = v[t] else { throw Failure.missingToken(t) }; return i }
        cls = try id("[CLS]"); sep = try id("[SEP]"); unk = try id("[UNK]"); pad = try id("[PAD]")
    }

    static let specialTokens = ["[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]"]

    /// Token ids with [CLS] … [SEP], truncated to `maxLength` in all. Special tokens written in the
    /// text ("[MASK]") are kept whole, as the reference tokenizer does.
    public func encode(_ text: String, maxLength: Int = 512) -> [Int] {
        var ids = [cls]
        for segment in splitSpecial(text) {
            if case .special(let id) = segment { ids.append(id) }
            if case .text(let t) = segment {
                for word in basicTokens(t) {
                    ids.append(contentsOf: wordPiece(word))
                    if ids.count >= maxLength - 1 { break }
                }
            }
            if ids.count >= maxLength - 1 { break }
        }
        if ids.count > maxLength - 1 { ids.removeLast(ids.count - (maxLength - 1)) }
        ids.append(sep)
        return ids
    }

    enum Segment { case text(Substring), special(Int) }

    func splitSpecial(_ text: String) -> [Segment] {
        guard text.contains("[") else { return [.text(Substring(text))] }
        var out: [Segment] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "[") {
            let tail = rest[open...]
            if let tok = Self.specialTokens.first(where: { tail.hasPrefix($0) }), let id = vocab[tok] {
                out.append(.text(rest[..<open]))
                out.append(.special(id))
                rest = tail.dropFirst(tok.count)
            } else {
                out.append(.text(rest[...open]))
                rest = rest[rest.index(after: open)...]
            }
        }
        out.append(.text(rest))
        return out
    }

    public func tokens(_ ids: [Int]) -> [String] { ids.map { $0 < idToToken.count ? idToToken[$0] : "[UNK]" } }

    // MARK: Basic tokenizer

    // As the reference fast tokenizer: controls are Cc/Cf/Co (tab, newline, return excepted) and are
    // dropped; whitespace is the Unicode White_Space property (so U+2028/U+2029 separate words);
    // unassigned code points are kept and make their word [UNK].
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .privateUse: return true
        default: return false
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v) ||
            (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v) ||
            (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    /// Words after clean-up, CJK isolation, whitespace and punctuation splitting, lower-casing and accent stripping.
    func basicTokens(_ text: Substring) -> [String] {
        var cleaned = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.value == 0 || s.value == 0xFFFD || Self.isControl(s) { continue }
            if Self.isWhitespace(s) { cleaned.append(" "); continue }
            if Self.isCJK(s.value) { cleaned.append(" "); cleaned.append(s); cleaned.append(" "); continue }
            cleaned.append(s)
        }
        var words: [String] = []
        for raw in String(cleaned).split(separator: " ", omittingEmptySubsequences: true) {
            var w = String(raw)
            if lowercase {
                w = w.lowercased()
                // Strip accents: decompose, drop non-spacing marks.
                w = String(String.UnicodeScalarView(w.decomposedStringWithCanonicalMapping.unicodeScalars.filter {
                    $0.properties.generalCategory != .nonspacingMark
                }))
            }
            var current = String.UnicodeScalarView()
            for s in w.unicodeScalars {
                if Self.isPunctuation(s) {
                    if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
                    words.append(String(s))
                } else {
                    current.append(s)
                }
            }
            if !current.isEmpty { words.append(String(current)) }
        }
        return words
    }

    /// Greedy longest-match-first WordPiece; a word that cannot be covered is one [UNK].
    func wordPiece(_ word: String) -> [Int] {
        let chars = Array(word.unicodeScalars)
        if chars.count > maxCharsPerWord { return [unk] }
        var out: [Int] = []
        var start = 0
        while start < chars.count {
            var end = chars.count
            var found: Int? = nil
            while start < end {
                var piece = String(String.UnicodeScalarView(chars[start..<end]))
                if start > 0 { piece = "##" + piece }
                if let id = vocab[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unk] }
            out.append(id)
            start = end
        }
        return out
    }
}
