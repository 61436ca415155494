/// A config value that upstream writes either once for all blocks or once per block
/// (`attention_head_dim: 8` or `[5, 10, 20, 20]`).
public enum PerBlock<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    case all(Value)
    case each([Value])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let list = try? c.decode([Value].self) { self = .each(list) } else { self = .all(try c.decode(Value.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .all(let v): try c.encode(v)
        case .each(let list): try c.encode(list)
        }
    }

    /// One value per block; a list of the wrong length is a config error.
    func values(_ count: Int, _ key: String) throws(DiffusionError) -> [Value] {
        switch self {
        case .all(let v): return Array(repeating: v, count: count)
        case .each(let list):
            guard list.count == count else { throw .model("config '\(key)' lists \(list.count) values for \(count) blocks") }
            return list
        }
    }
}

extension KeyedDecodingContainer {
    /// The value under `key`, or `fallback` when the key is absent or null (upstream omits defaults).
    func value<T: Decodable>(_ key: Key, _ fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}
