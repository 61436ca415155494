import Foundation

/// CLIP's byte-level BPE, as the reference `CLIPTokenizer` that Stable Diffusion pipelines use:
/// special tokens split off first, then per piece a text clean-up (NFC, whitespace collapsed),
/// lower-casing, CLIP's pre-tokeniser (contractions, letter runs, single digits, symbol runs),
/// byte-to-symbol mapping with `</w>` marking a word's end, and merges by rank.
/// Encodings are `[BOS] tokens… [EOS] pad…` over a fixed context (77 for Stable Diffusion).
public final class CLIPTokenizer: @unchecked Sendable {
    public static let startOfText = "<|startoftext|>"
    public static let endOfText = "<|endoftext|>"

    public let bos: Int
    public let eos: Int
    public let pad: Int
    public let contextLength: Int
    private let encoder: [String: Int]
    private let decoder: [Int: String]
    private let merges: BPEMerges
    private let mergeList: [(String, String)]
    private let padToken: String
    private let byteToSymbol: [String]
    private let symbolToByte: [Character: UInt8]
    private let specials: [(text: String, id: Int)]
    private var cache: [String: [Int]] = [:]
    private let lock = NSLock()

    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String, String)
        case missingToken(String, String)
        public var description: String {
            switch self {
            case .unreadable(let path, let why): return "cannot read the CLIP vocabulary '\(path)': \(why)"
            case .missingToken(let token, let source): return "the CLIP vocabulary \(source) has no '\(token)' token"
            }
        }
    }

    /// One prompt's token ids, padded to the context length.
    public struct Encoding: Sendable, Equatable {
        public let ids: [Int]
        /// Ids the prompt needed with BOS and EOS, before truncation.
        public let fullLength: Int
        public var truncated: Bool { fullLength > ids.count }
    }

    /// From OpenAI's `bpe_simple_vocab_16e6.txt(.gz)`: the vocabulary is built from the merges the way
    /// CLIP builds it (byte symbols, the same with `</w>`, one token per merge, then the two specials).
    public convenience init(bpeFile path: String, contextLength: Int = 77) throws {
        guard var data = FileManager.default.contents(atPath: path) else { throw Failure.unreadable(path, "no such file") }
        if data.starts(with: [0x1f, 0x8b]) {
            do { data = try Gzip.decompress(data) } catch { throw Failure.unreadable(path, error.description) }
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        // The first line is a version header; CLIP uses the next 49152 − 256 − 2 merges.
        let wanted = 49152 - 256 - 2
        guard lines.count > wanted else { throw Failure.unreadable(path, "it has \(lines.count) lines, CLIP needs \(wanted + 1)") }
        let merges = lines[1...wanted].map { line -> (String, String) in
            let parts = line.split(separator: " ", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        // CLIP lists the byte symbols in the byte-to-unicode table's own order: printable bytes first.
        let table = BPETokenizer.bytesToUnicode()
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        let rest = (0..<256).filter { !printable.contains($0) }
        let symbols = (printable + rest).map { String(table[$0]) }
        var vocab = symbols + symbols.map { $0 + "</w>" }
        vocab += merges.map { $0.0 + $0.1 }
        vocab += [Self.startOfText, Self.endOfText]
        var encoder: [String: Int] = [:]
        for (i, t) in vocab.enumerated() { encoder[t] = i }
        try self.init(encoder: encoder, merges: merges, padToken: Self.endOfText, contextLength: contextLength, source: path)
    }

    /// From a model folder's `tokenizer/` (`vocab.json`, `merges.txt`, and the pad token from
    /// `special_tokens_map.json` or `tokenizer_config.json`: SD 1.x pads with EOS, SD 2.x with "!").
    public convenience init(folder: String) throws {
        let url = URL(fileURLWithPath: folder)
        func read(_ name: String) throws -> Data {
            let p = url.appendingPathComponent(name).path
            guard let d = FileManager.default.contents(atPath: p) else { throw Failure.unreadable(p, "no such file") }
            return d
        }
        let vocabData = try read("vocab.json")
        guard let encoder = try? JSONDecoder().decode([String: Int].self, from: vocabData) else {
            throw Failure.unreadable(url.appendingPathComponent("vocab.json").path, "not a JSON object of token ids")
        }
        let mergeLines = String(decoding: try read("merges.txt"), as: UTF8.self).split(separator: "\n")
        let merges = mergeLines.filter { !$0.hasPrefix("#version") }.compactMap { line -> (String, String)? in
            let parts = line.split(separator: " ", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }
        var padToken = Self.endOfText
        for name in ["special_tokens_map.json", "tokenizer_config.json"] {
            guard let d = try? read(name), let obj = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { continue }
            if let p = obj["pad_token"] as? String { padToken = p; break }
            if let p = (obj["pad_token"] as? [String: Any])?["content"] as? String { padToken = p; break }
        }
        try self.init(encoder: encoder, merges: merges, padToken: padToken, contextLength: 77, source: folder)
    }

    init(encoder: [String: Int], merges: [(String, String)], padToken: String, contextLength: Int, source: String) throws {
        self.encoder = encoder
        var decoder: [Int: String] = [:]
        for (t, i) in encoder { decoder[i] = t }
        self.decoder = decoder
        self.merges = BPEMerges(merges)
        mergeList = merges
        self.padToken = padToken
        let table = BPETokenizer.bytesToUnicode()
        byteToSymbol = table.map { String($0) }
        var back: [Character: UInt8] = [:]
        for (b, c) in table.enumerated() { back[c] = UInt8(b) }
        symbolToByte = back
        func id(_ t: String) throws -> Int {
            guard let i = encoder[t] else { throw Failure.missingToken(t, source) }
            return i
        }
        bos = try id(Self.startOfText)
        eos = try id(Self.endOfText)
        pad = try id(padToken)
        specials = [(Self.startOfText, bos), (Self.endOfText, eos)]
        self.contextLength = contextLength
    }

    public var vocabularySize: Int { encoder.count }

    /// Writes the tokenizer as a model folder's `tokenizer/` (what transformers' `CLIPTokenizer` reads).
    public func save(to folder: String) throws {
        let url = URL(fileURLWithPath: folder)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: encoder, options: [.sortedKeys]).write(to: url.appendingPathComponent("vocab.json"))
        let merges = "#version: 0.2\n" + mergeList.map { "\($0.0) \($0.1)\n" }.joined()
        try Data(merges.utf8).write(to: url.appendingPathComponent("merges.txt"))
        let special: [String: Any] = ["bos_token": Self.startOfText, "eos_token": Self.endOfText, "unk_token": Self.endOfText, "pad_token": padToken]
        try JSONSerialization.data(withJSONObject: special, options: [.sortedKeys, .prettyPrinted]).write(to: url.appendingPathComponent("special_tokens_map.json"))
        var config = special
        config["tokenizer_class"] = "CLIPTokenizer"
        config["model_max_length"] = contextLength
        config["do_lower_case"] = true
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted]).write(to: url.appendingPathComponent("tokenizer_config.json"))
    }

    /// The vocabulary file the bootstrap fetches (PyPI open-clip-torch), when it is there.
    public static var bootstrapVocabulary: String? {
        let path = ModelStore.directory + "/open-clip/bpe_simple_vocab_16e6.txt.gz"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// `[BOS] tokens… [EOS]` padded with the pad token to the context length; longer prompts keep
    /// their first `contextLength − 2` tokens (`truncated` tells).
    public func encode(_ text: String) -> Encoding {
        let body = tokenize(text)
        let room = contextLength - 2
        var ids = [bos] + body.prefix(room) + [eos]
        ids += [Int](repeating: pad, count: contextLength - ids.count)
        return Encoding(ids: ids, fullLength: body.count + 2)
    }

    /// Token ids of a text, without BOS/EOS; the special tokens written in the text become their ids.
    public func tokenize(_ text: String) -> [Int] {
        var out: [Int] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            var cut: (range: Range<Substring.Index>, id: Int)? = nil
            for s in specials {
                if let r = rest.range(of: s.text), cut == nil || r.lowerBound < cut!.range.lowerBound { cut = (r, s.id) }
            }
            guard let c = cut else { encodeOrdinary(String(rest), into: &out); break }
            if c.range.lowerBound > rest.startIndex { encodeOrdinary(String(rest[..<c.range.lowerBound]), into: &out) }
            out.append(c.id)
            rest = rest[c.range.upperBound...]
        }
        return out
    }

    /// The text of token ids: word ends become spaces, specials are written as themselves.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard let t = decoder[id] else { continue }
            if id == bos || id == eos { bytes += Array(t.utf8); continue }
            var symbol = t
            let wordEnd = symbol.hasSuffix("</w>")
            if wordEnd { symbol.removeLast(4) }
            for c in symbol { if let b = symbolToByte[c] { bytes.append(b) } }
            if wordEnd { bytes.append(0x20) }
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    // MARK: Clean-up and pre-tokenisation

    /// NFC, whitespace runs collapsed to one space and trimmed, lower-cased.
    static func clean(_ text: String) -> String {
        let nfc = text.precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for s in nfc.unicodeScalars {
            if isSpace(s) { pendingSpace = !out.isEmpty; continue }
            if pendingSpace { out.append(" "); pendingSpace = false }
            out.append(s)
        }
        return String(out).lowercased()
    }

    /// Python's `str.isspace`, which `\s` follows: Unicode white space plus the ASCII separators 0x1C–0x1F.
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1c...0x1f).contains(s.value)
    }

    enum Kind { case letter, number, space, other }

    static func kind(_ s: Unicode.Scalar) -> Kind {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return isSpace(s) ? .space : .other
        }
    }

    /// CLIP's pattern `'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+`, alternatives tried in order at each position.
    static func pieces(_ text: String) -> [String] {
        let t = Array(text.unicodeScalars)
        let n = t.count
        var out: [String] = []
        var pos = 0
        func take(_ end: Int) {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: t[pos..<end])
            out.append(String(v))
            pos = end
        }
        while pos < n {
            let c = t[pos]
            if c == "'", pos + 1 < n {
                let a = t[pos + 1]
                if a == "s" || a == "t" || a == "m" || a == "d" { take(pos + 2); continue }
                if pos + 2 < n {
                    let b = t[pos + 2]
                    if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { take(pos + 3); continue }
                }
            }
            switch kind(c) {
            case .space: pos += 1
            case .number: take(pos + 1)
            case .letter:
                var end = pos + 1
                while end < n, kind(t[end]) == .letter { end += 1 }
                take(end)
            case .other:
                var end = pos + 1
                while end < n, kind(t[end]) == .other { end += 1 }
                take(end)
            }
        }
        return out
    }

    private func encodeOrdinary(_ text: String, into out: inout [Int]) {
        for piece in Self.pieces(Self.clean(text)) {
            lock.lock()
            let cached = cache[piece]
            lock.unlock()
            if let cached { out += cached; continue }
            let ids = bpe(piece)
            lock.lock()
            if cache.count > 50_000 { cache.removeAll(keepingCapacity: true) }
            cache[piece] = ids
            lock.unlock()
            out += ids
        }
    }

    /// Merges the adjacent pair of lowest rank until none is left; the last symbol carries `</w>`.
    private func bpe(_ piece: String) -> [Int] {
        var symbols = Array(piece.utf8).map { byteToSymbol[Int($0)] }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += "</w>"
        return merges.apply(symbols).compactMap { encoder[$0] }
    }
}
