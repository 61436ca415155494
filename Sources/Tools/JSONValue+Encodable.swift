import Foundation
import JSONSchema

extension JSONValue {
    /// A `Codable` result as a JSON value (sorted keys, slashes unescaped), for tools whose results
    /// are Swift types; `.null` if it cannot be encoded.
    init<T: Encodable>(encoding value: T) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? enc.encode(value), let v = try? JSONParser.parse(String(decoding: data, as: UTF8.self)) else { self = .null; return }
        self = v
    }
}
