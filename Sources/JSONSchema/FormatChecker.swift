/// Checks the JSON Schema `format` keyword's string formats (used when format assertion is on).
public enum FormatChecker {
    /// Formats this checker knows.
    public static let known: Set<String> = [
        "date-time", "date", "time", "duration",
        "email", "idn-email", "hostname", "idn-hostname",
        "ipv4", "ipv6",
        "uri", "uri-reference", "iri", "iri-reference", "uri-template",
        "uuid", "json-pointer", "relative-json-pointer",
    ]

    /// nil when the format is unknown (unknown formats always pass); otherwise whether `value` conforms.
    public static func isValid(format: String, _ value: String) -> Bool? {
        guard let kind = Kind(format) else { return nil }
        // Every parser works on contiguous UTF-8 so it can index bytes directly; `withUTF8` only copies
        // when the string is not already native UTF-8 (e.g. a bridged NSString).
        var value = value
        return value.withUTF8 { b in
            switch kind {
            case .dateTime: return DateTime.isDateTime(b)
            case .date: return DateTime.isDate(b)
            case .time: return DateTime.isTime(b, from: 0)
            case .duration: return DateTime.isDuration(b)
            case .email: return Email.isValid(b, idn: false)
            case .idnEmail: return Email.isValid(b, idn: true)
            case .hostname: return Hostname.isValid(b, 0, b.count, idn: false)
            case .idnHostname: return Hostname.isValid(b, 0, b.count, idn: true)
            case .ipv4: return IP.isIPv4(b, 0, b.count)
            case .ipv6: return IP.isIPv6(b, 0, b.count)
            case .uri: return URI.isValid(b, iri: false, absolute: true)
            case .uriReference: return URI.isValid(b, iri: false, absolute: false)
            case .iri: return URI.isValid(b, iri: true, absolute: true)
            case .iriReference: return URI.isValid(b, iri: true, absolute: false)
            case .uriTemplate: return URI.isTemplate(b)
            case .uuid: return Pointer.isUUID(b)
            case .jsonPointer: return Pointer.isJSONPointer(b, from: 0)
            case .relativeJSONPointer: return Pointer.isRelativeJSONPointer(b)
            }
        }
    }

    private enum Kind {
        case dateTime, date, time, duration, email, idnEmail, hostname, idnHostname, ipv4, ipv6
        case uri, uriReference, iri, iriReference, uriTemplate, uuid, jsonPointer, relativeJSONPointer

        /// Switches on the length first so a lookup costs one or two string comparisons, not a scan of all names.
        init?(_ name: String) {
            let kind: Kind?
            switch name.utf8.count {
            case 3:
                kind = name == "uri" ? .uri : name == "iri" ? .iri : nil
            case 4:
                switch name {
                case "date": kind = .date
                case "time": kind = .time
                case "ipv4": kind = .ipv4
                case "ipv6": kind = .ipv6
                case "uuid": kind = .uuid
                default: kind = nil
                }
            case 5:
                kind = name == "email" ? .email : nil
            case 8:
                kind = name == "duration" ? .duration : name == "hostname" ? .hostname : nil
            case 9:
                kind = name == "date-time" ? .dateTime : name == "idn-email" ? .idnEmail : nil
            case 12:
                switch name {
                case "idn-hostname": kind = .idnHostname
                case "uri-template": kind = .uriTemplate
                case "json-pointer": kind = .jsonPointer
                default: kind = nil
                }
            case 13:
                kind = name == "uri-reference" ? .uriReference : name == "iri-reference" ? .iriReference : nil
            case 21:
                kind = name == "relative-json-pointer" ? .relativeJSONPointer : nil
            default:
                kind = nil
            }
            guard let kind else { return nil }
            self = kind
        }
    }

    typealias Bytes = UnsafeBufferPointer<UInt8>
}

// MARK: - Shared byte helpers

extension FormatChecker {
    // Only ASCII 0-9 count as digits everywhere: the RFC grammars use ABNF DIGIT, never Unicode Nd.
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
    @inline(__always) static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 }
    @inline(__always) static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isAlpha(c) }
    @inline(__always) static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20) &- 0x61 < 6 }

    /// Decodes the scalar starting at `i` and advances past it. Swift strings always hold valid UTF-8,
    /// so the lead byte alone tells the length and no bounds or continuation checks are needed.
    @inline(__always)
    static func decodeScalar(_ b: Bytes, _ i: inout Int) -> UInt32 {
        let c0 = UInt32(b[i])
        if c0 < 0x80 {
            i += 1
            return c0
        }
        if c0 < 0xE0 {
            let v = (c0 & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F)
            i += 2
            return v
        }
        if c0 < 0xF0 {
            let v = (c0 & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F)
            i += 3
            return v
        }
        let v = (c0 & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12
            | UInt32(b[i + 2] & 0x3F) << 6 | UInt32(b[i + 3] & 0x3F)
        i += 4
        return v
    }

    @inline(__always)
    static func contains(_ table: [ClosedRange<UInt32>], _ v: UInt32) -> Bool {
        var lo = 0
        var hi = table.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let r = table[mid]
            if v < r.lowerBound {
                hi = mid
            } else if v > r.upperBound {
                lo = mid + 1
            } else {
                return true
            }
        }
        return false
    }
}

// MARK: - date, time, date-time, duration (RFC 3339)

extension FormatChecker {
    enum DateTime {
        /// Exactly two ASCII digits at `i`; callers have already checked the bounds.
        @inline(__always)
        static func two(_ b: Bytes, _ i: Int) -> Int? {
            let a = b[i], c = b[i + 1]
            guard isDigit(a), isDigit(c) else { return nil }
            return Int(a - 0x30) * 10 + Int(c - 0x30)
        }

