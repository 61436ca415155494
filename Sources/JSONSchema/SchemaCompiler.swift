/// Turns schema JSON into a graph of `SchemaNode`s: first indexes every document's resources and anchors,
/// then compiles reachable subschemas with an explicit work list (no recursion, so deep schemas are safe)
/// and binds every `$ref` once. Validation never parses or resolves URIs again.
final class SchemaCompiler {
    static let internalBase = "atelier:///root.json"
    static let maxNodes = 200_000

    struct Location: Hashable {
        var doc: Int
        var pointer: String
    }

    struct Info {
        var resource: Resource
        /// Pointer of this location inside its resource.
        var resourcePointer: String
        var dialect: Dialect
        var vocab: Vocabularies
    }

    let registry: SchemaRegistry
    let formatAssertion: Bool
    private var docs: [JSONValue] = []
    private var resources: [String: Location] = [:]
    private var resourceObjects: [String: Resource] = [:]
    private var anchors: [String: Location] = [:]
    private var dynamicAnchorLocations: [(Resource, String, Location)] = []
    private var infos: [Location: Info] = [:]
    private var nodes: [Location: SchemaNode] = [:]
    private var queue: [(SchemaNode, Location)] = []
    private(set) var usesUnevaluated = false

    init(registry: SchemaRegistry, formatAssertion: Bool) {
        self.registry = registry
        self.formatAssertion = formatAssertion
    }

    func compile(_ root: JSONValue, dialect: Dialect) throws(SchemaError) -> SchemaNode {
        let loc = try addDocument(root, uri: Self.internalBase, dialect: dialect)
        let node = self.node(at: loc)
        try drain()
        // $dynamicRef targets are chosen at validation time, so every dynamic anchor must be compiled.
        var bound = 0
        while bound < dynamicAnchorLocations.count {
            let (res, name, l) = dynamicAnchorLocations[bound]
            res.dynamicAnchors[name] = self.node(at: l)
            bound += 1
            try drain()
        }
        return node
    }

    private func drain() throws(SchemaError) {
        while let (node, loc) = queue.popLast() {
            try compileKeywords(node, at: loc)
            if nodes.count > Self.maxNodes { throw .tooComplex("more than \(Self.maxNodes) subschemas") }
        }
    }

    // MARK: Indexing

    @discardableResult
    private func addDocument(_ doc: JSONValue, uri: String, dialect: Dialect) throws(SchemaError) -> Location {
        docs.append(doc)
        let loc = Location(doc: docs.count - 1, pointer: "")
        let res = resource(uri, internal: uri == Self.internalBase)
        resources[uri] = loc
        try index(doc, loc, base: URIReference(uri), resource: res, resourcePointer: "", dialect: dialect, vocab: .standard, isRoot: true)
        return loc
    }

    private func resource(_ uri: String, internal isInternal: Bool = false) -> Resource {
        if let r = resourceObjects[uri] { return r }
        let r = Resource(uri: uri, isInternal: isInternal)
        resourceObjects[uri] = r
        return r
    }

