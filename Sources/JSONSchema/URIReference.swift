/// An RFC 3986 URI reference split into its five parts, with reference resolution (section 5.2),
/// which is all `$id` and `$ref` need. No I/O ever happens here.
struct URIReference: Equatable {
    var scheme: String?
    var authority: String?
    var path: String
    var query: String?
    var fragment: String?

    init(scheme: String?, authority: String?, path: String, query: String?, fragment: String?) {
        self.scheme = scheme; self.authority = authority; self.path = path; self.query = query; self.fragment = fragment
    }

    /// Splits per RFC 3986 appendix B; never fails (any string is a reference of some shape).
    init(_ s: String) {
        var rest = Substring(s)
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        }
        if let q = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        if let colon = rest.firstIndex(of: ":"), !rest[..<colon].contains("/"), colon != rest.startIndex,
           rest[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") })
        {
            scheme = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let end = rest.firstIndex(of: "/") ?? rest.endIndex
            authority = String(rest[..<end])
            rest = rest[end...]
        }
        path = String(rest)
    }

    var string: String {
        var s = ""
        if let scheme { s += scheme + ":" }
        if let authority { s += "//" + authority }
        s += path
        if let query { s += "?" + query }
        if let fragment { s += "#" + fragment }
        return s
    }

    /// The reference without its fragment.
    var withoutFragment: URIReference {
        var u = self
        u.fragment = nil
        return u
    }

    /// Resolves `ref` against self as the base (RFC 3986 §5.2.2).
    func resolve(_ ref: URIReference) -> URIReference {
        var t = URIReference(scheme: nil, authority: nil, path: "", query: nil, fragment: ref.fragment)
        if let s = ref.scheme {
            t.scheme = s; t.authority = ref.authority; t.path = Self.removeDotSegments(ref.path); t.query = ref.query
        } else {
            if ref.authority != nil {
                t.authority = ref.authority; t.path = Self.removeDotSegments(ref.path); t.query = ref.query
            } else {
                if ref.path.isEmpty {
                    t.path = path
                    t.query = ref.query ?? query
                } else {
                    if ref.path.hasPrefix("/") {
                        t.path = Self.removeDotSegments(ref.path)
                    } else {
                        t.path = Self.removeDotSegments(merge(ref.path))
                    }
                    t.query = ref.query
                }
                t.authority = authority
            }
            t.scheme = scheme
        }
        return t
    }

    func resolve(_ ref: String) -> URIReference { resolve(URIReference(ref)) }

    private func merge(_ refPath: String) -> String {
        if authority != nil && path.isEmpty { return "/" + refPath }
        if let slash = path.lastIndex(of: "/") { return String(path[...slash]) + refPath }
        return refPath
    }

    static func removeDotSegments(_ input: String) -> String {
        if !input.contains(".") { return input }
        var inp = Substring(input)
        var out: [Substring] = []
        var result = ""
        while !inp.isEmpty {
            if inp.hasPrefix("../") { inp = inp.dropFirst(3) }
            else if inp.hasPrefix("./") { inp = inp.dropFirst(2) }
            else if inp.hasPrefix("/./") { inp = inp.dropFirst(2) }
            else if inp == "/." { inp = "/" }
            else if inp.hasPrefix("/../") { inp = inp.dropFirst(3); if !out.isEmpty { out.removeLast() } }
            else if inp == "/.." { inp = "/"; if !out.isEmpty { out.removeLast() } }
            else if inp == "." || inp == ".." { inp = "" }
            else {
                let start = inp.hasPrefix("/") ? inp.index(after: inp.startIndex) : inp.startIndex
                let end = inp[start...].firstIndex(of: "/") ?? inp.endIndex
                out.append(inp[..<end])
                inp = inp[end...]
            }
        }
        for seg in out { result += seg }
        return result
    }
}

/// RFC 6901 JSON Pointer helpers.
public enum JSONPointer {
    /// Escapes one reference token ("~" → "~0", "/" → "~1").
    public static func escape(_ token: String) -> String {
        if !token.contains("~") && !token.contains("/") { return token }
        return token.replacingOccurrences("~", "~0").replacingOccurrences("/", "~1")
    }

    /// The reference tokens of a pointer, or nil when it is not a valid pointer.
    public static func tokens(_ pointer: String) -> [String]? {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { return nil }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).replacingOccurrences("~1", "/").replacingOccurrences("~0", "~")
        }
    }

    /// The value a pointer designates inside `root`, or nil when it designates nothing.
    public static func resolve(_ pointer: String, in root: JSONValue) -> JSONValue? {
        guard let tokens = tokens(pointer) else { return nil }
        var cur = root
        for t in tokens {
            switch cur {
            case .object(let o):
                guard let v = o[t] else { return nil }
                cur = v
            case .array(let a):
                guard let i = Int(t), i >= 0, i < a.count, t == String(i) else { return nil }
                cur = a[i]
            default: return nil
            }
        }
        return cur
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard contains(target) else { return self }
        var result = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            result += rest[..<r.lowerBound]
            result += replacement
            rest = rest[r.upperBound...]
        }
        return result + rest
    }

    /// Percent-decodes a URI fragment (invalid escapes are kept as written).
    var percentDecoded: String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var it = Array(utf8)[...]
        while let c = it.first {
            if c == UInt8(ascii: "%"), it.count >= 3,
               let v = UInt8(String(decoding: it.dropFirst().prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v); it = it.dropFirst(3)
            } else { bytes.append(c); it = it.dropFirst() }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
