import Foundation
import Neural

/// GPT-2-style byte-level BPE from a GGUF file's `tokenizer.ggml.*` metadata: special tokens are
/// matched first, the text is pre-tokenised as the model's `tokenizer.ggml.pre` says (digits one by
/// one for SmolLM/StarCoder-style vocabularies, then the GPT-2 pattern), each piece is mapped to
/// byte-level symbols and merged by rank.
public final class BPETokenizer: @unchecked Sendable {
    public let tokens: [String]
    public let bos: Int?
    public let eos: Int?
    public let addBOS: Bool
    public let pre: String
    private let ids: [String: Int]
    private let merges: BPEMerges
    /// Control and user-defined tokens, longest first (matched before BPE).
    private let specials: [(text: [UInt8], id: Int)]
    private let specialIDs: Set<Int>
    private let byteToSymbol: [String]
    private let symbolToByte: [Character: UInt8]
    private let splitDigits: Bool

    public enum Failure: Error, CustomStringConvertible {
        case unsupported(String)
        public var description: String { switch self { case .unsupported(let s): return s } }
    }

    public convenience init(gguf: GGUFFile) throws {
        let m = gguf.metadata
        guard m["tokenizer.ggml.model"]?.string == "gpt2" else {
            throw Failure.unsupported("tokenizer model '\(m["tokenizer.ggml.model"]?.string ?? "none")' is not supported (only GPT-2-style byte-level BPE, 'gpt2')")
        }
        guard let toks = m["tokenizer.ggml.tokens"]?.array?.compactMap(\.string), !toks.isEmpty else {
            throw Failure.unsupported("the GGUF file has no tokenizer.ggml.tokens")
        }
        let merges = m["tokenizer.ggml.merges"]?.array?.compactMap(\.string) ?? []
        let types = m["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? []
        try self.init(tokens: toks, merges: merges, types: types,
                      bos: m["tokenizer.ggml.bos_token_id"]?.int, eos: m["tokenizer.ggml.eos_token_id"]?.int,
                      addBOS: m["tokenizer.ggml.add_bos_token"]?.bool ?? false, pre: m["tokenizer.ggml.pre"]?.string ?? "default")
    }

    public init(tokens: [String], merges: [String], types: [Int], bos: Int?, eos: Int?, addBOS: Bool, pre: String) throws {
        self.tokens = tokens
        self.bos = bos
        self.eos = eos
        self.addBOS = addBOS
        self.pre = pre
        var ids: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
        self.ids = ids
        self.merges = BPEMerges(merges.compactMap { m in
            m.firstIndex(of: " ").map { sp in (String(m[..<sp]), String(m[m.index(after: sp)...])) }
        })
        // 3 = control, 4 = user-defined: written literally in prompts (<|im_start|> …).
        specials = types.enumerated().filter { $0.element == 3 || $0.element == 4 }
            .map { (Array(tokens[$0.offset].utf8), $0.offset) }
            .filter { !$0.0.isEmpty }
            .sorted { $0.0.count > $1.0.count }
        specialIDs = Set(specials.map(\.id))
        let table = Self.bytesToUnicode()
        byteToSymbol = table.map { String($0) }
        var back: [Character: UInt8] = [:]
        for (b, c) in table.enumerated() { back[c] = UInt8(b) }
        symbolToByte = back
        switch pre {
        case "default", "gpt2", "gpt-2": splitDigits = false
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b": splitDigits = true
        default:
            throw Failure.unsupported("pre-tokenizer '\(pre)' is not supported yet (supported: gpt2, smollm, starcoder, refact, command-r, codeshell, exaone)")
        }
    }

    public var vocabularySize: Int { tokens.count }

    /// Token ids of `text`; special tokens written in the text become their ids.
    public func encode(_ text: String, addSpecial: Bool = false, parseSpecial: Bool = true) -> [Int] {
        var out: [Int] = []
        if addSpecial, addBOS, let bos { out.append(bos) }
        let bytes = Array(text.utf8)
        var start = 0, i = 0
        while i < bytes.count {
            if parseSpecial, let s = specials.first(where: { i + $0.text.count <= bytes.count && bytes[i..<(i + $0.text.count)].elementsEqual($0.text) }) {
                if start < i { encodeOrdinary(bytes[start..<i], into: &out) }
                out.append(s.id)
                i += s.text.count
                start = i
            } else {
                i += 1
            }
        }
        if start < bytes.count { encodeOrdinary(bytes[start..<bytes.count], into: &out) }
        return out
    }

    /// The text of token ids (special tokens included as written).
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count { bytes += tokenBytes(id) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A control or user-defined token (`<|im_start|>`…): markup, never text.
    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }

    /// The raw bytes a token stands for (a piece of a UTF-8 character for byte tokens).
    public func tokenBytes(_ id: Int) -> [UInt8] {
        let t = tokens[id]
        if specialIDs.contains(id) { return Array(t.utf8) }
        var out: [UInt8] = []
        for c in t {
            if let b = symbolToByte[c] { out.append(b) } else { out += Array(String(c).utf8) }
        }
        return out
    }

    private func encodeOrdinary(_ bytes: ArraySlice<UInt8>, into out: inout [Int]) {
        let text = String(decoding: bytes, as: UTF8.self)
        for piece in Self.pretokenize(Array(text.unicodeScalars), splitDigits: splitDigits) {
            let symbols = Array(String(String.UnicodeScalarView(piece)).utf8).map { byteToSymbol[Int($0)] }
            for s in self.merges.apply(symbols) {
                if let id = ids[s] { out.append(id); continue }
                // Not in the vocabulary: fall back to its single-byte symbols.
                for c in s { if let id = ids[String(c)] { out.append(id) } }
            }
        }
    }

    // MARK: Pre-tokenisation

    enum Kind { case letter, number, space, other, none }

    static func kind(_ s: Unicode.Scalar) -> Kind {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        case .unassigned: return .none
        default: return s.properties.isWhitespace ? .space : .other
        }
    }

