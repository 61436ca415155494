import Foundation

/// Reads JSON text one byte at a time against a `JSONGrammar`: a pushdown automaton whose stack
/// follows the nesting of the value being written. Alternatives (anyOf, a literal that may go on or
/// end) are kept side by side as separate stacks, so a byte is refused only when no reading of the
/// text so far can take it — the text is always a prefix of something that validates.
public struct JSONMatcher: Sendable {
    /// Where a string argument may take its text from: any span of `spans`, or one of `values` whole.
    public final class Sources: Sendable {
        let texts: [[UInt8]]
        let whole: [Bool]
        public init(spans: [String] = [], values: [String] = []) {
            texts = spans.map { Array($0.utf8) } + values.map { Array($0.utf8) }
            whole = spans.map { _ in false } + values.map { _ in true }
        }
    }

    struct StringFrame: Sendable {
        /// The grammar node (-1: a free object's key, no rule).
        var node: Int
        var length = 0
        /// 0 none, 1 after a backslash, 2…5 reading \u's hex digits.
        var escape: UInt8 = 0
        var hex: UInt32 = 0
        /// Continuation bytes still due for the UTF-8 character being read.
        var pending: UInt8 = 0
        /// The UTF-8 character being read: its bytes in all, and its value so far.
        var width: UInt8 = 0
        var scalar: UInt32 = 0
        var pattern: PatternAutomaton.Position?
        /// Grounded strings: (source index, next byte) pairs still matching; nil before the first byte.
        var ground: [SIMD2<Int32>]?
    }

    enum Frame: Sendable {
        case value(Int)
        /// phase: 0 after `{`, 1 after a value, 2 after `,`, 3 after a free key (expects `:`).
        case object(node: Int, next: Int, phase: UInt8)
        case key(node: Int, candidates: [Int], matched: Int)
        /// phase: 0 after `[`, 1 after a value, 2 after `,`.
        case array(node: Int, count: Int, phase: UInt8)
        case string(StringFrame)
        case literal(node: Int, candidates: [Int], matched: Int)
        case number(node: Int, text: [UInt8])
    }

    let grammar: JSONGrammar
    let grounding: [String: Sources]
    var stacks: [[Frame]]

    public init(grammar: JSONGrammar, grounding: [String: Sources] = [:]) {
        self.grammar = grammar
        self.grounding = grounding
        stacks = [[.value(grammar.root)]]
    }

    /// Takes one byte; false (and the matcher dead) when no reading admits it.
    @discardableResult
    public mutating func feed(_ b: UInt8) -> Bool {
        var next: [[Frame]] = []
        for s in stacks { advance(s, b, &next) }
        stacks = next
        return !next.isEmpty
    }

    public mutating func feed<S: Sequence>(_ bytes: S) -> Bool where S.Element == UInt8 {
        for b in bytes where !feed(b) { return false }
        return true
    }

    public var isDead: Bool { stacks.isEmpty }

    /// The text so far is a whole value that validates.
    public var isComplete: Bool {
        stacks.contains { s in
            if s.isEmpty { return true }
            guard s.count == 1 else { return false }
            switch s[0] {
            case .literal(let n, let c, let m): return literalComplete(n, c, m)
            case .number(let n, let t): return numberComplete(n, t)
            default: return false
            }
        }
    }

    /// Nothing may follow: every reading is a whole value that cannot go on (`null`, but not `12`, which may become `123`).
    public var isFinished: Bool {
        !stacks.isEmpty && stacks.allSatisfy { s in
            if s.isEmpty { return true }
            guard s.count == 1, case .literal(let n, let c, let m) = s[0], case .literals(let lits) = grammar.nodes[n] else { return false }
            return c.allSatisfy { lits[$0].count == m }
        }
    }

    /// Inside a string whose only limit is its length (no pattern, no grounding), at a character
    /// boundary, with one reading: the string's length so far and its limit.
    var plainStringContext: (Int, Int?)? {
        guard stacks.count == 1, case .string(let f)? = stacks[0].last, f.escape == 0, f.pending == 0 else { return nil }
        let r = rule(f)
        guard r.pattern == nil, r.grounding.map({ grounding[$0] == nil }) ?? true else { return nil }
        return (f.length, r.maxLength)
    }

