import Foundation

/// A JSON Schema `pattern` compiled to a Thompson NFA over Unicode scalars, so a string being
/// generated can be checked one character at a time: a prefix is viable while some state is alive.
/// The subset: literals, escapes (\d \D \w \W \s \S and escaped punctuation), `.`, classes with ranges
/// and negation, groups, alternation, ? * + {n} {n,} {n,m} (lazy forms match the same strings), and
/// `^`/`$` at the ends. Anything else (backreferences, lookaround, \b, inner anchors) is refused, as the
/// grammar compiler must never loosen a schema silently. Unanchored patterns search, as ECMA-262 does.
public struct PatternAutomaton: Sendable {
    struct CharClass: Sendable {
        var ranges: [ClosedRange<UInt32>]
        var negated: Bool
        func matches(_ c: UInt32) -> Bool { ranges.contains { $0.contains(c) } != negated }
        static let any = CharClass(ranges: [], negated: true)
    }
    enum State: Sendable {
        case char(CharClass, Int)
        case split(Int, Int)
        case jump(Int)
        case match
    }
    let states: [State]
    let start: Int

    public struct Failure: Error, CustomStringConvertible {
        public let pattern: String
        public let reason: String
        public var description: String { "pattern \(pattern.debugDescription): \(reason)" }
    }

    /// The set of live states.
    public struct Position: Sendable, Equatable {
        var live: [Bool]
        public var isDead: Bool { !live.contains(true) }
    }

    public init(_ pattern: String) throws(Failure) {
        var p = Parser(chars: Array(pattern.unicodeScalars), pattern: pattern)
        var builder = Builder()
        let anchoredStart = p.eat("^")
        var body = try p.alternation(&builder)
        var anchoredEnd = false
        if p.eat("$") { anchoredEnd = true }
        guard p.i == p.chars.count else { throw Failure(pattern: pattern, reason: "'\(p.chars[p.i])' at \(p.i) is outside the supported subset") }
        if !anchoredStart { body = builder.concat(builder.star(builder.char(.any)), body) }
        if !anchoredEnd { body = builder.concat(body, builder.star(builder.char(.any))) }
        let m = builder.add(.match)
        builder.patch(body, to: m)
        states = builder.states
        start = body.start
    }

    public var initial: Position {
        var live = [Bool](repeating: false, count: states.count)
        close(start, &live)
        return Position(live: live)
    }

    /// The position after one more character.
    public func step(_ p: Position, _ c: UInt32) -> Position {
        var next = [Bool](repeating: false, count: states.count)
        for (i, on) in p.live.enumerated() where on {
            if case .char(let cls, let to) = states[i], cls.matches(c) { close(to, &next) }
        }
        return Position(live: next)
    }

    /// Whether some character in `range` can come next (a UTF-8 character still being read).
    public func admits(_ p: Position, _ range: ClosedRange<UInt32>) -> Bool {
        for (i, on) in p.live.enumerated() where on {
            guard case .char(let cls, _) = states[i] else { continue }
            if cls.negated {
                // Admits unless one excluded range covers the whole of `range`.
                if !cls.ranges.contains(where: { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound }) { return true }
            } else if cls.ranges.contains(where: { $0.overlaps(range) }) {
                return true
            }
        }
        return false
    }

    public func accepts(_ p: Position) -> Bool {
        p.live.indices.contains { i in
            guard p.live[i], case .match = states[i] else { return false }
            return true
        }
    }

    public func matches(_ s: String) -> Bool {
        var p = initial
        for c in s.unicodeScalars { p = step(p, c.value); if p.isDead { return false } }
        return accepts(p)
    }

    private func close(_ s: Int, _ set: inout [Bool]) {
        if set[s] { return }
        set[s] = true
        switch states[s] {
        case .split(let a, let b): close(a, &set); close(b, &set)
        case .jump(let a): close(a, &set)
        default: break
        }
    }

    /// A fragment under construction: its entry state and the states whose exits still dangle.
    struct Fragment { var start: Int; var outs: [Int] }

