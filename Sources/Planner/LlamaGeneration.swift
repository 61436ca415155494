import Foundation

/// What restricts the tokens a generation may produce (a compiled JSON Schema, see `JSONConstraint`).
public protocol GenerationConstraint: AnyObject {
    /// Whether `token` may come next (checked cheaply, one token).
    func allows(_ token: Int) -> Bool
    /// Every token that may come next: `mask[id]`.
    func mask() -> [Bool]
    /// Takes `token` as generated.
    func accept(_ token: Int) throws
    /// The output so far is complete: generation may stop here.
    var canEnd: Bool { get }
    /// Nothing may follow: generation must stop here.
    var mustEnd: Bool { get }
}

public struct Generation: Sendable {
    public enum Stop: String, Sendable { case endOfGeneration = "eos", length, stopString = "stop", context, constraint }
    public var tokens: [Int]
    public var text: String
    public var stop: Stop
    public var promptTokens: Int
    public var promptSeconds: Double
    public var generateSeconds: Double
    /// Time spent in the constraint (masks and checks), part of `generateSeconds`.
    public var constraintSeconds: Double = 0
    /// Steps where the first draw was refused and a full mask was computed.
    public var fullMasks: Int = 0
}

extension LlamaModel {
    /// The tokens that end a turn: the file's EOS and the end-of-turn markers of the known chat formats.
    public var endOfGeneration: Set<Int> {
        let names: Set<String> = ["<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<end_of_turn>", "</s>", "<|end|>", "<EOT>"]
        var ids = Set(tokenizer.tokens.indices.filter { names.contains(tokenizer.tokens[$0]) })
        if let e = tokenizer.eos { ids.insert(e) }
        return ids
    }

    /// The chat template the file declares (ChatML when it declares none).
    public func template() throws -> ChatTemplate { try ChatTemplate(jinja: chatTemplate) }

    /// The token ids of a chat rendered with the file's template (its markup parsed as special tokens).
    public func chatTokens(_ messages: [ChatTemplate.Message]) throws -> [Int] {
        tokenizer.encode(try template().render(messages), addSpecial: false, parseSpecial: true)
    }

    /// The token ids of one user message (with an optional system message), or with `raw` of the
    /// prompt as written, after BOS when the model wants one.
    public func promptTokens(_ prompt: String, system: String? = nil, raw: Bool = false) throws -> [Int] {
        if raw { return (tokenizer.addBOS ? [tokenizer.bos].compactMap { $0 } : []) + tokenizer.encode(prompt, addSpecial: false, parseSpecial: true) }
        return try chatTokens((system.map { [ChatTemplate.Message(role: "system", content: $0)] } ?? []) + [.init(role: "user", content: prompt)])
    }

    /// Generates after `prompt` (token ids, BOS included when the model wants one): at most `maxTokens`,
    /// stopping at an end-of-turn token (unless `ignoreEOS`), a stop string, a full context, or when
    /// `constraint` admits nothing more. Under a constraint the first draw is checked alone and a full mask
    /// computed only when it is refused (as llama.cpp does; the same distribution), unless `maskEveryToken`.
    /// `onText` receives the text as it forms, whole UTF-8 characters only.
    public func generate(prompt: [Int], maxTokens: Int, sampling: SamplingOptions = .greedy, ignoreEOS: Bool = false,
                         stop: [String] = [], constraint: GenerationConstraint? = nil, maskEveryToken: Bool = false, cache: Cache? = nil,
                         isCancelled: () -> Bool = { false }, onText: (String) -> Void = { _ in }) throws -> Generation {
        try sampling.validate()
        guard !prompt.isEmpty else { throw Failure.unsupported("the prompt is empty") }
        let cache = cache ?? makeCache()
        let eog = endOfGeneration
        var sampler = TokenSampler(sampling)
        sampler.remember(prompt)
        let t0 = Date()
        var logits = try forward(prompt, cache: cache)
        let t1 = Date()
        var out = Generation(tokens: [], text: "", stop: .length, promptTokens: prompt.count, promptSeconds: t1.timeIntervalSince(t0), generateSeconds: 0)
        var bytes: [UInt8] = []
        var sent = 0   // Unicode scalars handed to onText
        func send(_ text: String) {
            let scalars = Array(text.unicodeScalars)
            guard scalars.count > sent else { return }
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: scalars[sent...])
            sent = scalars.count
            onText(String(piece))
        }
        func emit(final: Bool) {
            // Whole UTF-8 characters only, and not a tail that may be the start of a stop string.
            var cut = bytes.count
            if !final {
                var i = bytes.count - 1
                while i >= 0, i >= bytes.count - 4, bytes[i] & 0xC0 == 0x80 { i -= 1 }
                if i >= 0 {
                    let b = bytes[i]
                    let need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                    if bytes.count - i < need { cut = i }
                }
            }
            var text = String(decoding: bytes[..<cut], as: UTF8.self)
            if !final {
                var hold = 0
                for s in stop where !s.isEmpty {
                    for k in stride(from: min(s.count - 1, text.count), to: 0, by: -1) where text.hasSuffix(s.prefix(k)) { hold = max(hold, k); break }
                }
                text = String(text.dropLast(hold))
            }
            send(text)
        }
        while out.tokens.count < maxTokens {
            if isCancelled() { throw Failure.cancelled }
            if let c = constraint, c.mustEnd { out.stop = .constraint; break }
            if ignoreEOS { for e in eog where e < logits.count { logits[e] = -.infinity } }
            let next: Int
            if let c = constraint {
                let tc = Date()
                // End-of-turn only where the output is complete; other tokens as the constraint says.
                let canEnd = c.canEnd
                func ok(_ t: Int) -> Bool { eog.contains(t) ? canEnd : c.allows(t) }
                var sampler2 = sampler
                let first = maskEveryToken ? -1 : try sampler2.sample(logits)
                if first >= 0, ok(first) {
                    sampler = sampler2
                    next = first
                } else {
                    out.fullMasks += 1
                    var m = c.mask()
                    for e in eog where e < m.count { m[e] = canEnd }
                    next = try sampler.sample(logits) { m[$0] }
                }
                out.constraintSeconds += Date().timeIntervalSince(tc)
            } else {
                next = try sampler.sample(logits)
            }
            if eog.contains(next) { out.stop = .endOfGeneration; break }
            if let c = constraint {
                let tc = Date()
                try c.accept(next)
                out.constraintSeconds += Date().timeIntervalSince(tc)
            }
            out.tokens.append(next)
            let b = tokenizer.tokenBytes(next)
            bytes += b
            if !stop.isEmpty {
                // A stop string anywhere in the text (it may end inside a token): cut there.
                let all = String(decoding: bytes, as: UTF8.self)
                if let r = stop.compactMap({ $0.isEmpty ? nil : all.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
                    bytes = Array(all[..<r.lowerBound].utf8)
                    out.stop = .stopString
                    break
                }
            }
            emit(final: false)
            if constraint?.mustEnd == true { out.stop = .constraint; break }
            if out.tokens.count == maxTokens { break }
            if cache.count >= cache.capacity { out.stop = .context; break }
            logits = try forward([next], cache: cache)
        }
        emit(final: true)
        out.text = String(decoding: bytes, as: UTF8.self)
        out.generateSeconds = Date().timeIntervalSince(t1)
        return out
    }
}