    // MARK: - Transitions

    func advance(_ stack: [Frame], _ b: UInt8, _ out: inout [[Frame]]) {
        var st = stack
        guard let top = st.popLast() else { return }
        let nodes = grammar.nodes
        switch top {
        case .value(let n):
            start(n, b, st, &out, depth: 0)
        case .object(let n, let next, let phase):
            guard case .object(let props, let free) = nodes[n] else { return }
            if props.isEmpty {
                switch (phase, b) {
                case (0, ascii("}")), (1, ascii("}")): out.append(st)
                case (1, ascii(",")): st.append(.object(node: n, next: next, phase: 2)); out.append(st)
                case (0, ascii("\"")), (2, ascii("\"")):
                    guard free != nil else { return }
                    st.append(.object(node: n, next: next, phase: 3)); st.append(.string(StringFrame(node: -1))); out.append(st)
                case (3, ascii(":")): st.append(.object(node: n, next: next, phase: 1)); st.append(.value(free!)); out.append(st)
                default: return
                }
                return
            }
            switch b {
            case ascii("}"):
                if phase != 2, !props[next...].contains(where: \.required) { out.append(st) }
            case ascii(","):
                if phase == 1, next < props.count { st.append(.object(node: n, next: next, phase: 2)); out.append(st) }
            case ascii("\""):
                guard phase != 1 else { return }
                // Properties in order; optional ones may be skipped, required ones may not.
                var cands: [Int] = []
                for j in next..<props.count { cands.append(j); if props[j].required { break } }
                guard !cands.isEmpty else { return }
                st.append(top); st.append(.key(node: n, candidates: cands, matched: 1)); out.append(st)
            default: return
            }
        case .key(let n, let cands, let matched):
            guard case .object(let props, _) = nodes[n] else { return }
            let c2 = cands.filter { props[$0].key.count > matched && props[$0].key[matched] == b }
            guard !c2.isEmpty else { return }
            if let done = c2.first(where: { props[$0].key.count == matched + 1 }) {
                st.removeLast()
                st.append(.object(node: n, next: done + 1, phase: 1))
                st.append(.value(props[done].node))
            } else {
                st.append(.key(node: n, candidates: c2, matched: matched + 1))
            }
            out.append(st)
        case .array(let n, let count, let phase):
            guard case .array(let item, let min, let max) = nodes[n] else { return }
            if b == ascii("]") {
                if phase != 2, count >= min { out.append(st) }
                return
            }
            if b == ascii(",") {
                if phase == 1, max.map({ count < $0 }) ?? true { st.append(.array(node: n, count: count, phase: 2)); out.append(st) }
                return
            }
            guard phase != 1, max.map({ count < $0 }) ?? true else { return }
            st.append(.array(node: n, count: count + 1, phase: 1))
            start(item, b, st, &out, depth: 0)
        case .string(var f):
            if f.escape == 0, f.pending == 0, b == ascii("\"") {
                if stringCanClose(f) { out.append(st) }
                return
            }
            if stringStep(&f, b) { st.append(.string(f)); out.append(st) }
        case .literal(let n, let cands, let matched):
            guard case .literals(let lits) = nodes[n] else { return }
            let c2 = cands.filter { lits[$0].count > matched && lits[$0][matched] == b }
            if !c2.isEmpty { var s = st; s.append(.literal(node: n, candidates: c2, matched: matched + 1)); out.append(s) }
            // A literal that is already whole (`1` of enum [1, 12]) ends here: the byte is its parent's.
            if literalComplete(n, cands, matched) { advance(st, b, &out) }
        case .number(let n, let text):
            let t2 = text + [b]
            if numberViable(n, t2) { var s = st; s.append(.number(node: n, text: t2)); out.append(s) }
            else if numberComplete(n, text) { advance(st, b, &out) }
        }
    }

