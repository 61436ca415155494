/// Structure-aware chunking: a document is cut into units at headings, blank lines (paragraphs),
/// then sentences, then words, so that no unit exceeds the token budget; units are packed into
/// chunks of at most `maxTokens`, each starting with up to `overlapTokens` of the previous chunk.
public struct Chunker: Sendable {
    public var maxTokens: Int
    public var overlapTokens: Int

    public init(maxTokens: Int = 200, overlapTokens: Int = 32) {
        self.maxTokens = maxTokens
        self.overlapTokens = overlapTokens
    }

    public struct Chunk: Sendable, Equatable {
        public let text: String
        /// Offsets in Unicode scalars into the page text.
        public let start: Int
        public let end: Int
        public let heading: String?
    }

    struct Unit {
        var start: Int
        var end: Int
        var tokens: Int
        var heading: String?
        var breakBefore: Bool  // a heading starts here: never merge across it
    }

    public func chunks(of text: String, kind: DocumentReader.Kind, tokens count: (String) -> Int) -> [Chunk] {
        let scalars = Array(text.unicodeScalars)
        func str(_ a: Int, _ b: Int) -> String { String(String.UnicodeScalarView(scalars[a..<b])) }
        var units: [Unit] = []
        var heading: String? = nil
        // 1. Blocks: paragraphs separated by blank lines; Markdown headings start sections.
        var i = 0
        var blockStart: Int? = nil
        var lineStart = 0
        var inFence = false  // inside a ``` or ~~~ code block: '#' lines are code, not headings
        func closeBlock(_ end: Int) {
            guard let s = blockStart else { return }
            var e = end
            while e > s, scalars[e - 1].properties.isWhitespace { e -= 1 }
            if e > s { units.append(contentsOf: split(s, e, heading: heading, scalars: scalars, count: count)) }
            blockStart = nil
        }
        while i <= scalars.count {
            let atEnd = i == scalars.count
            if atEnd || scalars[i] == "\n" {
                let line = str(lineStart, i)
                let trimmed = line.trimmingLeadingSpaces()
                if kind == .markdown && (trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~")) {
                    inFence.toggle()
                    if blockStart == nil { blockStart = lineStart }
                } else if inFence {
                    if blockStart == nil { blockStart = lineStart }
                } else if trimmed.isEmpty {
                    closeBlock(lineStart)
                } else if kind == .markdown || kind == .html, trimmed.hasPrefix("#"), let h = Self.heading(trimmed) {
                    closeBlock(lineStart)
                    heading = h
                    units.append(Unit(start: lineStart, end: i, tokens: count(line), heading: h, breakBefore: true))
                } else if blockStart == nil {
                    blockStart = lineStart
                }
                lineStart = i + 1
            }
            i += 1
        }
        closeBlock(scalars.count)
        // 2. Pack units into chunks with overlap.
        var out: [Chunk] = []
        var current: [Unit] = []
        var tokens = 0
        func emit() {
            guard let first = current.first, let last = current.last else { return }
            out.append(Chunk(text: str(first.start, last.end), start: first.start, end: last.end, heading: current.compactMap(\.heading).last))
        }
        for u in units {
            if !current.isEmpty && (tokens + u.tokens > maxTokens || u.breakBefore) {
                emit()
                // Carry the tail of the previous chunk as overlap (not across a heading).
                var carry: [Unit] = []
                var t = 0
                if !u.breakBefore {
                    for prev in current.reversed() {
                        if t + prev.tokens > overlapTokens || prev.breakBefore { break }
                        carry.insert(prev, at: 0)
                        t += prev.tokens
                    }
                }
                if carry.count == current.count { carry.removeAll(); t = 0 }
                current = carry
                tokens = t
            }
            current.append(u)
            tokens += u.tokens
        }
        emit()
        return out
    }

    static func heading(_ line: String) -> String? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes), line.dropFirst(hashes).first == " " else { return nil }
        return String(line.dropFirst(hashes)).trimmingLeadingSpaces().trimmingTrailingSpaces()
    }

    /// Splits a block that is over budget: sentences, then words.
    func split(_ s: Int, _ e: Int, heading: String?, scalars: [Unicode.Scalar], count: (String) -> Int) -> [Unit] {
        let text = String(String.UnicodeScalarView(scalars[s..<e]))
        let n = count(text)
        if n <= maxTokens { return [Unit(start: s, end: e, tokens: n, heading: heading, breakBefore: false)] }
        var pieces: [(Int, Int)] = []
        var start = s
        var k = s
        while k < e {
            let c = scalars[k]
            if (c == "." || c == "!" || c == "?" || c == "。" || c == "\n") && (k + 1 == e || scalars[k + 1].properties.isWhitespace) {
                pieces.append((start, k + 1))
                start = k + 1
                while start < e, scalars[start].properties.isWhitespace { start += 1 }
                k = start
                continue
            }
            k += 1
        }
        if start < e { pieces.append((start, e)) }
        var units: [Unit] = []
        for (a, b) in pieces {
            let t = count(String(String.UnicodeScalarView(scalars[a..<b])))
            if t <= maxTokens {
                units.append(Unit(start: a, end: b, tokens: t, heading: heading, breakBefore: false))
                continue
            }
            // A sentence longer than the budget: cut between words.
            var w0 = a, p = a
            var acc = 0
            while p < b {
                var q = p
                while q < b, !scalars[q].properties.isWhitespace { q += 1 }
                let wt = max(1, count(String(String.UnicodeScalarView(scalars[p..<q]))))
                if acc + wt > maxTokens && p > w0 {
                    units.append(Unit(start: w0, end: p, tokens: acc, heading: heading, breakBefore: false))
                    w0 = p
                    acc = 0
                }
                acc += wt
                while q < b, scalars[q].properties.isWhitespace { q += 1 }
                p = q
            }
            if w0 < b { units.append(Unit(start: w0, end: b, tokens: acc, heading: heading, breakBefore: false)) }
        }
        return units
    }
}

extension String {
    func trimmingLeadingSpaces() -> String { String(drop { $0 == " " || $0 == "\t" }) }
    func trimmingTrailingSpaces() -> String {
        var s = self
        while let l = s.last, l == " " || l == "\t" || l == "#" { s.removeLast() }
        return s
    }
}