        static func fullDate(_ b: Bytes, _ s: Int) -> Bool {
            guard b.count - s >= 10, let y1 = two(b, s), let y2 = two(b, s + 2), b[s + 4] == 0x2D,
                  let month = two(b, s + 5), b[s + 7] == 0x2D, let day = two(b, s + 8)
            else { return false }
            let year = y1 * 100 + y2
            guard (1...12).contains(month), day >= 1 else { return false }
            let maxDay: Int
            switch month {
            case 2: maxDay = (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
            case 4, 6, 9, 11: maxDay = 30
            default: maxDay = 31
            }
            return day <= maxDay
        }

        static func isDate(_ b: Bytes) -> Bool {
            b.count == 10 && fullDate(b, 0)
        }

        static func isDateTime(_ b: Bytes) -> Bool {
            // RFC 3339 §5.6 note: "T" and "Z" may be lowercase.
            b.count > 11 && fullDate(b, 0) && (b[10] | 0x20) == 0x74 && isTime(b, from: 11)
        }

        /// full-time from `s` to the end; the offset is mandatory, unlike ISO 8601 local times.
        static func isTime(_ b: Bytes, from s: Int) -> Bool {
            let n = b.count
            guard n - s >= 9, let hour = two(b, s), b[s + 2] == 0x3A, let minute = two(b, s + 3),
                  b[s + 5] == 0x3A, let second = two(b, s + 6),
                  hour <= 23, minute <= 59, second <= 60
            else { return false }
            var i = s + 8
            if i < n && b[i] == 0x2E {
                i += 1
                let start = i
                while i < n && isDigit(b[i]) { i += 1 }
                guard i > start else { return false }
            }
            guard i < n else { return false }
            var offset = 0
            switch b[i] {
            case 0x5A, 0x7A:
                i += 1
            case 0x2B, 0x2D:
                guard n - i == 6, let oh = two(b, i + 1), b[i + 3] == 0x3A, let om = two(b, i + 4),
                      oh <= 23, om <= 59
                else { return false }
                offset = (oh * 60 + om) * (b[i] == 0x2B ? 1 : -1)
                i += 6
            default:
                return false
            }
            guard i == n else { return false }
            if second == 60 {
                // A leap second is inserted at 23:59:60 UTC, so the local time must map back to that minute.
                let utc = ((hour * 60 + minute - offset) % 1440 + 1440) % 1440
                return utc == 23 * 60 + 59
            }
            return true
        }

        /// RFC 3339 appendix A: date units must run Y→M→D and time units H→M→S without gaps
        /// (so "P1Y2D" is out), weeks stand alone, and at least one component is required.
        static func isDuration(_ b: Bytes) -> Bool {
            let n = b.count
            guard n >= 3, b[0] == 0x50 else { return false }
            var i = 1
            var last = -1
            var weeks = false
            while i < n && b[i] != 0x54 {
                guard let unit = component(b, &i) else { return false }
                if unit == 0x57 {
                    guard last == -1, !weeks else { return false }
                    weeks = true
                    continue
                }
                guard !weeks else { return false }
                let rank: Int
                switch unit {
                case 0x59: rank = 0
                case 0x4D: rank = 1
                case 0x44: rank = 2
                default: return false
                }
                guard rank > last && (last == -1 || rank == last + 1) else { return false }
                last = rank
            }
            if weeks { return i == n }
            if i == n { return last != -1 }
            i += 1
            last = -1
            while i < n {
                guard let unit = component(b, &i) else { return false }
                let rank: Int
                switch unit {
                case 0x48: rank = 0
                case 0x4D: rank = 1
                case 0x53: rank = 2
                default: return false
                }
                guard last == -1 || rank == last + 1 else { return false }
                last = rank
            }
            return last != -1
        }

        /// 1*DIGIT followed by a unit letter; returns the letter.
        @inline(__always)
        private static func component(_ b: Bytes, _ i: inout Int) -> UInt8? {
            let start = i
            while i < b.count && isDigit(b[i]) { i += 1 }
            guard i > start, i < b.count else { return nil }
            let unit = b[i]
            i += 1
            return unit
        }
    }
}

// MARK: - ipv4, ipv6

extension FormatChecker {
    enum IP {
        /// Dotted quad only: inet_aton shorthands, hex/octal and leading zeros are rejected because
        /// RFC 2673 §3.2 dotted-decimal is what the format names, and leading zeros read as octal elsewhere.
        static func isIPv4(_ b: Bytes, _ s: Int, _ e: Int) -> Bool {
            var i = s
            for part in 0..<4 {
                if part > 0 {
                    guard i < e, b[i] == 0x2E else { return false }
                    i += 1
                }
                let start = i
                var v = 0
                while i < e && isDigit(b[i]) && i - start < 3 {
                    v = v * 10 + Int(b[i] - 0x30)
                    i += 1
                }
                let len = i - start
                guard len >= 1, v <= 255, len == 1 || b[start] != 0x30 else { return false }
            }
            return i == e
        }

        /// RFC 4291 §2.2 text forms; zone ids (RFC 6874) and prefixes are not part of an address.
        static func isIPv6(_ b: Bytes, _ s: Int, _ e: Int) -> Bool {
            guard e - s >= 2 else { return false }
            var i = s
            var groups = 0
            var compressed = false
            if b[i] == 0x3A {
                guard b[i + 1] == 0x3A else { return false }
                compressed = true
                i += 2
                if i == e { return true }
            }
            while true {
                var j = i
                while j < e && isHex(b[j]) { j += 1 }
                if j < e && b[j] == 0x2E {
                    // An embedded IPv4 tail fills the last 32 bits, so it must end the address.
                    guard isIPv4(b, i, e) else { return false }
                    groups += 2
                    break
                }
                guard j - i >= 1 && j - i <= 4 else { return false }
                groups += 1
                i = j
                if i == e { break }
                guard b[i] == 0x3A else { return false }
                i += 1
                guard i < e else { return false }
                if b[i] == 0x3A {
                    guard !compressed else { return false }
                    compressed = true
                    i += 1
                    if i == e { break }
                }
            }
            // "::" stands for at least one zero group.
            return compressed ? groups <= 7 : groups == 8
        }
    }
}

// MARK: - uuid, json-pointer, relative-json-pointer

extension FormatChecker {
    enum Pointer {
        static func isUUID(_ b: Bytes) -> Bool {
            guard b.count == 36 else { return false }
            for i in 0..<36 {
                switch i {
                case 8, 13, 18, 23:
                    guard b[i] == 0x2D else { return false }
                default:
                    guard isHex(b[i]) else { return false }
                }
            }
            return true
        }

        /// RFC 6901: any character may appear except a `~` that is not the start of `~0` / `~1`.
        static func isJSONPointer(_ b: Bytes, from s: Int) -> Bool {
            let n = b.count
            var i = s
            if i == n { return true }
            guard b[i] == 0x2F else { return false }
            while i < n {
                if b[i] == 0x7E {
                    guard i + 1 < n, b[i + 1] == 0x30 || b[i + 1] == 0x31 else { return false }
                    i += 2
                } else {
                    i += 1
                }
            }
            return true
        }