    struct Builder {
        var states: [State] = []
        mutating func add(_ s: State) -> Int { states.append(s); return states.count - 1 }
        mutating func patch(_ f: Fragment, to t: Int) {
            for o in f.outs {
                switch states[o] {
                case .char(let c, _): states[o] = .char(c, t)
                case .split(let a, -1): states[o] = .split(a, t)
                case .split(-1, let b): states[o] = .split(t, b)
                case .jump: states[o] = .jump(t)
                default: break
                }
            }
        }
        mutating func char(_ c: CharClass) -> Fragment { let s = add(.char(c, -1)); return Fragment(start: s, outs: [s]) }
        mutating func empty() -> Fragment { let s = add(.jump(-1)); return Fragment(start: s, outs: [s]) }
        mutating func concat(_ a: Fragment, _ b: Fragment) -> Fragment { patch(a, to: b.start); return Fragment(start: a.start, outs: b.outs) }
        mutating func alt(_ a: Fragment, _ b: Fragment) -> Fragment {
            let s = add(.split(a.start, b.start)); return Fragment(start: s, outs: a.outs + b.outs)
        }
        mutating func star(_ a: Fragment) -> Fragment {
            let s = add(.split(a.start, -1)); patch(a, to: s); return Fragment(start: s, outs: [s])
        }
        mutating func optional(_ a: Fragment) -> Fragment {
            let s = add(.split(a.start, -1)); return Fragment(start: s, outs: a.outs + [s])
        }
    }

    struct Parser {
        let chars: [Unicode.Scalar]
        let pattern: String
        var i = 0
        var peek: Unicode.Scalar? { i < chars.count ? chars[i] : nil }
        mutating func eat(_ c: Unicode.Scalar) -> Bool { if peek == c { i += 1; return true }; return false }
        func fail(_ r: String) -> Failure { Failure(pattern: pattern, reason: r) }

        mutating func alternation(_ b: inout Builder) throws(Failure) -> Fragment {
            var f = try sequence(&b)
            while eat("|") { f = b.alt(f, try sequence(&b)) }
            return f
        }

        mutating func sequence(_ b: inout Builder) throws(Failure) -> Fragment {
            var f: Fragment? = nil
            while let c = peek, c != "|", c != ")" {
                if c == "$" {
                    // Only as the very last character.
                    if i == chars.count - 1 { break }
                    throw fail("'$' inside the pattern is not supported")
                }
                let atom = try repeated(&b)
                f = f.map { b.concat($0, atom) } ?? atom
            }
            return f ?? b.empty()
        }

        mutating func repeated(_ b: inout Builder) throws(Failure) -> Fragment {
            let atomStart = i
            var f = try atom(&b)
            while let c = peek {
                // Each copy a repetition needs is parsed again from the atom's text (fragments cannot be shared).
                var fresh = true
                func next(_ b: inout Builder) throws(Failure) -> Fragment {
                    if fresh { fresh = false; return f }
                    var q = Parser(chars: chars, pattern: pattern, i: atomStart)
                    return try q.atom(&b)
                }
                if c == "*" { i += 1; f = b.star(try next(&b)) }
                else if c == "+" { i += 1; let first = try next(&b); f = b.concat(first, b.star(try next(&b))) }
                else if c == "?" { i += 1; f = b.optional(try next(&b)) }
                else if c == "{", let (lo, hi) = try counted() {
                    guard lo <= 64, (hi ?? lo) <= 64 else { throw fail("repetition counts above 64 are not supported") }
                    var out: Fragment? = nil
                    func append(_ g: Fragment, _ b: inout Builder) { out = out.map { b.concat($0, g) } ?? g }
                    for _ in 0..<lo { append(try next(&b), &b) }
                    if let hi {
                        for _ in lo..<hi { append(b.optional(try next(&b)), &b) }
                    } else {
                        append(b.star(try next(&b)), &b)
                    }
                    f = out ?? b.empty()
                } else { break }
                _ = eat("?")   // lazy: same language
            }
            return f
        }

        /// `{n}`, `{n,}`, `{n,m}`; nil (and nothing consumed) when the brace is a literal.
        mutating func counted() throws(Failure) -> (Int, Int?)? {
            var j = i + 1
            func number() -> Int? {
                var v: Int? = nil
                while j < chars.count, let d = Int(String(chars[j])), chars[j].isASCII { v = (v ?? 0) * 10 + d; j += 1 }
                return v
            }
            guard let lo = number() else { return nil }
            var hi: Int? = lo
            if j < chars.count, chars[j] == "," { j += 1; hi = number() }
            guard j < chars.count, chars[j] == "}" else { return nil }
            if let h = hi, h < lo { throw fail("{\(lo),\(h)} has its bounds reversed") }
            i = j + 1
            return (lo, hi)
        }

