/// Which parts of an instance have been evaluated at one location, for `unevaluated*`.
struct Annotations {
    var props: Set<String> = []
    var allProps = false
    var itemsPrefix = 0
    var allItems = false
    var itemIndices: Set<Int> = []

    mutating func merge(_ o: Annotations) {
        if o.allProps { allProps = true } else if !o.props.isEmpty { props.formUnion(o.props) }
        if o.allItems { allItems = true }
        itemsPrefix = max(itemsPrefix, o.itemsPrefix)
        if !o.itemIndices.isEmpty { itemIndices.formUnion(o.itemIndices) }
    }
}

/// One segment of an instance location.
enum PathSegment {
    case key(String)
    case index(Int)
}

/// Walks a compiled schema over one instance. Errors are recorded only while `collect` is on:
/// applicators whose children may fail without failing the whole (`not`, `if`, `contains`) turn it off,
/// and `anyOf`/`oneOf` roll back the errors of branches that did not decide the outcome.
struct Evaluator {
    static let maxDepth = 384
    let track: Bool
    var collect: Bool
    var errors: [ValidationError] = []
    var scope: [Resource] = []
    var keywordPath: [String] = []
    var instancePath: [PathSegment] = []
    var depth = 0

    init(track: Bool, collect: Bool) {
        self.track = track
        self.collect = collect
    }

    mutating func fail(_ node: SchemaNode, _ keyword: String, _ message: @autoclosure () -> String) {
        guard collect else { return }
        var kw = ""
        for k in keywordPath { kw += "/" + JSONPointer.escape(k) }
        if !keyword.isEmpty { kw += "/" + keyword }
        var inst = ""
        for s in instancePath {
            switch s {
            case .key(let k): inst += "/" + JSONPointer.escape(k)
            case .index(let i): inst += "/\(i)"
            }
        }
        let abs: String? = node.resource.isInternal ? nil : node.absoluteLocation + (keyword.isEmpty ? "" : "/" + keyword)
        errors.append(ValidationError(instanceLocation: inst, keywordLocation: kw, absoluteKeywordLocation: abs, message: message()))
    }

    mutating func eval(_ node: SchemaNode, _ value: JSONValue, _ ann: inout Annotations) -> Bool {
        if let b = node.boolean {
            if !b { fail(node, "", "no value is allowed here (the schema is false)") }
            return b
        }
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth {
            fail(node, "", "schema recursion deeper than \(Self.maxDepth) levels (a $ref cycle that never consumes input?)")
            return false
        }
        let entered = scope.last !== node.resource
        if entered { scope.append(node.resource) }
        defer { if entered { scope.removeLast() } }
        var valid = true
        for check in node.checks {
            if !apply(check, node, value, &ann) {
                valid = false
                if !collect { break }
            }
        }
        return valid
    }

    /// Evaluates `child` against the same instance; its annotations count only if it passes.
    // Paths are passed as one or two components rather than arrays: this is the hottest code in the
    // validator, and an array literal per visited subschema was a heap allocation each time.
    private mutating func inPlace(_ child: SchemaNode, _ k1: String, _ value: JSONValue, _ ann: inout Annotations) -> Bool {
        inPlace(child, k1, Optional<String>.none, value, &ann)
    }

    private mutating func inPlace(_ child: SchemaNode, _ k1: String, _ k2: String?, _ value: JSONValue, _ ann: inout Annotations) -> Bool {
        // Paths only name errors, and errors are only recorded while collecting.
        let paths = collect
        if paths {
            keywordPath.append(k1)
            if let k2 { keywordPath.append(k2) }
        }
        defer { if paths { keywordPath.removeLast(k2 == nil ? 1 : 2) } }
        var sub = Annotations()
        let ok = eval(child, value, &sub)
        if ok && track { ann.merge(sub) }
        return ok
    }

    private mutating func at(_ child: SchemaNode, _ k1: String, _ seg: PathSegment, _ value: JSONValue) -> Bool {
        at(child, k1, Optional<String>.none, seg, value)
    }

    private mutating func at(_ child: SchemaNode, _ k1: String, _ k2: String?, _ seg: PathSegment, _ value: JSONValue) -> Bool {
        let paths = collect
        if paths {
            keywordPath.append(k1)
            if let k2 { keywordPath.append(k2) }
            instancePath.append(seg)
        }
        defer { if paths { keywordPath.removeLast(k2 == nil ? 1 : 2); instancePath.removeLast() } }
        var sub = Annotations()
        return eval(child, value, &sub)
    }