        static func isRelativeJSONPointer(_ b: Bytes) -> Bool {
            let n = b.count
            guard n > 0, isDigit(b[0]) else { return false }
            var i = 1
            // non-negative-integer forbids leading zeros.
            if b[0] != 0x30 {
                while i < n && isDigit(b[i]) { i += 1 }
            }
            if i < n && b[i] == 0x23 { return i + 1 == n }
            return isJSONPointer(b, from: i)
        }
    }
}

// MARK: - email, idn-email (RFC 5321 §4.1.2, RFC 6531 §3.3)

extension FormatChecker {
    enum Email {
        @inline(__always)
        static func isAtext(_ c: UInt8) -> Bool {
            switch c {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A,
                 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x3D, 0x3F, 0x5E...0x60, 0x7B...0x7E:
                return true
            default:
                return false
            }
        }

        static func isValid(_ b: Bytes, idn: Bool) -> Bool {
            let n = b.count
            guard n > 0 else { return false }
            var i = 0
            if b[0] == 0x22 {
                i = 1
                while true {
                    guard i < n else { return false }
                    let c = b[i]
                    if c == 0x22 { break }
                    if c == 0x5C {
                        guard i + 1 < n, (0x20...0x7E).contains(b[i + 1]) else { return false }
                        i += 2
                        continue
                    }
                    // RFC 6531 adds UTF8-non-ascii to qtextSMTP; every byte of such a scalar is >= 0x80.
                    guard c == 0x20 || c == 0x21 || (0x23...0x5B).contains(c) || (0x5D...0x7E).contains(c)
                        || (idn && c >= 0x80)
                    else { return false }
                    i += 1
                }
                i += 1
            } else {
                var atomStart = 0
                while i < n && b[i] != 0x40 {
                    let c = b[i]
                    if c == 0x2E {
                        guard i > atomStart else { return false }
                        atomStart = i + 1
                    } else {
                        guard isAtext(c) || (idn && c >= 0x80) else { return false }
                    }
                    i += 1
                }
                guard i > atomStart else { return false }
            }
            // RFC 5321 §4.5.3.1.1 caps the local part at 64 octets.
            guard i <= 64, i < n, b[i] == 0x40 else { return false }
            let d = i + 1
            guard d < n else { return false }
            if b[d] == 0x5B {
                guard b[n - 1] == 0x5D else { return false }
                // Only the IPv6 tag is registered for General-address-literal, so other tags are rejected.
                if n - d >= 7, (b[d + 1] | 0x20) == 0x69, (b[d + 2] | 0x20) == 0x70,
                   (b[d + 3] | 0x20) == 0x76, b[d + 4] == 0x36, b[d + 5] == 0x3A {
                    return IP.isIPv6(b, d + 6, n - 1)
                }
                return IP.isIPv4(b, d + 1, n - 1)
            }
            return Hostname.isValid(b, d, n, idn: idn)
        }
    }
}

// MARK: - uri, uri-reference, iri, iri-reference (RFC 3986, RFC 3987), uri-template (RFC 6570)

extension FormatChecker {
    enum URI {
        @inline(__always)
        static func isUnreserved(_ c: UInt8) -> Bool {
            isAlnum(c) || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E
        }

        @inline(__always)
        static func isSubDelim(_ c: UInt8) -> Bool {
            switch c {
            case 0x21, 0x24, 0x26...0x2C, 0x3B, 0x3D: return true
            default: return false
            }
        }

        @inline(__always)
        static func isPchar(_ c: UInt8) -> Bool {
            isUnreserved(c) || isSubDelim(c) || c == 0x3A || c == 0x40
        }

        /// RFC 3987 ucschar: non-ASCII allowed anywhere in an IRI outside the query's private-use extras.
        @inline(__always)
        static func isUcschar(_ v: UInt32) -> Bool {
            switch v {
            case 0xA0...0xD7FF, 0xF900...0xFDCF, 0xFDF0...0xFFEF:
                return true
            case 0x10000...0xDFFFD, 0xE1000...0xEFFFD:
                return v & 0xFFFE != 0xFFFE
            default:
                return false
            }
        }

        @inline(__always)
        static func isIprivate(_ v: UInt32) -> Bool {
            switch v {
            case 0xE000...0xF8FF, 0xF0000...0xFFFFD, 0x100000...0x10FFFD: return true
            default: return false
            }
        }

        /// Whether [s, e) consists of `allowed` ASCII, pct-encoded triplets and (for IRIs) ucschar,
        /// plus iprivate where the grammar allows it (queries only).
        @inline(__always)
        static func scan(_ b: Bytes, _ s: Int, _ e: Int, iri: Bool, privateOK: Bool = false,
                         _ allowed: (UInt8) -> Bool) -> Bool {
            var i = s
            while i < e {
                let c = b[i]
                if c == 0x25 {
                    guard i + 2 < e, isHex(b[i + 1]), isHex(b[i + 2]) else { return false }
                    i += 3
                } else if c < 0x80 {
                    guard allowed(c) else { return false }
                    i += 1
                } else {
                    guard iri else { return false }
                    let v = decodeScalar(b, &i)
                    guard isUcschar(v) || (privateOK && isIprivate(v)) else { return false }
                }
            }
            return true
        }

        static func isValid(_ b: Bytes, iri: Bool, absolute: Bool) -> Bool {
            let n = b.count
            var i = 0
            // A ':' before any '/', '?' or '#' can only end a scheme: relative references forbid it in
            // their first segment (path-noscheme), so "1:b" is invalid rather than a relative path.
            var j = 0
            while j < n {
                let c = b[j]
                if c == 0x3A || c == 0x2F || c == 0x3F || c == 0x23 { break }
                j += 1
            }
            if j < n && b[j] == 0x3A {
                guard j > 0, isAlpha(b[0]) else { return false }
                for k in 1..<j {
                    let c = b[k]
                    guard isAlnum(c) || c == 0x2B || c == 0x2D || c == 0x2E else { return false }
                }
                i = j + 1
            } else if absolute {
                return false
            }
            var pathEnd = i
            while pathEnd < n && b[pathEnd] != 0x3F && b[pathEnd] != 0x23 { pathEnd += 1 }
            if pathEnd - i >= 2 && b[i] == 0x2F && b[i + 1] == 0x2F {
                var a = i + 2
                while a < pathEnd && b[a] != 0x2F { a += 1 }
                guard authority(b, i + 2, a, iri: iri) else { return false }
                i = a
            }
            guard scan(b, i, pathEnd, iri: iri, { isPchar($0) || $0 == 0x2F }) else { return false }
            i = pathEnd
            if i < n && b[i] == 0x3F {
                var q = i + 1
                while q < n && b[q] != 0x23 { q += 1 }
                guard scan(b, i + 1, q, iri: iri, privateOK: true, { isPchar($0) || $0 == 0x2F || $0 == 0x3F })
                else { return false }
                i = q
            }
            if i < n {
                // Only a fragment can remain; a second '#' is not a fragment character.
                guard scan(b, i + 1, n, iri: iri, { isPchar($0) || $0 == 0x2F || $0 == 0x3F }) else { return false }
            }
            return true
        }

