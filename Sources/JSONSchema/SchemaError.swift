/// Why a schema cannot be compiled. Every case names the place to fix.
public enum SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidJSON(JSONParseError)
    case unresolvableReference(ref: String, at: String)
    case invalidKeyword(keyword: String, at: String, reason: String)
    case invalidRegex(pattern: String, at: String, reason: String)
    case unknownVocabulary(String)
    case unknownMetaschema(String)
    case tooComplex(String)

    public var description: String {
        switch self {
        case .invalidJSON(let e): return "schema is not valid JSON: \(e)"
        case .unresolvableReference(let ref, let at):
            return "cannot resolve $ref '\(ref)' at '\(at)': no such schema is loaded (remote references are never fetched; register the document first)"
        case .invalidKeyword(let k, let at, let why): return "invalid '\(k)' at '\(at)': \(why)"
        case .invalidRegex(let p, let at, let why): return "invalid regular expression '\(p)' at '\(at)': \(why)"
        case .unknownVocabulary(let v): return "the meta-schema requires the unknown vocabulary '\(v)'"
        case .unknownMetaschema(let m): return "unknown meta-schema '\(m)' in $schema: register it first"
        case .tooComplex(let why): return "schema too complex: \(why)"
        }
    }
}
