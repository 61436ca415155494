/// A JSON number that keeps its source text, so that integers beyond 64 bits and long decimals are
/// compared exactly and `1.0` counts as an integer, as JSON Schema requires.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number as written (valid JSON number syntax).
    public let text: String
    /// The nearest double; infinite when the text overflows.
    public let double: Double

    /// `text` must be valid JSON number syntax (the parser guarantees it).
    public init(text: String) {
        self.text = text
        self.double = Double(text) ?? (text.hasPrefix("-") ? -.infinity : .infinity)
    }

    public init(_ value: Int) {
        text = String(value)
        double = Double(value)
    }

    public init(_ value: Double) {
        precondition(value.isFinite, "JSON has no representation for \(value)")
        if value == value.rounded(), abs(value) < 1e15 {
            text = String(Int64(value))
        } else {
            text = "\(value)"
        }
        double = value
    }

    public var description: String { text }

    /// True for any number with no fractional part, whatever its spelling (1, 1.0, 1e2).
    public var isInteger: Bool {
        if !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            return true
        }
        return decimal.exponent >= 0
    }

    /// The value as an `Int` when it is integral and fits.
    public var int: Int? {
        if let i = Int(text) { return i }
        guard isInteger, double.magnitude < 9.2e18 else { return nil }
        return Int(double)
    }

    /// Exact decimal form: value = (negative ? -1 : 1) × digits × 10^exponent, digits without
    /// leading or trailing zeros ("" for zero).
    var decimal: Decimal10 { Decimal10(text) }

    public static func == (a: JSONNumber, b: JSONNumber) -> Bool {
        if a.text == b.text { return true }
        if a.double != b.double { return false }
        return a.decimal == b.decimal
    }

    public func hash(into h: inout Hasher) {
        // Equal doubles for unequal decimals only happen beyond double precision, so hashing the double is consistent with ==.
        h.combine(double == 0 ? 0 : double)
    }

    /// Exact ordering. Rounding to double is monotonic, so unequal doubles already decide it.
    public static func compare(_ a: JSONNumber, _ b: JSONNumber) -> Int {
        if a.double < b.double { return -1 }
        if a.double > b.double { return 1 }
        if a.text == b.text { return 0 }
        return Decimal10.compare(a.decimal, b.decimal)
    }

    /// Whether self / divisor is an integer, computed exactly on the decimal forms.
    public func isMultiple(of divisor: JSONNumber) -> Bool {
        let x = decimal, m = divisor.decimal
        if x.digits.isEmpty { return true }
        if m.digits.isEmpty { return false }
        // x = a·10^p, m = b·10^q with a, b not divisible by 10. If p < q, x/m = a / (b·10^(q-p)) needs 10 | a.
        if x.exponent < m.exponent { return false }
        guard m.digits.count <= 18, let b = UInt64(m.digits) else {
            let q = double / divisor.double
            return q.isFinite && q == q.rounded()
        }
        var r: UInt64 = 0
        for c in x.digits.utf8 { r = mulmod(r, 10, b) &+ UInt64(c - 48); r %= b }
        return mulmod(r, powmod(10, UInt64(x.exponent - m.exponent), b), b) == 0
    }
}

private func mulmod(_ a: UInt64, _ b: UInt64, _ m: UInt64) -> UInt64 {
    let (hi, lo) = a.multipliedFullWidth(by: b)
    return m.dividingFullWidth((hi % m, lo)).remainder
}

private func powmod(_ base: UInt64, _ exp: UInt64, _ m: UInt64) -> UInt64 {
    var result: UInt64 = 1 % m, b = base % m, e = exp
    while e > 0 {
        if e & 1 == 1 { result = mulmod(result, b, m) }
        b = mulmod(b, b, m)
        e >>= 1
    }
    return result
}

/// An exact decimal: sign, significant digits and a power of ten.
struct Decimal10: Equatable {
    var negative: Bool
    var digits: String
    var exponent: Int

    init(_ text: String) {
        var neg = false, intPart: [UInt8] = [], fracPart: [UInt8] = [], exp = 0
        var bytes = Array(text.utf8)[...]
        if bytes.first == UInt8(ascii: "-") { neg = true; bytes = bytes.dropFirst() }
        while let c = bytes.first, c >= 48, c <= 57 { intPart.append(c); bytes = bytes.dropFirst() }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            while let c = bytes.first, c >= 48, c <= 57 { fracPart.append(c); bytes = bytes.dropFirst() }
        }
        if let c = bytes.first, c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            var eneg = false
            if bytes.first == UInt8(ascii: "-") { eneg = true; bytes = bytes.dropFirst() } else if bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
            var e = 0
            for c in bytes where c >= 48 && c <= 57 { e = min(e * 10 + Int(c - 48), 1 << 40) }
            exp = eneg ? -e : e
        }
        var all = intPart + fracPart
        exp -= fracPart.count
        var start = 0
        while start < all.count, all[start] == 48 { start += 1 }
        all.removeFirst(start)
        while let last = all.last, last == 48 { all.removeLast(); exp += 1 }
        negative = neg && !all.isEmpty
        digits = String(decoding: all, as: UTF8.self)
        exponent = all.isEmpty ? 0 : exp
    }

    static func compare(_ a: Decimal10, _ b: Decimal10) -> Int {
        if a.negative != b.negative { return a.negative ? -1 : 1 }
        let mag = compareMagnitude(a, b)
        return a.negative ? -mag : mag
    }

    private static func compareMagnitude(_ a: Decimal10, _ b: Decimal10) -> Int {
        if a.digits.isEmpty || b.digits.isEmpty { return a.digits.isEmpty ? (b.digits.isEmpty ? 0 : -1) : 1 }
        // Position of the leading digit decides unless equal; then compare digit strings.
        let la = a.digits.utf8.count + a.exponent, lb = b.digits.utf8.count + b.exponent
        if la != lb { return la < lb ? -1 : 1 }
        let da = Array(a.digits.utf8), db = Array(b.digits.utf8)
        for i in 0..<max(da.count, db.count) {
            let x = i < da.count ? da[i] : 48, y = i < db.count ? db[i] : 48
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }
}