        static func authority(_ b: Bytes, _ s: Int, _ e: Int, iri: Bool) -> Bool {
            var h = s
            var at = s
            while at < e && b[at] != 0x40 { at += 1 }
            if at < e {
                guard scan(b, s, at, iri: iri, { isUnreserved($0) || isSubDelim($0) || $0 == 0x3A })
                else { return false }
                h = at + 1
            }
            var portStart: Int
            if h < e && b[h] == 0x5B {
                var close = h + 1
                while close < e && b[close] != 0x5D { close += 1 }
                guard close < e, ipLiteral(b, h + 1, close) else { return false }
                portStart = close + 1
                if portStart == e { return true }
                guard b[portStart] == 0x3A else { return false }
            } else {
                portStart = h
                while portStart < e && b[portStart] != 0x3A { portStart += 1 }
                // reg-name also covers dotted quads, so "999.999.999.999" is a valid (if odd) host.
                guard scan(b, h, portStart, iri: iri, { isUnreserved($0) || isSubDelim($0) }) else { return false }
                if portStart == e { return true }
            }
            portStart += 1
            while portStart < e {
                guard isDigit(b[portStart]) else { return false }
                portStart += 1
            }
            return true
        }

        static func ipLiteral(_ b: Bytes, _ s: Int, _ e: Int) -> Bool {
            guard s < e else { return false }
            guard b[s] | 0x20 == 0x76 else { return IP.isIPv6(b, s, e) }
            // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
            var i = s + 1
            while i < e && isHex(b[i]) { i += 1 }
            guard i > s + 1, i < e, b[i] == 0x2E, i + 1 < e else { return false }
            i += 1
            while i < e {
                let c = b[i]
                guard isUnreserved(c) || isSubDelim(c) || c == 0x3A else { return false }
                i += 1
            }
            return true
        }

        @inline(__always)
        static func isTemplateLiteral(_ c: UInt8) -> Bool {
            // RFC 6570 §2.1 (with erratum 6937 restoring the apostrophe): printable ASCII except
            // space, '"', '%', '<', '>', '\', '^', '`', '{', '|', '}'.
            switch c {
            case 0x21, 0x23, 0x24, 0x26...0x3B, 0x3D, 0x3F...0x5B, 0x5D, 0x5F, 0x61...0x7A, 0x7E:
                return true
            default:
                return false
            }
        }

        static func isTemplate(_ b: Bytes) -> Bool {
            let n = b.count
            var i = 0
            while i < n {
                let c = b[i]
                if c == 0x7B {
                    i += 1
                    guard i < n else { return false }
                    switch b[i] {
                    case 0x2B, 0x23, 0x2E, 0x2F, 0x3B, 0x3F, 0x26, 0x3D, 0x2C, 0x21, 0x40, 0x7C:
                        i += 1
                    default:
                        break
                    }
                    guard expressionBody(b, &i) else { return false }
                } else if c == 0x25 {
                    guard i + 2 < n, isHex(b[i + 1]), isHex(b[i + 2]) else { return false }
                    i += 3
                } else if c < 0x80 {
                    guard isTemplateLiteral(c) else { return false }
                    i += 1
                } else {
                    let v = decodeScalar(b, &i)
                    guard isUcschar(v) || isIprivate(v) else { return false }
                }
            }
            return true
        }

        /// variable-list "}" after the optional operator.
        private static func expressionBody(_ b: Bytes, _ i: inout Int) -> Bool {
            let n = b.count
            while true {
                // varname = varchar *( ["."] varchar )
                guard varchar(b, &i) else { return false }
                while i < n {
                    if b[i] == 0x2E {
                        i += 1
                        guard varchar(b, &i) else { return false }
                    } else if !varchar(b, &i) {
                        break
                    }
                }
                guard i < n else { return false }
                if b[i] == 0x3A {
                    // max-length = %x31-39 0*3DIGIT, i.e. 1...9999 without leading zeros.
                    i += 1
                    guard i < n, b[i] >= 0x31 && b[i] <= 0x39 else { return false }
                    i += 1
                    var digits = 1
                    while i < n && isDigit(b[i]) && digits < 4 {
                        i += 1
                        digits += 1
                    }
                } else if b[i] == 0x2A {
                    i += 1
                }
                guard i < n else { return false }
                if b[i] == 0x2C {
                    i += 1
                    continue
                }
                guard b[i] == 0x7D else { return false }
                i += 1
                return true
            }
        }

        @inline(__always)
        private static func varchar(_ b: Bytes, _ i: inout Int) -> Bool {
            guard i < b.count else { return false }
            let c = b[i]
            if isAlnum(c) || c == 0x5F {
                i += 1
                return true
            }
            if c == 0x25, i + 2 < b.count, isHex(b[i + 1]), isHex(b[i + 2]) {
                i += 3
                return true
            }
            return false
        }
    }
}

// MARK: - hostname (RFC 1123), idn-hostname (RFC 5890-5893)

extension FormatChecker {
    enum Hostname {
        struct Label {
            /// Octets of the label in its ASCII (A-label) form, which is what the DNS length limits apply to.
            var length: Int
            /// Contains an R, AL or AN character, which makes the whole name a "Bidi domain name".
            var rightToLeft: Bool
            /// Passes the RFC 5893 §2 Bidi rule (only enforced when the name is a Bidi domain name).
            var bidiOK: Bool
        }

