import Foundation

/// How the next token is drawn from the logits. The defaults are llama.cpp's; `temperature` 0 is greedy.
public struct SamplingOptions: Sendable, Equatable, Codable {
    public var temperature: Float = 0.8
    /// 0: off.
    public var topK: Int = 40
    /// 1: off.
    public var topP: Float = 0.95
    /// 0: off.
    public var minP: Float = 0.05
    /// 1: off. Divides a positive logit (multiplies a negative one) of each token seen in the last `repeatLastN`.
    public var repeatPenalty: Float = 1
    public var repeatLastN: Int = 64
    public var seed: UInt64 = 0

    public init() {}
    public static var greedy: SamplingOptions { var o = SamplingOptions(); o.temperature = 0; return o }

    /// Values a user can get wrong, named.
    public func validate() throws(SamplingError) {
        if !(temperature >= 0) { throw .invalid("temperature must be ≥ 0 (0 is greedy), got \(temperature)") }
        if topK < 0 { throw .invalid("top_k must be ≥ 0 (0 turns it off), got \(topK)") }
        if !(topP > 0 && topP <= 1) { throw .invalid("top_p must be in (0, 1] (1 turns it off), got \(topP)") }
        if !(minP >= 0 && minP < 1) { throw .invalid("min_p must be in [0, 1) (0 turns it off), got \(minP)") }
        if !(repeatPenalty > 0) { throw .invalid("repeat_penalty must be > 0 (1 turns it off), got \(repeatPenalty)") }
        if repeatLastN < 0 { throw .invalid("repeat_last_n must be ≥ 0, got \(repeatLastN)") }
    }
}

public enum SamplingError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    /// Every token is masked: the constraint cannot be continued.
    case noCandidates
    public var description: String {
        switch self {
        case .invalid(let s): return s
        case .noCandidates: return "no token may follow: the constraint allows nothing here"
        }
    }
}

/// llama.cpp's sampler chain in its order — repetition penalty, top-k, top-p, min-p, temperature, then a
/// draw from the softmax — over the tokens a constraint allows. Seeded: the same seed, logits and
/// history draw the same tokens.
public struct TokenSampler: Sendable {
    public let options: SamplingOptions
    private var rng: SplitMix64
    private var history: [Int] = []

    public init(_ options: SamplingOptions) {
        self.options = options
        rng = SplitMix64(seed: options.seed)
    }

    /// Tokens already in the context (the prompt), for the repetition penalty.
    public mutating func remember(_ tokens: [Int]) {
        history += tokens
        if history.count > 4 * max(options.repeatLastN, 1) { history.removeFirst(history.count - options.repeatLastN) }
    }

    /// Draws the next token. `allowed`, when given, says which ids may be drawn at all.
    public mutating func sample(_ logits: [Float], allowed: ((Int) -> Bool)? = nil) throws(SamplingError) -> Int {
        var cand: [(id: Int, logit: Float)] = []
        cand.reserveCapacity(logits.count)
        for (i, l) in logits.enumerated() where l > -.infinity && (allowed?(i) ?? true) { cand.append((i, l)) }
        guard !cand.isEmpty else { throw .noCandidates }
        let o = options
        if o.repeatPenalty != 1, o.repeatLastN > 0 {
            let recent = Set(history.suffix(o.repeatLastN))
            for j in cand.indices where recent.contains(cand[j].id) {
                cand[j].logit = cand[j].logit > 0 ? cand[j].logit / o.repeatPenalty : cand[j].logit * o.repeatPenalty
            }
        }
        let pick: Int
        if o.temperature <= 0 {
            // Ties go to the lowest id, as llama.cpp's greedy sampler.
            var best = cand[0]
            for c in cand.dropFirst() where c.logit > best.logit { best = c }
            pick = best.id
        } else {
            cand.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
            if o.topK > 0, cand.count > o.topK { cand.removeLast(cand.count - o.topK) }
            if o.topP < 1 {
                let p = Self.softmax(cand.map(\.logit))
                var cum: Float = 0, keep = cand.count
                for (j, pj) in p.enumerated() {
                    cum += pj
                    if cum >= o.topP { keep = j + 1; break }
                }
                cand.removeLast(cand.count - keep)
            }
            if o.minP > 0 {
                // p_i ≥ min_p · p_max  ⇔  logit_i ≥ logit_max + ln(min_p)
                let floor = cand[0].logit + logf(o.minP)
                let keep = max(1, cand.prefix { $0.logit >= floor }.count)
                cand.removeLast(cand.count - keep)
            }
            let p = Self.softmax(cand.map { $0.logit / o.temperature })
            let u = Float(rng.nextUnit())
            var cum: Float = 0, j = 0
            while j < p.count - 1 {
                cum += p[j]
                if u < cum { break }
                j += 1
            }
            pick = cand[j].id
        }
        remember([pick])
        return pick
    }

    static func softmax(_ x: [Float]) -> [Float] {
        guard let m = x.max() else { return [] }
        let e = x.map { expf($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }
}

/// A small, fast, seedable generator (Steele, Lea & Flood's SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