        mutating func atom(_ b: inout Builder) throws(Failure) -> Fragment {
            guard let c = peek else { throw fail("unexpected end") }
            i += 1
            switch c {
            case "(":
                if eat("?") {
                    guard eat(":") else { throw fail("lookaround and named groups are not supported") }
                }
                let f = try alternation(&b)
                guard eat(")") else { throw fail("unbalanced '('") }
                return f
            case ".": return b.char(CharClass(ranges: [10...10, 13...13, 0x2028...0x2029], negated: true))
            case "[": return b.char(try bracket())
            case "\\": return b.char(try escape(inClass: false))
            case "^": throw fail("'^' inside the pattern is not supported")
            case "*", "+", "?": throw fail("'\(c)' has nothing to repeat")
            default: return b.char(CharClass(ranges: [c.value...c.value], negated: false))
            }
        }

        mutating func bracket() throws(Failure) -> CharClass {
            let negated = eat("^")
            var ranges: [ClosedRange<UInt32>] = []
            while let c = peek, c != "]" {
                i += 1
                var lo: UInt32
                if c == "\\" {
                    let e = try escape(inClass: true)
                    if e.ranges.count != 1 || e.negated || e.ranges[0].count != 1 {
                        // \d, \w, \s inside a class; a negated one (\S) cannot be merged into a positive list.
                        if e.negated { throw fail("negated escapes (\\D \\S \\W) inside a class are not supported") }
                        ranges += e.ranges
                        continue
                    }
                    lo = e.ranges[0].lowerBound
                } else { lo = c.value }
                if peek == "-", i + 1 < chars.count, chars[i + 1] != "]" {
                    i += 1
                    var hi: UInt32
                    if eat("\\") {
                        let e = try escape(inClass: true)
                        guard e.ranges.count == 1, e.ranges[0].count == 1, !e.negated else { throw fail("a class range ends in a class") }
                        hi = e.ranges[0].lowerBound
                    } else { hi = chars[i].value; i += 1 }
                    guard lo <= hi else { throw fail("class range out of order") }
                    ranges.append(lo...hi)
                } else {
                    ranges.append(lo...lo)
                }
            }
            guard eat("]") else { throw fail("unbalanced '['") }
            return CharClass(ranges: ranges, negated: negated)
        }

        mutating func escape(inClass: Bool) throws(Failure) -> CharClass {
            guard let c = peek else { throw fail("a trailing backslash") }
            i += 1
            let digit: [ClosedRange<UInt32>] = [48...57]
            let word: [ClosedRange<UInt32>] = [48...57, 65...90, 95...95, 97...122]
            let space: [ClosedRange<UInt32>] = [9...13, 32...32, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A, 0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF]
            func one(_ v: UInt32) -> CharClass { CharClass(ranges: [v...v], negated: false) }
            switch c {
            case "d": return CharClass(ranges: digit, negated: false)
            case "D": return CharClass(ranges: digit, negated: true)
            case "w": return CharClass(ranges: word, negated: false)
            case "W": return CharClass(ranges: word, negated: true)
            case "s": return CharClass(ranges: space, negated: false)
            case "S": return CharClass(ranges: space, negated: true)
            case "n": return one(10)
            case "r": return one(13)
            case "t": return one(9)
            case "f": return one(12)
            case "v": return one(11)
            case "0": return one(0)
            case "u":
                guard i + 4 <= chars.count, let v = UInt32(String(String.UnicodeScalarView(chars[i..<(i + 4)])), radix: 16) else { throw fail("\\u needs four hex digits") }
                i += 4
                return one(v)
            case "b" where inClass: return one(8)
            case "b", "B": throw fail("word boundaries (\\b) are not supported")
            default:
                if c.properties.isAlphabetic || ("1"..."9").contains(c) { throw fail("the escape \\\(c) is not supported") }
                return one(c.value)
            }
        }
    }
}
