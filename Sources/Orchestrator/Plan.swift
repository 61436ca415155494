import JSONSchema

/// A client-given plan: calls that run in parallel, or as a DAG when an argument is
/// `{"$from": "<call id>", "pointer": "/json/pointer"}` (the output of an earlier call).
public struct Plan: Sendable {
    public struct Call: Sendable {
        public let id: String
        public let name: String
        public let arguments: JSONValue
        /// Ids of the calls whose outputs this call's arguments use.
        public let dependencies: Set<String>
    }

    public let calls: [Call]
    public let maxParallel: Int
    public let timeoutMs: Int?

    public enum Failure: Error, CustomStringConvertible {
        case invalid(String)
        case duplicateID(String)
        case danglingReference(call: String, to: String)
        case cycle([String])

        public var description: String {
            switch self {
            case .invalid(let s): return s
            case .duplicateID(let id): return "two calls share the id '\(id)'; ids must be unique"
            case .danglingReference(let c, let to): return "call '\(c)' uses the output of '\(to)', which is not a call in this plan"
            case .cycle(let ids): return "the calls \(ids.map { "'\($0)'" }.joined(separator: " → ")) depend on each other in a cycle"
            }
        }
    }

    /// Parses and checks a plan (ids, references, cycles) before anything runs.
    public init(json: JSONValue) throws(Failure) {
        guard let list = json["calls"]?.arrayValue else { throw .invalid("a plan needs 'calls': an array of {id, name, arguments}") }
        var calls: [Call] = []
        var seen: Set<String> = []
        for (i, c) in list.enumerated() {
            guard let name = c["name"]?.stringValue else { throw .invalid("/calls/\(i): 'name' must be a string") }
            let id = c["id"]?.stringValue ?? c["id"]?.numberValue?.text ?? String(i)
            guard seen.insert(id).inserted else { throw .duplicateID(id) }
            let args = c["arguments"] ?? .object(JSONObject())
            calls.append(Call(id: id, name: name, arguments: args, dependencies: Self.references(in: args)))
        }
        for c in calls {
            for d in c.dependencies where !seen.contains(d) { throw .danglingReference(call: c.id, to: d) }
        }
        self.calls = calls
        let mp = json["maxParallel"]?.intValue ?? 8
        guard mp >= 1 else { throw .invalid("'maxParallel' must be at least 1") }
        self.maxParallel = mp
        if let t = json["timeoutMs"], t.intValue.map({ $0 < 1 }) ?? true { throw .invalid("'timeoutMs' must be a positive integer") }
        self.timeoutMs = json["timeoutMs"]?.intValue
        if let cycle = Self.findCycle(calls) { throw .cycle(cycle) }
    }

    static func isReference(_ v: JSONValue) -> String? {
        guard case .object(let o) = v, let from = o["$from"]?.stringValue else { return nil }
        guard o.allSatisfy({ $0.key == "$from" || $0.key == "pointer" }) else { return nil }
        return from
    }

    static func references(in v: JSONValue) -> Set<String> {
        if let r = isReference(v) { return [r] }
        switch v {
        case .array(let a): return a.reduce(into: Set<String>()) { $0.formUnion(references(in: $1)) }
        case .object(let o): return o.reduce(into: Set<String>()) { $0.formUnion(references(in: $1.value)) }
        default: return []
        }
    }

    static func findCycle(_ calls: [Call]) -> [String]? {
        let byID = Dictionary(uniqueKeysWithValues: calls.map { ($0.id, $0) })
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var stack: [String] = []
        func visit(_ id: String) -> [String]? {
            if state[id] == 2 { return nil }
            if state[id] == 1 { return Array(stack[stack.firstIndex(of: id)!...]) + [id] }
            state[id] = 1
            stack.append(id)
            for d in byID[id]!.dependencies.sorted() { if let c = visit(d) { return c } }
            stack.removeLast()
            state[id] = 2
            return nil
        }
        for c in calls { if let cycle = visit(c.id) { return cycle } }
        return nil
    }

    /// Replaces every `$from` reference with the referenced output (at its pointer).
    static func substitute(_ v: JSONValue, outputs: [String: JSONValue]) throws(Failure) -> JSONValue {
        if let from = isReference(v) {
            let pointer = v["pointer"]?.stringValue ?? ""
            guard let out = outputs[from], let value = JSONPointer.resolve(pointer, in: out) else {
                throw .invalid("the output of '\(from)' has nothing at pointer '\(pointer)'")
            }
            return value
        }
        switch v {
        case .array(let a):
            var r: [JSONValue] = []
            for x in a { r.append(try substitute(x, outputs: outputs)) }
            return .array(r)
        case .object(let o):
            var r = JSONObject()
            for (k, x) in o { r[k] = try substitute(x, outputs: outputs) }
            return .object(r)
        default: return v
        }
    }
}
