import Foundation

/// Chooses tools by meaning: the request (or one clause of it) is embedded and compared with each
/// tool's description and example requests; a tool scores its best match. Embeddings of the tools
/// are computed once per tool set.
public final class ToolRouter: @unchecked Sendable {
    public typealias Embed = @Sendable ([String]) throws -> [[Float]]

    public struct Match: Sendable, Equatable {
        public let tool: String
        public let score: Float
    }

    private let embed: Embed
    private let lock = NSLock()
    private var cacheKey = ""
    private var toolVectors: [(name: String, vectors: [[Float]])] = []
    private var spent: Double = 0
    /// Seconds spent ranking so far (embedding the texts and scoring the tools), for the evaluation.
    public var seconds: Double { lock.withLock { spent } }

    public init(embed: @escaping Embed) { self.embed = embed }

    /// Tools ranked for one text, best first.
    public func rank(_ text: String, tools: [ToolSpec]) throws -> [Match] {
        try rank([text], tools: tools)[0]
    }

    public func rank(_ texts: [String], tools: [ToolSpec]) throws -> [[Match]] {
        let t0 = Date()
        defer { let dt = Date().timeIntervalSince(t0); lock.withLock { spent += dt } }
        let index = try vectors(for: tools)
        let queries = try embed(texts)
        return queries.map { q in
            index.map { t in Match(tool: t.name, score: t.vectors.map { Self.dot(q, $0) }.max() ?? -1) }
                .sorted { $0.score > $1.score }
        }
    }

    private func vectors(for tools: [ToolSpec]) throws -> [(name: String, vectors: [[Float]])] {
        let key = tools.map { $0.name + "\u{1}" + $0.description + $0.examples.joined(separator: "\u{2}") }.joined(separator: "\u{3}")
        if let cached = lock.withLock({ cacheKey == key ? toolVectors : nil }) { return cached }
        var texts: [String] = [], owners: [Int] = []
        for (i, t) in tools.enumerated() {
            // The first sentence says what the tool is for; the rest is detail that blurs the match.
            texts.append(Self.firstSentence(t.description)); owners.append(i)
            for e in t.examples { texts.append(e); owners.append(i) }
        }
        let vs = texts.isEmpty ? [] : try embed(texts)
        var out = tools.map { (name: $0.name, vectors: [[Float]]()) }
        for (v, i) in zip(vs, owners) { out[i].vectors.append(v) }
        lock.withLock { cacheKey = key; toolVectors = out }
        return out
    }

    static func firstSentence(_ s: String) -> String {
        if let r = s.range(of: ". ") { return String(s[..<r.lowerBound]) }
        return s
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var s: Float = 0
        for i in 0..<min(a.count, b.count) { s += a[i] * b[i] }
        return s
    }
}