    private func index(_ value: JSONValue, _ loc: Location, base: URIReference, resource: Resource, resourcePointer: String,
                       dialect: Dialect, vocab: Vocabularies, isRoot: Bool) throws(SchemaError) {
        guard case .object(let obj) = value else {
            infos[loc] = Info(resource: resource, resourcePointer: resourcePointer, dialect: dialect, vocab: vocab)
            return
        }
        var dialect = dialect, vocab = vocab, base = base, resource = resource, resourcePointer = resourcePointer
        let hasID: Bool = {
            if dialect == .draft7 { return obj["$id"]?.stringValue.map { !$0.hasPrefix("#") } ?? false }
            return obj["$id"] != nil
        }()
        if let s = obj["$schema"]?.stringValue, isRoot || hasID {
            (dialect, vocab) = try dialectOf(s)
        }
        let refSiblingsIgnored = dialect == .draft7 && obj["$ref"] != nil
        if let id = obj["$id"]?.stringValue, !refSiblingsIgnored {
            let resolved = base.resolve(id)
            if dialect == .draft7 && id.hasPrefix("#") {
                anchors[base.withoutFragment.string + "#" + id.dropFirst()] = loc
            } else {
                base = resolved.withoutFragment
                let uri = base.string
                resource = self.resource(uri)
                resourcePointer = ""
                if resources[uri] == nil { resources[uri] = loc }
                if dialect == .draft7, let f = resolved.fragment, !f.isEmpty { anchors[uri + "#" + f] = loc }
            }
        }
        let baseString = base.withoutFragment.string
        if dialect.isModern {
            if let a = obj["$anchor"]?.stringValue { anchors[baseString + "#" + a] = loc }
            if dialect == .draft2020_12, let a = obj["$dynamicAnchor"]?.stringValue {
                anchors[baseString + "#" + a] = loc
                resource.dynamicAnchorNames.insert(a)
                dynamicAnchorLocations.append((resource, a, loc))
            }
            if dialect == .draft2019_09, resourcePointer.isEmpty, obj["$recursiveAnchor"] == .bool(true) {
                resource.recursiveAnchor = true
                dynamicAnchorLocations.append((resource, "", loc))
            }
        }
        infos[loc] = Info(resource: resource, resourcePointer: resourcePointer, dialect: dialect, vocab: vocab)

        func child(_ v: JSONValue, _ path: String) throws(SchemaError) {
            try index(v, Location(doc: loc.doc, pointer: loc.pointer + path), base: base, resource: resource,
                      resourcePointer: resourcePointer + path, dialect: dialect, vocab: vocab, isRoot: false)
        }
        for (key, v) in obj {
            let k = "/" + JSONPointer.escape(key)
            switch key {
            case "additionalProperties", "propertyNames", "not", "if", "then", "else", "contains",
                 "unevaluatedItems", "unevaluatedProperties", "additionalItems":
                try child(v, k)
            case "items", "allOf", "anyOf", "oneOf", "prefixItems":
                if case .array(let a) = v {
                    for (i, s) in a.enumerated() { try child(s, k + "/\(i)") }
                } else {
                    try child(v, k)
                }
            case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies":
                if case .object(let m) = v {
                    for (name, s) in m where s.objectValue != nil || s.boolValue != nil {
                        try child(s, k + "/" + JSONPointer.escape(name))
                    }
                }
            default: break
            }
        }
    }

    private func dialectOf(_ schemaURI: String) throws(SchemaError) -> (Dialect, Vocabularies) {
        if let d = Dialect(schemaURI: schemaURI) { return (d, .standard) }
        let key = URIReference(schemaURI).withoutFragment.string
        guard let meta = registry.document(key) else { throw .unknownMetaschema(schemaURI) }
        let parentDialect = meta["$schema"]?.stringValue.flatMap(Dialect.init(schemaURI:)) ?? .draft2020_12
        if let v = meta["$vocabulary"]?.objectValue { return (parentDialect, try Vocabularies.from(v)) }
        return (parentDialect, .standard)
    }

    // MARK: Resolution

    private func info(_ loc: Location) -> Info {
        if let i = infos[loc] { return i }
        // A pointer into a place the indexer did not visit: inherit from the nearest indexed ancestor.
        var p = loc.pointer
        var suffix = ""
        while let slash = p.lastIndex(of: "/") {
            suffix = String(p[slash...]) + suffix
            p = String(p[..<slash])
            if var i = infos[Location(doc: loc.doc, pointer: p)] {
                i.resourcePointer += suffix
                return i
            }
        }
        return infos[Location(doc: loc.doc, pointer: "")]!
    }

    private func node(at loc: Location) -> SchemaNode {
        if let n = nodes[loc] { return n }
        let i = info(loc)
        let n = SchemaNode(resource: i.resource, pointer: i.resourcePointer)
        nodes[loc] = n
        queue.append((n, loc))
        return n
    }