        /// Validates the name in [s, e). Plain `hostname` is ASCII-only but still checks that "xn--"
        /// labels are genuine A-labels, as RFC 5890 §2.3.2.1 requires of any label with that prefix.
        static func isValid(_ b: Bytes, _ s: Int, _ e: Int, idn: Bool) -> Bool {
            guard e > s else { return false }
            var i = s
            var total = 0
            var bidiDomain = false
            var bidiOK = true
            while true {
                var j = i
                var ascii = true
                var separator = 0
                while j < e {
                    let c = b[j]
                    if c == 0x2E {
                        separator = 1
                        break
                    }
                    if c >= 0x80 {
                        guard idn else { return false }
                        // RFC 3490 §3.1: U+3002, U+FF0E and U+FF61 also separate labels.
                        if j + 2 < e, (c == 0xE3 && b[j + 1] == 0x80 && b[j + 2] == 0x82)
                            || (c == 0xEF && ((b[j + 1] == 0xBC && b[j + 2] == 0x8E)
                                || (b[j + 1] == 0xBD && b[j + 2] == 0xA1))) {
                            separator = 3
                            break
                        }
                        ascii = false
                    }
                    j += 1
                }
                guard j > i,
                      let label = ascii ? asciiLabel(b, i, j, idn: idn) : unicodeLabel(b, i, j)
                else { return false }
                total += label.length
                bidiDomain = bidiDomain || label.rightToLeft
                bidiOK = bidiOK && label.bidiOK
                if j == e { break }
                total += 1
                i = j + separator
                // A trailing root dot is not part of the format.
                guard i < e else { return false }
            }
            return total <= 253 && (!bidiDomain || bidiOK)
        }

        private static func asciiLabel(_ b: Bytes, _ s: Int, _ e: Int, idn: Bool) -> Label? {
            let n = e - s
            guard n <= 63, b[s] != 0x2D, b[e - 1] != 0x2D else { return nil }
            for k in s..<e {
                guard isAlnum(b[k]) || b[k] == 0x2D else { return nil }
            }
            if n >= 4 && b[s + 2] == 0x2D && b[s + 3] == 0x2D {
                if b[s] | 0x20 == 0x78 && b[s + 1] | 0x20 == 0x6E {
                    return aLabel(b, s + 4, e)
                }
                // Other "??--" labels are reserved (RFC 5890 §2.3.1); RFC 1123 alone does not forbid them.
                if idn { return nil }
            }
            // An LDH label is left-to-right and Bidi-valid exactly when it starts with a letter.
            return Label(length: n, rightToLeft: false, bidiOK: isAlpha(b[s]))
        }

        /// The Punycode after "xn--" must decode to a valid U-label that encodes back to the same text.
        private static func aLabel(_ b: Bytes, _ s: Int, _ e: Int) -> Label? {
            withLabelBuffers { scalars, ascii -> Label? in
                guard let count = Punycode.decode(b, s, e, into: scalars) else { return nil }
                let u = UnsafeBufferPointer(rebasing: scalars[0..<count])
                guard u.contains(where: { $0 >= 0x80 }), let info = IDNA.checkULabel(u),
                      let encodedCount = Punycode.encode(u, into: ascii), encodedCount == e - s
                else { return nil }
                for k in 0..<encodedCount {
                    // Punycode digits are case-insensitive; basic code points keep their case on both sides.
                    guard ascii[k] == b[s + k] || (isAlpha(ascii[k]) && ascii[k] | 0x20 == b[s + k] | 0x20)
                    else { return nil }
                }
                return Label(length: e - s + 4, rightToLeft: info.rightToLeft, bidiOK: info.bidiOK)
            }
        }

        private static func unicodeLabel(_ b: Bytes, _ s: Int, _ e: Int) -> Label? {
            withLabelBuffers { scalars, ascii -> Label? in
                var count = 0
                var i = s
                while i < e {
                    // Each code point costs at least one octet of the 59 after "xn--", so longer labels cannot fit.
                    guard count < 59 else { return nil }
                    scalars[count] = decodeScalar(b, &i)
                    count += 1
                }
                let u = UnsafeBufferPointer(rebasing: scalars[0..<count])
                guard let info = IDNA.checkULabel(u),
                      let encodedCount = Punycode.encode(u, into: UnsafeMutableBufferPointer(rebasing: ascii[0..<59]))
                else { return nil }
                return Label(length: encodedCount + 4, rightToLeft: info.rightToLeft, bidiOK: info.bidiOK)
            }
        }

        /// A label that fits the 63-octet DNS limit holds at most 63 code points in either form, so fixed
        /// stack buffers replace per-label arrays.
        @inline(__always)
        private static func withLabelBuffers<R>(
            _ body: (UnsafeMutableBufferPointer<UInt32>, UnsafeMutableBufferPointer<UInt8>) -> R
        ) -> R {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { scalars in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { ascii in body(scalars, ascii) }
            }
        }
    }

    /// RFC 3492 with the IDNA parameters.
    enum Punycode {
        private static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700
        private static let initialBias = 72, initialN = 128
        private static let maxInt = Int(Int32.max)

        @inline(__always)
        private static func threshold(_ k: Int, _ bias: Int) -> Int {
            k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
        }

        private static func adapt(_ delta: Int, _ numPoints: Int, _ firstTime: Bool) -> Int {
            var delta = firstTime ? delta / damp : delta / 2
            delta += delta / numPoints
            var k = 0
            while delta > ((base - tMin) * tMax) / 2 {
                delta /= base - tMin
                k += base
            }
            return k + (base - tMin + 1) * delta / (delta + skew)
        }

        @inline(__always)
        private static func digitValue(_ c: UInt8) -> Int? {
            if isDigit(c) { return Int(c - 0x30) + 26 }
            let l = c | 0x20
            if l >= 0x61 && l <= 0x7A { return Int(l - 0x61) }
            return nil
        }

        @inline(__always)
        private static func digitChar(_ d: Int) -> UInt8 {
            d < 26 ? UInt8(0x61 + d) : UInt8(0x30 + d - 26)
        }

