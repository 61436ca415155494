import Foundation

/// The documents that `$ref`s may resolve to beyond the schema itself. Filled only by the caller:
/// nothing is ever fetched. The official meta-schemas are always present.
public final class SchemaRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var documents: [String: JSONValue] = [:]

    public init() {}

    /// A process-wide registry with just the meta-schemas.
    public static let shared = SchemaRegistry()

    /// Registers `document` under `uri` (its fragment, if any, is ignored).
    public func register(_ document: JSONValue, at uri: String) {
        let key = URIReference(uri).withoutFragment.string
        lock.withLock { documents[key] = document }
    }

    /// Loads every `*.json` file under `directory` as `baseURI` + its relative path.
    public func registerDirectory(_ directory: String, baseURI: String) throws {
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: directory) else { return }
        for case let rel as String in e where rel.hasSuffix(".json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + rel))
            register(try JSONParser.parse(Array(data)), at: baseURI + rel)
        }
    }

    func document(_ uri: String) -> JSONValue? {
        if let d = lock.withLock({ documents[uri] }) { return d }
        return Self.metaschemas[uri]
    }

    private static let metaschemas: [String: JSONValue] = {
        var m: [String: JSONValue] = [:]
        for (uri, text) in Metaschemas.documents {
            m[uri] = try! JSONParser.parse(text)
        }
        return m
    }()
}