    private func resolve(_ ref: String, from loc: Location) throws(SchemaError) -> (SchemaNode, URIReference) {
        let i = info(loc)
        let abs = URIReference(i.resource.uri).resolve(ref)
        let key = abs.withoutFragment.string
        if resources[key] == nil {
            guard let doc = registry.document(key) else { throw .unresolvableReference(ref: ref, at: displayPointer(loc)) }
            try addDocument(doc, uri: key, dialect: i.dialect)
        }
        guard let root = resources[key] else { throw .unresolvableReference(ref: ref, at: displayPointer(loc)) }
        let fragment = abs.fragment?.percentDecoded ?? ""
        let target: Location
        if fragment.isEmpty {
            target = root
        } else if fragment.hasPrefix("/") {
            target = Location(doc: root.doc, pointer: root.pointer + fragment)
            guard JSONPointer.resolve(target.pointer, in: docs[target.doc]) != nil else {
                throw .unresolvableReference(ref: ref, at: displayPointer(loc))
            }
        } else if let a = anchors[key + "#" + fragment] {
            target = a
        } else {
            throw .unresolvableReference(ref: ref, at: displayPointer(loc))
        }
        return (node(at: target), abs)
    }

    private func displayPointer(_ loc: Location) -> String {
        let i = info(loc)
        return i.resource.isInternal ? "#" + i.resourcePointer : i.resource.uri + "#" + i.resourcePointer
    }

    // MARK: Keywords