        /// Decodes [s, e) into `out`; returns the code point count, or nil for malformed input or overflow.
        static func decode(_ b: Bytes, _ s: Int, _ e: Int, into out: UnsafeMutableBufferPointer<UInt32>) -> Int? {
            var count = 0
            var delimiter = e
            var k = e
            while k > s {
                k -= 1
                if b[k] == 0x2D {
                    delimiter = k
                    break
                }
            }
            var p = s
            if delimiter < e {
                guard delimiter - s <= out.count else { return nil }
                for q in s..<delimiter {
                    out[count] = UInt32(b[q])
                    count += 1
                }
                p = delimiter + 1
            }
            var n = initialN, i = 0, bias = initialBias
            while p < e {
                let oldI = i
                var w = 1
                var k = base
                while true {
                    guard p < e, let digit = digitValue(b[p]) else { return nil }
                    p += 1
                    i += digit * w
                    guard i <= maxInt else { return nil }
                    let t = threshold(k, bias)
                    if digit < t { break }
                    w *= base - t
                    guard w <= maxInt else { return nil }
                    k += base
                }
                bias = adapt(i - oldI, count + 1, oldI == 0)
                n += i / (count + 1)
                i %= count + 1
                guard n <= 0x10FFFF, !(0xD800...0xDFFF).contains(n), count < out.count else { return nil }
                var q = count
                while q > i {
                    out[q] = out[q - 1]
                    q -= 1
                }
                out[i] = UInt32(n)
                count += 1
                i += 1
            }
            return count
        }

        /// Encodes `u` into `out`; returns the octet count, or nil when it does not fit.
        static func encode(_ u: UnsafeBufferPointer<UInt32>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int? {
            var count = 0
            @inline(__always) func emit(_ c: UInt8) -> Bool {
                guard count < out.count else { return false }
                out[count] = c
                count += 1
                return true
            }
            for c in u where c < 0x80 {
                guard emit(UInt8(c)) else { return nil }
            }
            let basicCount = count
            var handled = basicCount
            if basicCount > 0 {
                guard emit(0x2D) else { return nil }
            }
            var n = initialN, delta = 0, bias = initialBias
            while handled < u.count {
                var m = Int.max
                for c in u where Int(c) >= n && Int(c) < m { m = Int(c) }
                delta += (m - n) * (handled + 1)
                n = m
                for c in u {
                    if Int(c) < n {
                        delta += 1
                    } else if Int(c) == n {
                        var q = delta
                        var k = base
                        while true {
                            let t = threshold(k, bias)
                            if q < t { break }
                            guard emit(digitChar(t + (q - t) % (base - t))) else { return nil }
                            q = (q - t) / (base - t)
                            k += base
                        }
                        guard emit(digitChar(q)) else { return nil }
                        bias = adapt(delta, handled + 1, handled == basicCount)
                        delta = 0
                        handled += 1
                    }
                }
                delta += 1
                n += 1
            }
            return count
        }
    }

    /// IDNA2008 code point classification (RFC 5892) and the per-label rules of RFC 5891 §4.2 and RFC 5893.
    /// Derived from the standard library's Unicode properties rather than a generated table, so it tracks
    /// the toolchain's Unicode version; only script, joining type and (approximate) Bidi data are tabulated.
    enum IDNA {
        enum Category { case pvalid, contextJ, contextO, disallowed }

        static func category(_ v: UInt32) -> Category {
            switch v {
            // RFC 5892 §2.6 exceptions come first.
            case 0xDF, 0x3C2, 0x6FD, 0x6FE, 0xF0B, 0x3007:
                return .pvalid
            case 0xB7, 0x375, 0x5F3, 0x5F4, 0x30FB, 0x660...0x669, 0x6F0...0x6F9:
                return .contextO
            case 0x640, 0x7FA, 0x302E, 0x302F, 0x3031...0x3035, 0x303B:
                return .disallowed
            case 0x2D, 0x30...0x39, 0x61...0x7A:
                return .pvalid
            case 0x200C, 0x200D:
                return .contextJ
            case 0..<0x80:
                return .disallowed
            // Hot path for the big fully assigned, all-Lo blocks (CJK ideographs, Hangul syllables), which
            // would otherwise pay for several Unicode property lookups per character.
            case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7A3:
                return .pvalid
            // IgnorableBlocks and OldHangulJamo.
            case 0x20D0...0x20FF, 0x1D100...0x1D24F, 0x1100...0x11FF, 0xA960...0xA97F, 0xD7B0...0xD7FF:
                return .disallowed
            default:
                break
            }
            guard let scalar = Unicode.Scalar(v) else { return .disallowed }
            let p = scalar.properties
            // RFC 5892 §3 tests Unassigned, Unstable and IgnorableProperties before LetterDigits, but every
            // branch except LetterDigits ends in a rejection, so the general category can go first. That
            // excludes unassigned code points, noncharacters (Cn) and White_Space (Z*, Cc) on its own.
            switch p.generalCategory {
            case .lowercaseLetter, .uppercaseLetter, .otherLetter, .decimalNumber, .modifierLetter,
                 .nonspacingMark, .spacingMark:
                break
            default:
                return .disallowed
            }
            // Unstable (NFKC_Casefold changes it) or Default_Ignorable_Code_Point.
            return p.changesWhenNFKCCaseFolded || p.isDefaultIgnorableCodePoint ? .disallowed : .pvalid
        }

        /// nil when the label is not a valid U-label; otherwise its Bidi facts for the domain-wide check.
        static func checkULabel(_ u: UnsafeBufferPointer<UInt32>) -> (rightToLeft: Bool, bidiOK: Bool)? {
            guard let first = u.first, let last = u.last, first != 0x2D, last != 0x2D else { return nil }
            if u.count >= 4 && u[2] == 0x2D && u[3] == 0x2D { return nil }
            if let scalar = Unicode.Scalar(first) {
                switch scalar.properties.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark: return nil
                default: break
                }
            }
            for idx in u.indices {
                switch category(u[idx]) {
                case .pvalid: continue
                case .disallowed: return nil
                case .contextJ: guard contextJ(u, idx) else { return nil }
                case .contextO: guard contextO(u, idx) else { return nil }
                }
            }
            return bidi(u)
        }

        private static func isVirama(_ v: UInt32) -> Bool {
            Unicode.Scalar(v)?.properties.canonicalCombiningClass == .virama
        }

        /// Joining_Type=T is Mn, Me and Cf apart from the joiners themselves (Unicode ArabicShaping.txt).
        private static func isTransparent(_ v: UInt32) -> Bool {
            guard v != 0x200C, v != 0x200D, let scalar = Unicode.Scalar(v) else { return false }
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .enclosingMark, .format: return true
            default: return false
            }
        }

