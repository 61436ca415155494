/// The JSON Schema drafts this validator implements.
public enum Dialect: String, Sendable, CaseIterable {
    case draft7 = "http://json-schema.org/draft-07/schema"
    case draft2019_09 = "https://json-schema.org/draft/2019-09/schema"
    case draft2020_12 = "https://json-schema.org/draft/2020-12/schema"

    /// The dialect a `$schema` value names, ignoring an empty fragment.
    init?(schemaURI: String) {
        var s = schemaURI
        if s.hasSuffix("#") { s.removeLast() }
        if s.hasPrefix("https://json-schema.org/draft-07/") { s = "http://" + s.dropFirst("https://".count) }
        self.init(rawValue: s)
    }

    var isModern: Bool { self != .draft7 }
}

/// The 2019-09/2020-12 vocabularies that switch groups of keywords on and off.
struct Vocabularies: OptionSet, Sendable {
    let rawValue: UInt8
    static let applicator = Vocabularies(rawValue: 1)
    static let validation = Vocabularies(rawValue: 2)
    static let unevaluated = Vocabularies(rawValue: 4)
    static let formatAssertion = Vocabularies(rawValue: 8)
    static let standard: Vocabularies = [.applicator, .validation, .unevaluated]

    /// Maps a meta-schema's `$vocabulary`; unknown required vocabularies are an error per the spec.
    static func from(_ vocab: JSONObject) throws(SchemaError) -> Vocabularies {
        var v: Vocabularies = []
        for (uri, required) in vocab {
            let name = uri.split(separator: "/").last.map(String.init) ?? uri
            let known = uri.hasPrefix("https://json-schema.org/draft/2020-12/vocab/") || uri.hasPrefix("https://json-schema.org/draft/2019-09/vocab/")
            switch (known, name) {
            case (true, "applicator"): v.insert(.applicator)
            case (true, "validation"): v.insert(.validation)
            case (true, "unevaluated"): v.insert(.unevaluated)
            case (true, "format-assertion"): v.insert(.formatAssertion)
            case (true, "core"), (true, "meta-data"), (true, "format-annotation"), (true, "content"), (true, "format"): break
            default:
                if required == .bool(true) { throw .unknownVocabulary(uri) }
            }
        }
        if vocab["https://json-schema.org/draft/2019-09/vocab/applicator"] != nil { v.insert(.unevaluated) }
        return v
    }
}