    /// Pieces of a text: with `splitDigits`, every digit alone (the `\p{N}` rule), then within each
    /// run the GPT-2 pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    static func pretokenize(_ text: [Unicode.Scalar], splitDigits: Bool) -> [[Unicode.Scalar]] {
        var runs: [ArraySlice<Unicode.Scalar>] = []
        if splitDigits {
            var s = 0
            for (i, c) in text.enumerated() where kind(c) == .number {
                if s < i { runs.append(text[s..<i]) }
                runs.append(text[i...i])
                s = i + 1
            }
            if s < text.count { runs.append(text[s..<text.count]) }
        } else {
            runs = [text[...]]
        }
        var out: [[Unicode.Scalar]] = []
        for r in runs { gpt2(Array(r), into: &out) }
        return out
    }

    static func gpt2(_ t: [Unicode.Scalar], into out: inout [[Unicode.Scalar]]) {
        let n = t.count
        func k(_ i: Int) -> Kind? { i < n ? kind(t[i]) : nil }
        var pos = 0
        while pos < n {
            let start = pos
            let c = t[pos]
            if c == "'", pos + 1 < n {
                let a = t[pos + 1]
                if a == "s" || a == "t" || a == "m" || a == "d" { pos += 2; out.append(Array(t[start..<pos])); continue }
                if pos + 2 < n {
                    let b = t[pos + 2]
                    if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { pos += 3; out.append(Array(t[start..<pos])); continue }
                }
            }
            let k2 = c == " " ? k(pos + 1) : k(pos)
            if k2 == .letter || k2 == .number {
                if c == " " { pos += 1 }
                while k(pos) == k2 { pos += 1 }
                out.append(Array(t[start..<pos]))
                continue
            }
            if k2 == .other {
                if c == " " { pos += 1 }
                while k(pos) == .other { pos += 1 }
                out.append(Array(t[start..<pos]))
                continue
            }
            var spaces = 0
            while k(pos + spaces) == .space { spaces += 1 }
            if spaces > 1, pos + spaces < n {
                pos += spaces - 1
                out.append(Array(t[start..<pos]))
                continue
            }
            if spaces > 0 {
                pos += spaces
                out.append(Array(t[start..<pos]))
                continue
            }
            pos += 1
            out.append(Array(t[start..<pos]))
        }
    }

    /// GPT-2's reversible map from bytes to printable characters.
    static func bytesToUnicode() -> [Character] {
        var table = [Character](repeating: " ", count: 256)
        var n = 0
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Character(Unicode.Scalar(UInt32(b))!)
            } else {
                table[b] = Character(Unicode.Scalar(UInt32(256 + n))!)
                n += 1
            }
        }
        return table
    }
}