        /// RFC 5892 appendix A.1 and A.2.
        private static func contextJ(_ u: UnsafeBufferPointer<UInt32>, _ idx: Int) -> Bool {
            if idx > 0 && isVirama(u[idx - 1]) { return true }
            guard u[idx] == 0x200C else { return false }
            // (Joining_Type:{L,D})(Joining_Type:T)*\u200C(Joining_Type:T)*(Joining_Type:{R,D})
            var k = idx - 1
            while k >= 0 && isTransparent(u[k]) { k -= 1 }
            guard k >= 0, contains(Tables.joiningLeftOrDual, u[k]) else { return false }
            k = idx + 1
            while k < u.count && isTransparent(u[k]) { k += 1 }
            return k < u.count && contains(Tables.joiningRightOrDual, u[k])
        }

        /// RFC 5892 appendix A.3 to A.9.
        private static func contextO(_ u: UnsafeBufferPointer<UInt32>, _ idx: Int) -> Bool {
            switch u[idx] {
            case 0xB7:
                return idx > 0 && idx + 1 < u.count && u[idx - 1] == 0x6C && u[idx + 1] == 0x6C
            case 0x375:
                return idx + 1 < u.count && contains(Tables.greek, u[idx + 1])
            case 0x5F3, 0x5F4:
                return idx > 0 && contains(Tables.hebrew, u[idx - 1])
            case 0x30FB:
                return u.contains {
                    contains(Tables.hiragana, $0) || contains(Tables.katakana, $0) || contains(Tables.han, $0)
                }
            case 0x660...0x669:
                return !u.contains { (0x6F0...0x6F9).contains($0) }
            case 0x6F0...0x6F9:
                return !u.contains { (0x660...0x669).contains($0) }
            default:
                return false
            }
        }

        /// Bidi classes collapsed to what RFC 5893 distinguishes; R stands for both R and AL, and
        /// `neutral` for ES, CS, ET, ON and BN, which both label directions accept.
        enum Direction { case l, r, an, en, nsm, neutral }

        /// Bidi_Class for the code points `category` lets through (letters, marks, Nd, the exceptions and
        /// the joiners), which only take L, R, AL, AN, EN, NSM, ON or BN: the right-to-left blocks give R/AL
        /// and the listed code points are the exceptions. Checked against all of Unicode 14's Bidi data;
        /// later additions fall back to their block's direction.
        static func direction(_ v: UInt32) -> Direction {
            if v < 0x80 {
                if isDigit(UInt8(v)) { return .en }
                return isAlpha(UInt8(v)) ? .l : .neutral
            }
            switch v {
            case 0x660...0x669, 0x66B, 0x66C, 0x6DD, 0x890, 0x891, 0x8E2, 0x10D30...0x10D39, 0x10E60...0x10E7E:
                return .an
            case 0x6F0...0x6F9:
                return .en
            case 0xB7, 0x375, 0x30FB, 0x200C, 0x200D,
                 0x2B9, 0x2BA, 0x2C6...0x2CF, 0x2EC, 0x2E2F, 0xA67F, 0xA717...0xA71F, 0xA788:
                return .neutral
            case 0xC0...0x24F, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7A3:
                // Hot path: Latin letters, CJK ideographs and Hangul syllables need no property lookup.
                return .l
            case 0xCBF, 0xCC6, 0x11A07, 0x11A08, 0x11C3F:
                // Nonspacing marks that are nevertheless Bidi_Class=L.
                return .l
            default:
                break
            }
            if let scalar = Unicode.Scalar(v) {
                switch scalar.properties.generalCategory {
                case .nonspacingMark, .enclosingMark: return .nsm
                default: break
                }
            }
            switch v {
            case 0x590...0x8FF, 0xFB1D...0xFDFF, 0xFE70...0xFEFF, 0x10800...0x10FFF, 0x1E800...0x1EFFF:
                return .r
            default:
                return .l
            }
        }

        /// RFC 5893 §2 rules 1-6 for one label.
        private static func bidi(_ u: UnsafeBufferPointer<UInt32>) -> (rightToLeft: Bool, bidiOK: Bool) {
            let first = direction(u[0])
            var rightToLeft = false, hasEN = false, hasAN = false
            var fitsRTL = true, fitsLTR = true
            var lastStrong = Direction.nsm
            for v in u {
                let d = direction(v)
                switch d {
                case .r:
                    rightToLeft = true
                    fitsLTR = false
                case .an:
                    rightToLeft = true
                    hasAN = true
                    fitsLTR = false
                case .en:
                    hasEN = true
                case .l:
                    fitsRTL = false
                case .nsm, .neutral:
                    break
                }
                if d != .nsm { lastStrong = d }
            }
            let ok: Bool
            switch first {
            case .r:
                ok = fitsRTL && !(hasEN && hasAN)
                    && (lastStrong == .r || lastStrong == .en || lastStrong == .an)
            case .l:
                ok = fitsLTR && (lastStrong == .l || lastStrong == .en)
            default:
                ok = false
            }
            return (rightToLeft, ok)
        }
    }
}

// MARK: - Unicode data the standard library does not expose (taken from the IDNA tables for Unicode 17)

extension FormatChecker.IDNA {
    enum Tables {
        /// Script=Greek.
        static let greek: [ClosedRange<UInt32>] = [
            0x370...0x373, 0x375...0x377, 0x37A...0x37D, 0x37F...0x37F, 0x384...0x384,
            0x386...0x386, 0x388...0x38A, 0x38C...0x38C, 0x38E...0x3A1, 0x3A3...0x3E1,
            0x3F0...0x3FF, 0x1D26...0x1D2A, 0x1D5D...0x1D61, 0x1D66...0x1D6A, 0x1DBF...0x1DBF,
            0x1F00...0x1F15, 0x1F18...0x1F1D, 0x1F20...0x1F45, 0x1F48...0x1F4D, 0x1F50...0x1F57,
            0x1F59...0x1F59, 0x1F5B...0x1F5B, 0x1F5D...0x1F5D, 0x1F5F...0x1F7D, 0x1F80...0x1FB4,
            0x1FB6...0x1FC4, 0x1FC6...0x1FD3, 0x1FD6...0x1FDB, 0x1FDD...0x1FEF, 0x1FF2...0x1FF4,
            0x1FF6...0x1FFE, 0x2126...0x2126, 0xAB65...0xAB65, 0x10140...0x1018E, 0x101A0...0x101A0,
            0x1D200...0x1D245,
        ]