    private func compileKeywords(_ node: SchemaNode, at loc: Location) throws(SchemaError) {
        guard let value = JSONPointer.resolve(loc.pointer, in: docs[loc.doc]) else {
            throw .unresolvableReference(ref: "#" + loc.pointer, at: displayPointer(loc))
        }
        switch value {
        case .bool(let b): node.boolean = b; return
        case .object: break
        default: throw .invalidKeyword(keyword: "(schema)", at: displayPointer(loc), reason: "a schema must be an object or a boolean, not \(value.typeName)")
        }
        let obj = value.objectValue!
        let i = info(loc)
        let at = displayPointer(loc)
        let modern = i.dialect.isModern
        let applicator = !modern || i.vocab.contains(.applicator)
        let validation = !modern || i.vocab.contains(.validation)
        var checks: [Check] = []

        func sub(_ path: String) -> SchemaNode { self.node(at: Location(doc: loc.doc, pointer: loc.pointer + path)) }
        func bad(_ k: String, _ why: String) -> SchemaError { .invalidKeyword(keyword: k, at: at, reason: why) }
        func number(_ k: String) throws(SchemaError) -> JSONNumber? {
            guard let v = obj[k] else { return nil }
            guard case .number(let n) = v else { throw bad(k, "must be a number") }
            return n
        }
        func count(_ k: String) throws(SchemaError) -> Int? {
            guard let v = obj[k] else { return nil }
            guard case .number(let n) = v, n.isInteger, n.double >= 0 else { throw bad(k, "must be a non-negative integer") }
            return n.double > Double(Int.max / 2) ? Int.max / 2 : Int(n.double)
        }
        func schemaArray(_ k: String) throws(SchemaError) -> [SchemaNode]? {
            guard let v = obj[k] else { return nil }
            guard case .array(let a) = v, !a.isEmpty || k == "prefixItems" || k == "items" else { throw bad(k, "must be a non-empty array of schemas") }
            return a.indices.map { sub("/\(JSONPointer.escape(k))/\($0)") }
        }
        func regex(_ p: String, _ k: String) throws(SchemaError) -> ECMARegex {
            do { return try ECMARegex(p) } catch { throw .invalidRegex(pattern: p, at: at + "/" + k, reason: error.description) }
        }

        if let r = obj["$ref"] {
            guard let ref = r.stringValue else { throw bad("$ref", "must be a string") }
            let target = RefTarget()
            target.node = try resolve(ref, from: loc).0
            checks.append(.ref(target, keyword: "$ref"))
            if !modern { node.checks = checks; return }
        }
        if i.dialect == .draft2020_12, let r = obj["$dynamicRef"] {
            guard let ref = r.stringValue else { throw bad("$dynamicRef", "must be a string") }
            let target = RefTarget()
            let (n, abs) = try resolve(ref, from: loc)
            target.node = n
            if let f = abs.fragment, !f.isEmpty, !f.hasPrefix("/"), n.resource.dynamicAnchorNames.contains(f),
               anchors[abs.withoutFragment.string + "#" + f].map({ info($0).resource === n.resource }) == true {
                target.dynamicName = f
            }
            checks.append(.ref(target, keyword: "$dynamicRef"))
        }
        if i.dialect == .draft2019_09, let r = obj["$recursiveRef"] {
            guard let ref = r.stringValue else { throw bad("$recursiveRef", "must be a string") }
            let target = RefTarget()
            let (n, _) = try resolve(ref, from: loc)
            target.node = n
            if n.resource.recursiveAnchor { target.dynamicName = "" }
            checks.append(.ref(target, keyword: "$recursiveRef"))
        }

        if validation {
            if let t = obj["type"] {
                var mask: TypeMask = []
                let names: [JSONValue] = t.arrayValue ?? [t]
                for n in names {
                    guard let s = n.stringValue, let m = TypeMask(name: s) else { throw bad("type", "unknown type \(n)") }
                    mask.insert(m)
                }
                checks.append(.type(mask))
            }
            if let e = obj["enum"] {
                guard case .array(let a) = e else { throw bad("enum", "must be an array") }
                checks.append(.enumeration(a))
            }
            if let c = obj["const"] { checks.append(.constant(c)) }
            if let n = try number("minimum") { checks.append(.minimum(n)) }
            if let n = try number("maximum") { checks.append(.maximum(n)) }
            if let n = try number("exclusiveMinimum") { checks.append(.exclusiveMinimum(n)) }
            if let n = try number("exclusiveMaximum") { checks.append(.exclusiveMaximum(n)) }
            if let n = try number("multipleOf") {
                guard n.double > 0 else { throw bad("multipleOf", "must be greater than 0") }
                checks.append(.multipleOf(n))
            }
            if let n = try count("minLength") { checks.append(.minLength(n)) }
            if let n = try count("maxLength") { checks.append(.maxLength(n)) }
            if let p = obj["pattern"] {
                guard let s = p.stringValue else { throw bad("pattern", "must be a string") }
                checks.append(.pattern(try regex(s, "pattern")))
            }
            if let n = try count("minItems") { checks.append(.minItems(n)) }
            if let n = try count("maxItems") { checks.append(.maxItems(n)) }
            if obj["uniqueItems"] == .bool(true) { checks.append(.uniqueItems) }
            if let n = try count("minProperties") { checks.append(.minProperties(n)) }
            if let n = try count("maxProperties") { checks.append(.maxProperties(n)) }
            if let r = obj["required"] {
                guard let a = r.arrayValue, let names = Optional(a.compactMap(\.stringValue)), names.count == a.count else {
                    throw bad("required", "must be an array of strings")
                }
                if !names.isEmpty { checks.append(.required(names)) }
            }
            if modern, let d = obj["dependentRequired"] {
                checks.append(.dependentRequired(try dependencyNames(d, "dependentRequired", bad), keyword: "dependentRequired"))
            }
        }
        if let f = obj["format"]?.stringValue, formatAssertion || i.vocab.contains(.formatAssertion) {
            checks.append(.format(f))
        }

        if applicator {
            if let p = obj["properties"] {
                guard case .object(let m) = p else { throw bad("properties", "must be an object") }
                var d: [String: SchemaNode] = [:]
                for (name, _) in m { d[name] = sub("/properties/" + JSONPointer.escape(name)) }
                checks.append(.properties(d))
            }
            var patterns: [ECMARegex] = []
            if let p = obj["patternProperties"] {
                guard case .object(let m) = p else { throw bad("patternProperties", "must be an object") }
                var list: [(ECMARegex, SchemaNode)] = []
                for (pat, _) in m {
                    let r = try regex(pat, "patternProperties")
                    patterns.append(r)
                    list.append((r, sub("/patternProperties/" + JSONPointer.escape(pat))))
                }
                checks.append(.patternProperties(list))
            }
            if obj["additionalProperties"] != nil {
                let known = Set(obj["properties"]?.objectValue?.keys ?? [])
                checks.append(.additionalProperties(sub("/additionalProperties"), known: known, patterns: patterns))
            }
            if obj["propertyNames"] != nil { checks.append(.propertyNames(sub("/propertyNames"))) }
            if modern, let d = obj["dependentSchemas"] {
                guard case .object(let m) = d else { throw bad("dependentSchemas", "must be an object") }
                var out: [String: SchemaNode] = [:]
                for (k, _) in m { out[k] = sub("/dependentSchemas/" + JSONPointer.escape(k)) }
                checks.append(.dependentSchemas(out, keyword: "dependentSchemas"))
            }
            if i.dialect != .draft2020_12 || obj["dependentRequired"] == nil && obj["dependentSchemas"] == nil, let d = obj["dependencies"] {
                guard case .object(let m) = d else { throw bad("dependencies", "must be an object") }
                var names: [String: [String]] = [:], schemas: [String: SchemaNode] = [:]
                for (k, v) in m {
                    if case .array(let a) = v {
                        names[k] = a.compactMap(\.stringValue)
                    } else {
                        schemas[k] = sub("/dependencies/" + JSONPointer.escape(k))
                    }
                }
                if !names.isEmpty { checks.append(.dependentRequired(names, keyword: "dependencies")) }
                if !schemas.isEmpty { checks.append(.dependentSchemas(schemas, keyword: "dependencies")) }
            }
            // Arrays: 2020-12 has prefixItems + items; draft-07 and 2019-09 have array-form items + additionalItems.
            if i.dialect == .draft2020_12 {
                let prefix = try schemaArray("prefixItems") ?? []
                if !prefix.isEmpty { checks.append(.prefixItems(prefix, keyword: "prefixItems")) }
                if obj["items"] != nil { checks.append(.items(sub("/items"), prefixCount: prefix.count, keyword: "items")) }
            } else if let items = obj["items"] {
                if case .array = items {
                    let prefix = try schemaArray("items") ?? []
                    checks.append(.prefixItems(prefix, keyword: "items"))
                    if obj["additionalItems"] != nil {
                        checks.append(.items(sub("/additionalItems"), prefixCount: prefix.count, keyword: "additionalItems"))
                    }
                } else {
                    checks.append(.items(sub("/items"), prefixCount: 0, keyword: "items"))
                }
            }
            if obj["contains"] != nil {
                let minC = modern && validation ? try count("minContains") ?? 1 : 1
                let maxC = modern && validation ? try count("maxContains") : nil
                checks.append(.contains(sub("/contains"), min: minC, max: maxC))
            }
            if let a = try schemaArray("allOf") { checks.append(.allOf(a)) }
            if let a = try schemaArray("anyOf") { checks.append(.anyOf(a)) }
            if let a = try schemaArray("oneOf") { checks.append(.oneOf(a)) }
            if obj["not"] != nil { checks.append(.not(sub("/not"))) }
            if obj["if"] != nil {
                checks.append(.conditional(if: sub("/if"), then: obj["then"] != nil ? sub("/then") : nil,
                                           else: obj["else"] != nil ? sub("/else") : nil))
            }
        }
        if modern && (i.vocab.contains(.unevaluated) || i.dialect == .draft2019_09) {
            // Last: they depend on the annotations of every other keyword of this schema.
            if obj["unevaluatedItems"] != nil { checks.append(.unevaluatedItems(sub("/unevaluatedItems"))); usesUnevaluated = true }
            if obj["unevaluatedProperties"] != nil {
                checks.append(.unevaluatedProperties(sub("/unevaluatedProperties"))); usesUnevaluated = true
            }
        }
        node.checks = checks
    }

    private func dependencyNames(_ d: JSONValue, _ k: String, _ bad: (String, String) -> SchemaError) throws(SchemaError) -> [String: [String]] {
        guard case .object(let m) = d else { throw bad(k, "must be an object of string arrays") }
        var out: [String: [String]] = [:]
        for (key, v) in m {
            guard let a = v.arrayValue else { throw bad(k, "'\(key)' must be an array of strings") }
            out[key] = a.compactMap(\.stringValue)
        }
        return out
    }
}
