import Foundation
import JSONSchema
import Text

/// The vocabulary of a byte-level BPE model sorted by bytes, so that a mask is one pass in which
/// tokens sharing a prefix share the matcher's work on it, and a prefix the matcher refuses skips
/// every token that starts with it (the token trie, walked in order).
public final class TokenVocabulary: Sendable {
    let bytes: [[UInt8]]
    /// Token ids in byte order, and how many leading bytes each shares with the one before it.
    let order: [Int32]
    let shared: [Int32]
    /// Tokens that are plain text inside a JSON string (whole UTF-8 characters, no quote, backslash or
    /// control character), with their character counts; and the order of all the others. Inside a string
    /// with no pattern or grounding, a plain token is allowed exactly when it fits the length limit, so
    /// only the others need the matcher.
    let plainChars: [Int32]
    let otherOrder: [Int32]
    let otherShared: [Int32]
    public var count: Int { bytes.count }

    public init(tokenizer: BPETokenizer) {
        // Control tokens (<|im_start|>…) are never text inside a value.
        let b = (0..<tokenizer.vocabularySize).map { tokenizer.isSpecial($0) ? [] : tokenizer.tokenBytes($0) }
        bytes = b
        let sorted = b.indices.filter { !b[$0].isEmpty }.sorted { b[$0].lexicographicallyPrecedes(b[$1]) }
        (order, shared) = Self.sharedPrefixes(sorted, b)
        let plain = b.map { Self.plainCharacters($0) ?? -1 }
        plainChars = plain
        (otherOrder, otherShared) = Self.sharedPrefixes(sorted.filter { plain[$0] < 0 }, b)
    }

    static func sharedPrefixes(_ sorted: [Int], _ b: [[UInt8]]) -> ([Int32], [Int32]) {
        var sh = [Int32](repeating: 0, count: sorted.count)
        for i in sorted.indices.dropFirst() {
            let x = b[sorted[i - 1]], y = b[sorted[i]]
            var k = 0
            while k < x.count, k < y.count, x[k] == y[k] { k += 1 }
            sh[i] = Int32(k)
        }
        return (sorted.map(Int32.init), sh)
    }

    /// The number of characters when `t` is plain string text, else nil.
    static func plainCharacters(_ t: [UInt8]) -> Int32? {
        guard !t.isEmpty, !t.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else { return nil }
        guard let s = String(validating: t, as: UTF8.self) else { return nil }
        return Int32(s.unicodeScalars.count)
    }
}

/// Constrained decoding of JSON that validates against a schema: a `JSONMatcher` advanced by each
/// generated token, and the mask of tokens it admits next.
public final class JSONConstraint: GenerationConstraint, @unchecked Sendable {
    public let vocabulary: TokenVocabulary
    public private(set) var matcher: JSONMatcher
    public private(set) var text: [UInt8] = []

    public init(grammar: JSONGrammar, vocabulary: TokenVocabulary, grounding: [String: JSONMatcher.Sources] = [:]) {
        self.vocabulary = vocabulary
        matcher = JSONMatcher(grammar: grammar, grounding: grounding)
    }

    public convenience init(schema: JSONValue, vocabulary: TokenVocabulary, grounding: [String: JSONMatcher.Sources] = [:]) throws(JSONGrammar.Failure) {
        self.init(grammar: try JSONGrammar(schema: schema), vocabulary: vocabulary, grounding: grounding)
    }

    public func allows(_ token: Int) -> Bool {
        guard token >= 0, token < vocabulary.count, !vocabulary.bytes[token].isEmpty else { return false }
        var m = matcher
        return m.feed(vocabulary.bytes[token])
    }

    public func mask() -> [Bool] {
        var mask = [Bool](repeating: false, count: vocabulary.count)
        if let (length, maxLength) = matcher.plainStringContext {
            let limit = maxLength.map { Int32($0 - length) } ?? .max
            for (i, c) in vocabulary.plainChars.enumerated() where c >= 0 && c <= limit { mask[i] = true }
            walk(vocabulary.otherOrder, vocabulary.otherShared, into: &mask)
        } else {
            walk(vocabulary.order, vocabulary.shared, into: &mask)
        }
        return mask
    }

    /// The matcher over tokens in byte order: a prefix's work is shared by the tokens that start with
    /// it, and a refused prefix skips them all.
    func walk(_ order: [Int32], _ shared: [Int32], into mask: inout [Bool]) {
        let bytes = vocabulary.bytes
        // states[d]: the matcher after the first d bytes of the current token.
        var states: [JSONMatcher] = [matcher]
        var deadPrefix = Int.max
        for i in order.indices {
            let l = Int(shared[i])
            // Starts with a prefix already refused.
            if l >= deadPrefix { continue }
            deadPrefix = .max
            let t = bytes[Int(order[i])]
            if states.count > l + 1 { states.removeLast(states.count - l - 1) }
            var ok = true
            for d in (states.count - 1)..<t.count {
                var s = states[d]
                if !s.feed(t[d]) { deadPrefix = d + 1; ok = false; break }
                states.append(s)
            }
            if ok { mask[Int(order[i])] = true }
        }
    }

    public func accept(_ token: Int) throws {
        var m = matcher
        guard token >= 0, token < vocabulary.count, !vocabulary.bytes[token].isEmpty, m.feed(vocabulary.bytes[token]) else {
            throw LlamaModel.Failure.unsupported("token \(token) breaks the JSON constraint after \(String(decoding: text, as: UTF8.self).debugDescription)")
        }
        matcher = m
        text += vocabulary.bytes[token]
    }

    public var canEnd: Bool { matcher.isComplete }
    public var mustEnd: Bool { matcher.isFinished }
}