        /// Script=Hebrew.
        static let hebrew: [ClosedRange<UInt32>] = [
            0x591...0x5C7, 0x5D0...0x5EA, 0x5EF...0x5F4, 0xFB1D...0xFB36, 0xFB38...0xFB3C,
            0xFB3E...0xFB3E, 0xFB40...0xFB41, 0xFB43...0xFB44, 0xFB46...0xFB4F,
        ]

        /// Script=Hiragana.
        static let hiragana: [ClosedRange<UInt32>] = [
            0x3041...0x3096, 0x309D...0x309F, 0x1B001...0x1B11F, 0x1B132...0x1B132, 0x1B150...0x1B152,
            0x1F200...0x1F200,
        ]

        /// Script=Katakana.
        static let katakana: [ClosedRange<UInt32>] = [
            0x30A1...0x30FA, 0x30FD...0x30FF, 0x31F0...0x31FF, 0x32D0...0x32FE, 0x3300...0x3357,
            0xFF66...0xFF6F, 0xFF71...0xFF9D, 0x1AFF0...0x1AFF3, 0x1AFF5...0x1AFFB, 0x1AFFD...0x1AFFE,
            0x1B000...0x1B000, 0x1B120...0x1B122, 0x1B155...0x1B155, 0x1B164...0x1B167,
        ]

        /// Script=Han.
        static let han: [ClosedRange<UInt32>] = [
            0x2E80...0x2E99, 0x2E9B...0x2EF3, 0x2F00...0x2FD5, 0x3005...0x3005, 0x3007...0x3007,
            0x3021...0x3029, 0x3038...0x303B, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFA6D,
            0xFA70...0xFAD9, 0x16FE2...0x16FE3, 0x16FF0...0x16FF6, 0x20000...0x2A6DF, 0x2A700...0x2B81D,
            0x2B820...0x2CEAD, 0x2CEB0...0x2EBE0, 0x2EBF0...0x2EE5D, 0x2F800...0x2FA1D, 0x30000...0x3134A,
            0x31350...0x33479,
        ]

        /// Joining_Type L or D (the side before a ZWNJ).
        static let joiningLeftOrDual: [ClosedRange<UInt32>] = [
            0x620...0x620, 0x626...0x626, 0x628...0x628, 0x62A...0x62E, 0x633...0x63F,
            0x641...0x647, 0x649...0x64A, 0x66E...0x66F, 0x678...0x687, 0x69A...0x6BF,
            0x6C1...0x6C2, 0x6CC...0x6CC, 0x6CE...0x6CE, 0x6D0...0x6D1, 0x6FA...0x6FC,
            0x6FF...0x6FF, 0x712...0x714, 0x71A...0x71D, 0x71F...0x727, 0x729...0x729,
            0x72B...0x72B, 0x72D...0x72E, 0x74E...0x758, 0x75C...0x76A, 0x76D...0x770,
            0x772...0x772, 0x775...0x777, 0x77A...0x77F, 0x7CA...0x7EA, 0x841...0x845,
            0x848...0x848, 0x84A...0x853, 0x855...0x855, 0x860...0x860, 0x862...0x865,
            0x868...0x868, 0x886...0x886, 0x889...0x88D, 0x88F...0x88F, 0x8A0...0x8A9,
            0x8AF...0x8B0, 0x8B3...0x8B8, 0x8BA...0x8C8, 0x1807...0x1807, 0x1820...0x1878,
            0x1887...0x18A8, 0x18AA...0x18AA, 0xA840...0xA872, 0x10AC0...0x10AC4, 0x10ACD...0x10ACD,
            0x10AD3...0x10ADC, 0x10ADE...0x10AE0, 0x10AEB...0x10AEE, 0x10B80...0x10B80, 0x10B82...0x10B82,
            0x10B86...0x10B88, 0x10B8A...0x10B8B, 0x10B8D...0x10B8D, 0x10B90...0x10B90, 0x10BAD...0x10BAE,
            0x10D00...0x10D21, 0x10D23...0x10D23, 0x10EC3...0x10EC4, 0x10EC6...0x10EC7, 0x10F30...0x10F32,
            0x10F34...0x10F44, 0x10F51...0x10F53, 0x10F70...0x10F73, 0x10F76...0x10F81, 0x10FB0...0x10FB0,
            0x10FB2...0x10FB3, 0x10FB8...0x10FB8, 0x10FBB...0x10FBC, 0x10FBE...0x10FBF, 0x10FC1...0x10FC1,
            0x10FC4...0x10FC4, 0x10FCA...0x10FCB, 0x1E900...0x1E943,
        ]

        /// Joining_Type R or D (the side after a ZWNJ).
        static let joiningRightOrDual: [ClosedRange<UInt32>] = [
            0x620...0x620, 0x622...0x63F, 0x641...0x64A, 0x66E...0x66F, 0x671...0x673,
            0x675...0x6D3, 0x6D5...0x6D5, 0x6EE...0x6EF, 0x6FA...0x6FC, 0x6FF...0x6FF,
            0x710...0x710, 0x712...0x72F, 0x74D...0x77F, 0x7CA...0x7EA, 0x840...0x858,
            0x860...0x860, 0x862...0x865, 0x867...0x86A, 0x870...0x882, 0x886...0x886,
            0x889...0x88F, 0x8A0...0x8AC, 0x8AE...0x8C8, 0x1807...0x1807, 0x1820...0x1878,
            0x1887...0x18A8, 0x18AA...0x18AA, 0xA840...0xA871, 0x10AC0...0x10AC5, 0x10AC7...0x10AC7,
            0x10AC9...0x10ACA, 0x10ACE...0x10AD6, 0x10AD8...0x10AE1, 0x10AE4...0x10AE4, 0x10AEB...0x10AEF,
            0x10B80...0x10B91, 0x10BA9...0x10BAE, 0x10D01...0x10D23, 0x10EC2...0x10EC4, 0x10EC6...0x10EC7,
            0x10F30...0x10F44, 0x10F51...0x10F54, 0x10F70...0x10F81, 0x10FB0...0x10FB0, 0x10FB2...0x10FB6,
            0x10FB8...0x10FBF, 0x10FC1...0x10FC4, 0x10FC9...0x10FCA, 0x1E900...0x1E943,
        ]
    }
}