    /// The first byte of a value of node `n`, pushed onto `base`.
    func start(_ n: Int, _ b: UInt8, _ base: [Frame], _ out: inout [[Frame]], depth: Int) {
        var st = base
        switch grammar.nodes[n] {
        case .anyOf(let alts):
            guard depth < 32 else { return }
            for a in alts { start(a, b, base, &out, depth: depth + 1) }
        case .object:
            if b == ascii("{") { st.append(.object(node: n, next: 0, phase: 0)); out.append(st) }
        case .array:
            if b == ascii("[") { st.append(.array(node: n, count: 0, phase: 0)); out.append(st) }
        case .string:
            if b == ascii("\"") { st.append(.string(StringFrame(node: n))); out.append(st) }
        case .literals(let l):
            let c = l.indices.filter { l[$0].first == b }
            if !c.isEmpty { st.append(.literal(node: n, candidates: c, matched: 1)); out.append(st) }
        case .integer, .number:
            if numberViable(n, [b]) { st.append(.number(node: n, text: [b])); out.append(st) }
        case .never:
            return
        }
    }

    func literalComplete(_ n: Int, _ cands: [Int], _ matched: Int) -> Bool {
        guard case .literals(let lits) = grammar.nodes[n] else { return false }
        return cands.contains { lits[$0].count == matched }
    }

    // MARK: - Strings

    func rule(_ f: StringFrame) -> JSONGrammar.StringRule {
        if f.node >= 0, case .string(let r) = grammar.nodes[f.node] { return r }
        return JSONGrammar.StringRule()
    }

    func stringStep(_ f: inout StringFrame, _ b: UInt8) -> Bool {
        switch f.escape {
        case 1:
            f.escape = 0
            switch b {
            case ascii("\""): return add(&f, 0x22)
            case ascii("\\"): return add(&f, 0x5C)
            case ascii("/"): return add(&f, 0x2F)
            case ascii("b"): return add(&f, 8)
            case ascii("f"): return add(&f, 12)
            case ascii("n"): return add(&f, 10)
            case ascii("r"): return add(&f, 13)
            case ascii("t"): return add(&f, 9)
            case ascii("u"):
                // Grounded strings copy their sources' bytes; an escaped character would have to be matched blind.
                if rule(f).grounding.map({ grounding[$0] != nil }) == true { return false }
                f.escape = 2; f.hex = 0
                return hexViable(f)
            default: return false
            }
        case 2...5:
            guard let v = hexValue(b) else { return false }
            f.hex = f.hex * 16 + v
            f.escape += 1
            if f.escape == 6 {
                f.escape = 0
                // Surrogate pairs are left to raw UTF-8, which every tokenizer here can write.
                if (0xD800...0xDFFF).contains(f.hex) { return false }
                return add(&f, f.hex)
            }
            return hexViable(f)
        default:
            if f.pending > 0 {
                guard b & 0xC0 == 0x80, groundFeed(&f, b) else { return false }
                f.scalar = f.scalar << 6 | UInt32(b & 0x3F)
                f.pending -= 1
                if f.pending == 0 {
                    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
                    guard f.scalar >= Self.utf8Minimum[Int(f.width)], f.scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(f.scalar) else { return false }
                    return add(&f, f.scalar, grounded: true)
                }
                return partialViable(f)
            }
            switch b {
            case ascii("\\"):
                f.escape = 1
                return escapeViable(f)
            case 0..<0x20: return false
            case 0x20..<0x80: return add(&f, UInt32(b))
            case 0xC2...0xDF: f.pending = 1; f.width = 2; f.scalar = UInt32(b & 0x1F)
            case 0xE0...0xEF: f.pending = 2; f.width = 3; f.scalar = UInt32(b & 0x0F)
            case 0xF0...0xF4: f.pending = 3; f.width = 4; f.scalar = UInt32(b & 0x07)
            default: return false
            }
            if let m = rule(f).maxLength, f.length + 1 > m { return false }
            return groundFeed(&f, b) && partialViable(f)
        }
    }

    /// After a backslash: whether some escape can follow.
    func escapeViable(_ f: StringFrame) -> Bool {
        for e in [ascii("\""), ascii("\\"), ascii("/"), ascii("b"), ascii("f"), ascii("n"), ascii("r"), ascii("t"), ascii("u")] {
            var g = f
            if stringStep(&g, e) { return true }
        }
        return false
    }