    private mutating func quietly<T>(_ body: (inout Evaluator) -> T) -> T {
        let saved = collect
        collect = false
        defer { collect = saved }
        return body(&self)
    }

    private static func short(_ v: JSONValue) -> String {
        let s = JSONWriter.string(v)
        return s.count > 60 ? String(s.prefix(57)) + "…" : s
    }

    private mutating func apply(_ check: Check, _ node: SchemaNode, _ value: JSONValue, _ ann: inout Annotations) -> Bool {
        switch check {
        case .type(let mask):
            let ok: Bool
            switch value {
            case .null: ok = mask.contains(.null)
            case .bool: ok = mask.contains(.boolean)
            case .number(let n): ok = mask.contains(.number) || (mask.contains(.integer) && n.isInteger)
            case .string: ok = mask.contains(.string)
            case .array: ok = mask.contains(.array)
            case .object: ok = mask.contains(.object)
            }
            if !ok { fail(node, "type", "expected \(mask.names.joined(separator: " or ")), got \(value.typeName)") }
            return ok
        case .enumeration(let options):
            if options.contains(value) { return true }
            fail(node, "enum", "\(Self.short(value)) is not one of \(Self.short(.array(options)))")
            return false
        case .constant(let c):
            if c == value { return true }
            fail(node, "const", "\(Self.short(value)) is not the required value \(Self.short(c))")
            return false
        case .minimum(let m):
            guard case .number(let n) = value, JSONNumber.compare(n, m) < 0 else { return true }
            fail(node, "minimum", "\(n) is less than the minimum \(m)")
            return false
        case .maximum(let m):
            guard case .number(let n) = value, JSONNumber.compare(n, m) > 0 else { return true }
            fail(node, "maximum", "\(n) is greater than the maximum \(m)")
            return false
        case .exclusiveMinimum(let m):
            guard case .number(let n) = value, JSONNumber.compare(n, m) <= 0 else { return true }
            fail(node, "exclusiveMinimum", "\(n) is not greater than the exclusive minimum \(m)")
            return false
        case .exclusiveMaximum(let m):
            guard case .number(let n) = value, JSONNumber.compare(n, m) >= 0 else { return true }
            fail(node, "exclusiveMaximum", "\(n) is not less than the exclusive maximum \(m)")
            return false
        case .multipleOf(let m):
            guard case .number(let n) = value, !n.isMultiple(of: m) else { return true }
            fail(node, "multipleOf", "\(n) is not a multiple of \(m)")
            return false
        case .minLength(let m):
            guard case .string(let s) = value else { return true }
            if s.utf8.count >= m && (m <= s.utf8.count / 4 || s.unicodeScalars.count >= m) { return true }
            fail(node, "minLength", "string of \(s.unicodeScalars.count) characters is shorter than the minimum length \(m)")
            return false
        case .maxLength(let m):
            guard case .string(let s) = value else { return true }
            if s.utf8.count <= m || s.unicodeScalars.count <= m { return true }
            fail(node, "maxLength", "string of \(s.unicodeScalars.count) characters is longer than the maximum length \(m)")
            return false
        case .pattern(let r):
            guard case .string(let s) = value else { return true }
            switch r.search(s) {
            case true?: return true
            case false?: fail(node, "pattern", "\(Self.short(value)) does not match the pattern /\(r.pattern)/")
            case nil: fail(node, "pattern", "matching /\(r.pattern)/ took too long (catastrophic backtracking?); the value is rejected")
            }
            return false
        case .format(let f):
            guard case .string(let s) = value else { return true }
            let ok: Bool
            if f == "regex" {
                ok = (try? ECMARegex(s)) != nil
            } else {
                ok = FormatChecker.isValid(format: f, s) ?? true
            }
            if !ok { fail(node, "format", "\(Self.short(value)) is not a valid \(f)") }
            return ok
        case .minItems(let m):
            guard case .array(let a) = value, a.count < m else { return true }
            fail(node, "minItems", "array has \(a.count) items, fewer than the minimum \(m)")
            return false
        case .maxItems(let m):
            guard case .array(let a) = value, a.count > m else { return true }
            fail(node, "maxItems", "array has \(a.count) items, more than the maximum \(m)")
            return false
        case .uniqueItems:
            guard case .array(let a) = value, a.count > 1 else { return true }
            var seen: [JSONValue: Int] = [:]
            for (i, v) in a.enumerated() {
                if let j = seen.updateValue(i, forKey: v) {
                    fail(node, "uniqueItems", "items \(j) and \(i) are equal; items must be unique")
                    return false
                }
            }
            return true
        case .prefixItems(let schemas, let keyword):
            guard case .array(let a) = value else { return true }
            var ok = true
            for (i, s) in schemas.enumerated() where i < a.count {
                if !at(s, keyword, String(i), .index(i), a[i]) { ok = false; if !collect { return false } }
            }
            if track { ann.itemsPrefix = max(ann.itemsPrefix, min(schemas.count, a.count)) }
            return ok
        case .items(let s, let prefix, let keyword):
            guard case .array(let a) = value else { return true }
            var ok = true
            if a.count > prefix {
                for i in prefix..<a.count where !at(s, keyword, .index(i), a[i]) {
                    ok = false
                    if !collect { return false }
                }
                if track { ann.allItems = true }
            }
            return ok
        case .contains(let s, let minC, let maxC):
            guard case .array(let a) = value else { return true }
            var matched = 0
            var indices: [Int] = []
            keywordPath.append("contains")
            for (i, v) in a.enumerated() {
                var sub = Annotations()
                instancePath.append(.index(i))
                let ok = quietly { $0.eval(s, v, &sub) }
                instancePath.removeLast()
                if ok {
                    matched += 1
                    if track { indices.append(i) }
                    if !track && maxC == nil && matched >= minC { break }
                }
            }
            keywordPath.removeLast()
            if matched < minC {
                fail(node, minC == 1 ? "contains" : "minContains",
                     matched == 0 ? "no item matches the 'contains' schema" : "only \(matched) items match the 'contains' schema, fewer than \(minC)")
                return false
            }
            if let maxC, matched > maxC {
                fail(node, "maxContains", "\(matched) items match the 'contains' schema, more than \(maxC)")
                return false
            }
            if track { ann.itemIndices.formUnion(indices) }
            return true
        case .minProperties(let m):
            guard case .object(let o) = value, o.count < m else { return true }
            fail(node, "minProperties", "object has \(o.count) properties, fewer than the minimum \(m)")
            return false
        case .maxProperties(let m):
            guard case .object(let o) = value, o.count > m else { return true }
            fail(node, "maxProperties", "object has \(o.count) properties, more than the maximum \(m)")
            return false
        case .required(let names):
            guard case .object(let o) = value else { return true }
            var ok = true
            for n in names where o[n] == nil {
                ok = false
                fail(node, "required", "missing required property '\(n)'")
                if !collect { return false }
            }
            return ok
        case .properties(let props):
            guard case .object(let o) = value else { return true }
            var ok = true
            // Iterate the smaller side: big instances against small schemas and vice versa.
            if o.count <= props.count {
                for (k, v) in o {
                    guard let s = props[k] else { continue }
                    if track { ann.props.insert(k) }
                    if !at(s, "properties", k, .key(k), v) { ok = false; if !collect { return false } }
                }
            } else {
                for (k, s) in props {
                    guard let v = o[k] else { continue }
                    if track { ann.props.insert(k) }
                    if !at(s, "properties", k, .key(k), v) { ok = false; if !collect { return false } }
                }
            }
            return ok
        case .patternProperties(let list):
            guard case .object(let o) = value else { return true }
            var ok = true
            for (k, v) in o {
                for (r, s) in list where r.matches(k) {
                    if track { ann.props.insert(k) }
                    if !at(s, "patternProperties", r.pattern, .key(k), v) { ok = false; if !collect { return false } }
                }
            }
            return ok
        case .additionalProperties(let s, let known, let patterns):
            guard case .object(let o) = value else { return true }
            var ok = true
            for (k, v) in o where !known.contains(k) && !patterns.contains(where: { $0.matches(k) }) {
                if s.boolean == false {
                    fail(node, "additionalProperties", "property '\(k)' is not allowed")
                    ok = false
                    if !collect { return false }
                    continue
                }
                if !at(s, "additionalProperties", .key(k), v) { ok = false; if !collect { return false } }
            }
            if ok && track { ann.allProps = true }
            return ok
        case .propertyNames(let s):
            guard case .object(let o) = value else { return true }
            var ok = true
            for (k, _) in o {
                let before = errors.count
                let good = quietly { ev in
                    var sub = Annotations()
                    return ev.eval(s, .string(k), &sub)
                }
                if !good {
                    errors.removeSubrange(before...)
                    fail(node, "propertyNames", "property name '\(k)' does not match the 'propertyNames' schema")
                    ok = false
                    if !collect { return false }
                }
            }
            return ok
        case .dependentRequired(let deps, let keyword):
            guard case .object(let o) = value else { return true }
            var ok = true
            for (k, needs) in deps where o[k] != nil {
                for n in needs where o[n] == nil {
                    fail(node, keyword + "/" + JSONPointer.escape(k), "property '\(k)' requires property '\(n)'")
                    ok = false
                    if !collect { return false }
                }
            }
            return ok
        case .dependentSchemas(let deps, let keyword):
            guard case .object(let o) = value else { return true }
            var ok = true
            for (k, s) in deps where o[k] != nil {
                if !inPlace(s, keyword, k, value, &ann) { ok = false; if !collect { return false } }
            }
            return ok
        case .allOf(let list):
            var ok = true
            for (i, s) in list.enumerated() where !inPlace(s, "allOf", String(i), value, &ann) {
                ok = false
                if !collect { return false }
            }
            return ok
        case .anyOf(let list):
            let before = errors.count
            var any = false
            for (i, s) in list.enumerated() where inPlace(s, "anyOf", String(i), value, &ann) {
                any = true
                if !track { break }
            }
            if any { errors.removeSubrange(before...); return true }
            fail(node, "anyOf", "\(Self.short(value)) matches none of the \(list.count) schemas in 'anyOf'")
            return false
        case .oneOf(let list):
            let before = errors.count
            var matches: [Int] = []
            var kept = Annotations()
            for (i, s) in list.enumerated() {
                var sub = Annotations()
                if inPlace(s, "oneOf", String(i), value, &sub) {
                    matches.append(i)
                    kept = sub
                    if matches.count > 1 && !collect { break }
                }
            }
            if matches.count == 1 {
                errors.removeSubrange(before...)
                if track { ann.merge(kept) }
                return true
            }
            if matches.isEmpty {
                fail(node, "oneOf", "\(Self.short(value)) matches none of the \(list.count) schemas in 'oneOf'")
            } else {
                errors.removeSubrange(before...)
                fail(node, "oneOf", "\(Self.short(value)) matches \(matches.count) schemas in 'oneOf' (\(matches.map(String.init).joined(separator: ", "))); exactly one must match")
            }
            return false
        case .not(let s):
            var sub = Annotations()
            keywordPath.append("not")
            let matched = quietly { $0.eval(s, value, &sub) }
            keywordPath.removeLast()
            if matched { fail(node, "not", "\(Self.short(value)) must not match the schema in 'not'") }
            return !matched
        case .conditional(let ifS, let thenS, let elseS):
            var sub = Annotations()
            keywordPath.append("if")
            let cond = quietly { $0.eval(ifS, value, &sub) }
            keywordPath.removeLast()
            if cond {
                if track { ann.merge(sub) }
                guard let thenS else { return true }
                return inPlace(thenS, "then", value, &ann)
            }
            guard let elseS else { return true }
            return inPlace(elseS, "else", value, &ann)
        case .ref(let target, let keyword):
            var dest: SchemaNode = target.node
            if let name = target.dynamicName {
                for r in scope {
                    if name.isEmpty {
                        if r.recursiveAnchor, let root = r.dynamicAnchors[""] { dest = root; break }
                    } else if let n = r.dynamicAnchors[name] {
                        dest = n
                        break
                    }
                }
            }
            return inPlace(dest, keyword, value, &ann)
        case .unevaluatedItems(let s):
            guard case .array(let a) = value else { return true }
            if ann.allItems { return true }
            var ok = true
            for i in ann.itemsPrefix..<max(a.count, ann.itemsPrefix) where !ann.itemIndices.contains(i) {
                if s.boolean == false {
                    fail(node, "unevaluatedItems", "item \(i) is not allowed (unevaluated)")
                    ok = false
                    if !collect { return false }
                    continue
                }
                if !at(s, "unevaluatedItems", .index(i), a[i]) { ok = false; if !collect { return false } }
            }
            if ok { ann.allItems = true }
            return ok
        case .unevaluatedProperties(let s):
            guard case .object(let o) = value else { return true }
            if ann.allProps { return true }
            var ok = true
            for (k, v) in o where !ann.props.contains(k) {
                if s.boolean == false {
                    fail(node, "unevaluatedProperties", "property '\(k)' is not allowed (unevaluated)")
                    ok = false
                    if !collect { return false }
                    continue
                }
                if !at(s, "unevaluatedProperties", .key(k), v) { ok = false; if !collect { return false } }
            }
            if ok { ann.allProps = true }
            return ok
        }
    }
}