    /// Part of a \u escape read: whether the character it may still become (no surrogates) fits.
    func hexViable(_ f: StringFrame) -> Bool {
        let r = rule(f)
        if let m = r.maxLength, f.length + 1 > m { return false }
        let bits = UInt32(4 * (6 - Int(f.escape)))
        let lo = f.hex << bits, hi = lo | ((1 << bits) - 1)
        var parts: [ClosedRange<UInt32>] = []
        if lo <= min(hi, 0xD7FF) { parts.append(lo...min(hi, 0xD7FF)) }
        if max(lo, 0xE000) <= hi { parts.append(max(lo, 0xE000)...hi) }
        guard let p = r.pattern else { return !parts.isEmpty }
        return parts.contains { p.admits(f.pattern ?? p.initial, $0) }
    }

    /// A UTF-8 character partly read: whether any character it may still become fits the pattern.
    func partialViable(_ f: StringFrame) -> Bool {
        let bits = UInt32(6 * Int(f.pending))
        let lo = max(f.scalar << bits, Self.utf8Minimum[Int(f.width)]), hi = min(f.scalar << bits | ((1 << bits) - 1), 0x10FFFF)
        // Only surrogates left (ED A0…ED BF), or only overlong forms (E0 80…, F0 80…): no character can come of it.
        var parts: [ClosedRange<UInt32>] = []
        if lo <= min(hi, 0xD7FF) { parts.append(lo...min(hi, 0xD7FF)) }
        if max(lo, 0xE000) <= hi { parts.append(max(lo, 0xE000)...hi) }
        guard let p = rule(f).pattern else { return !parts.isEmpty }
        return parts.contains { p.admits(f.pattern ?? p.initial, $0) }
    }

    /// The smallest value a UTF-8 character of each width may have.
    static let utf8Minimum: [UInt32] = [0, 0, 0x80, 0x800, 0x10000]

    /// One more character of the string's value (`grounded`: its bytes were already matched as they came).
    func add(_ f: inout StringFrame, _ c: UInt32, grounded: Bool = false) -> Bool {
        let r = rule(f)
        f.length += 1
        if let m = r.maxLength, f.length > m { return false }
        if let p = r.pattern {
            let pos = p.step(f.pattern ?? p.initial, c)
            if pos.isDead { return false }
            f.pattern = pos
        }
        if !grounded, r.grounding != nil {
            guard let scalar = Unicode.Scalar(c) else { return false }
            for byte in String(scalar).utf8 where !groundFeed(&f, byte) { return false }
        }
        return true
    }

    /// One more byte of a grounded string's value: the spans and values it can still be part of.
    func groundFeed(_ f: inout StringFrame, _ byte: UInt8) -> Bool {
        guard let kind = rule(f).grounding, let src = grounding[kind] else { return true }
        var live: [SIMD2<Int32>] = []
        if let g = f.ground {
            for m in g {
                let t = src.texts[Int(m.x)]
                if Int(m.y) < t.count, t[Int(m.y)] == byte { live.append(SIMD2(m.x, m.y + 1)) }
            }
        } else {
            for (i, t) in src.texts.enumerated() {
                if src.whole[i] {
                    if t.first == byte { live.append(SIMD2(Int32(i), 1)) }
                } else {
                    for (j, x) in t.enumerated() where x == byte { live.append(SIMD2(Int32(i), Int32(j + 1))) }
                }
            }
        }
        f.ground = live
        return !live.isEmpty
    }

    func stringCanClose(_ f: StringFrame) -> Bool {
        let r = rule(f)
        if f.length < r.minLength { return false }
        if let p = r.pattern, !p.accepts(f.pattern ?? p.initial) { return false }
        if let kind = r.grounding, let src = grounding[kind] {
            guard let g = f.ground else { return false }
            return g.contains { !src.whole[Int($0.x)] || Int($0.y) == src.texts[Int($0.x)].count }
        }
        return true
    }

    // MARK: - Numbers

    struct NumberText {
        var negative = false
        var intDigits: [UInt8] = []
        var dot = false
        var fracDigits: [UInt8] = []
        /// Reads a prefix of `-?(0|[1-9][0-9]*)(\.[0-9]+)?`; nil when it is not one.
        init?(_ t: [UInt8], integer: Bool) {
            var i = 0
            if i < t.count, t[i] == ascii("-") { negative = true; i += 1 }
            while i < t.count, isDigit(t[i]) {
                if intDigits.first == ascii("0") { return nil }
                intDigits.append(t[i]); i += 1
            }
            if i < t.count, t[i] == ascii(".") {
                if integer || intDigits.isEmpty { return nil }
                dot = true; i += 1
                while i < t.count, isDigit(t[i]) { fracDigits.append(t[i]); i += 1 }
            }
            if i != t.count || intDigits.count > 15 || fracDigits.count > 12 { return nil }
        }
        var isWhole: Bool { !intDigits.isEmpty && (!dot || !fracDigits.isEmpty) }
        var value: Double {
            let s = (negative ? "-" : "") + String(decoding: intDigits, as: UTF8.self) + (dot ? "." + String(decoding: fracDigits, as: UTF8.self) : "")
            return Double(s) ?? 0
        }
    }

    func numberRule(_ n: Int) -> (JSONGrammar.NumberRule, Bool) {
        switch grammar.nodes[n] {
        case .integer(let r): return (r, true)
        case .number(let r): return (r, false)
        default: return (JSONGrammar.NumberRule(), false)
        }
    }

    func numberComplete(_ n: Int, _ t: [UInt8]) -> Bool {
        let (r, integer) = numberRule(n)
        guard let x = NumberText(t, integer: integer), x.isWhole else { return false }
        let v = x.value
        if let m = r.minimum, r.exclusiveMinimum ? !(v > m) : !(v >= m) { return false }
        if let m = r.maximum, r.exclusiveMaximum ? !(v < m) : !(v <= m) { return false }
        if let m = r.multipleOf, v.truncatingRemainder(dividingBy: m) != 0 { return false }
        return true
    }

    /// Whether some continuation of `t` is a number within the bounds.
    func numberViable(_ n: Int, _ t: [UInt8]) -> Bool {
        let (r, integer) = numberRule(n)
        guard let x = NumberText(t, integer: integer) else { return false }
        // "-0" is 0, but no one writes it: no minus sign where nothing negative is allowed.
        if x.negative, let m = r.minimum, m >= 0 { return false }
        // The magnitudes reachable from here, as closed intervals.
        var spans: [(Double, Double)] = []
        if x.intDigits.isEmpty {
            spans = [(0, .infinity)]
        } else if x.dot {
            let base = NumberText(Array(t.drop { $0 == ascii("-") }), integer: false)!.value
            spans = [(base, base + pow(10, -Double(x.fracDigits.count)))]
        } else if x.intDigits == [ascii("0")] {
            spans = [(0, integer ? 0 : 1)]
        } else {
            let i = NumberText(x.intDigits, integer: true)!.value
            for k in 0...(15 - x.intDigits.count) {
                let p = pow(10, Double(k))
                spans.append((i * p, integer ? i * p + p - 1 : (i + 1) * p))
            }
        }
        for (lo0, hi0) in spans {
            var lo = x.negative ? -hi0 : lo0, hi = x.negative ? -lo0 : hi0
            if let m = r.minimum { if r.exclusiveMinimum ? !(hi > m) : !(hi >= m) { continue }; lo = Swift.max(lo, m) }
            if let m = r.maximum { if r.exclusiveMaximum ? !(lo < m) : !(lo <= m) { continue }; hi = Swift.min(hi, m) }
            if integer {
                var a = lo.rounded(.up), z = hi.rounded(.down)
                if let m = r.minimum, r.exclusiveMinimum, a == m { a += 1 }
                if let m = r.maximum, r.exclusiveMaximum, z == m { z -= 1 }
                if a > z { continue }
                if let m = r.multipleOf, (a / m).rounded(.up) * m > z { continue }
            }
            return true
        }
        return false
    }
}

@inline(__always) func ascii(_ s: Unicode.Scalar) -> UInt8 { UInt8(s.value) }
@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
@inline(__always) func hexValue(_ b: UInt8) -> UInt32? {
    switch b {
    case 48...57: return UInt32(b - 48)
    case 65...70: return UInt32(b - 55)
    case 97...102: return UInt32(b - 87)
    default: return nil
    }
}
