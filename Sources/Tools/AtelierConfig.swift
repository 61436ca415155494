import Foundation
import JSONSchema
import Yams

/// The `--config` file (YAML or JSON), a `Codable` mirror of `schemas/config/atelier.json`.
/// It is validated against that schema first, so errors name the exact place to fix.
public struct AtelierConfig: Codable, Sendable {
    public struct Limits: Codable, Sendable {
        public var maxMessageBytes: Int?
        public var maxInFlight: Int?
        public var defaultTimeoutMs: Int?
    }

    public struct CommandToolSpec: Codable, Sendable {
        public var name: String
        public var title: String?
        public var description: String
        public var inputSchema: JSONValue
        public var outputSchema: JSONValue?
        public var command: [String]
        public var output: String?
        public var timeoutMs: Int?
        public var workingDirectory: String?
        public var env: [String: String]?
    }

    /// Mirror of the `planner` section.
    public struct Planner: Codable, Sendable {
        public var provider: String?
        public var baseURL: String?
        public var model: String?
        public var apiKeyEnv: String?
        public var contextWindow: Int?
        public var inputPricePerMillion: Double?
        public var outputPricePerMillion: Double?
        public var timeoutSeconds: Double?
        public var maxRetries: Int?
    }

    /// Mirror of the `ocr` section.
    public struct OCR: Codable, Sendable {
        public var languages: String?
        public var maxPixels: Int?
        public var maxBytes: Int?
        public var pdfDPI: Int?
        public var workers: Int?
    }

    /// Mirror of the `image` section.
    public struct Image: Codable, Sendable {
        /// Default diffusers model folder for `image_generate`.
        public var model: String?
        /// Where generated images go (relative to the first root unless absolute).
        public var outputDirectory: String?
        /// CLIP BPE vocabulary for model folders without `tokenizer/`.
        public var vocabulary: String?
    }

    public var roots: [String]?
    public var planner: Planner?
    public var ocr: OCR?
    public var image: Image?
    public var limits: Limits?
    public var jobsDatabase: String?
    public var ragDatabase: String?
    public var tools: [CommandToolSpec]?
    /// The folder of the config file; relative paths in it are relative to this.
    public var baseDirectory: String?

    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String, String)
        case syntax(String, String)
        case invalid(String, [ValidationError])
        public var description: String {
            switch self {
            case .unreadable(let p, let why): return "cannot read config '\(p)': \(why)"
            case .syntax(let p, let why): return "config '\(p)' is not valid YAML/JSON: \(why)"
            case .invalid(let p, let errs):
                return "config '\(p)' is invalid:\n" + errs.map { "  \($0.instanceLocation.isEmpty ? "(root)" : $0.instanceLocation): \($0.message)" }.joined(separator: "\n")
            }
        }
    }

    public init() {}

    public static func load(path: String) throws -> AtelierConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw Failure.unreadable(path, error.localizedDescription) }
        let value: JSONValue
        do { value = try YAMLToJSON.convert(text) } catch { throw Failure.syntax(path, "\(error)") }
        let schema = try Schema(text: ToolCatalog.embeddedConfigSchemas["atelier"]!)
        let r = schema.validate(value)
        guard r.valid else { throw Failure.invalid(path, r.errors) }
        var config = try JSONDecoder().decode(AtelierConfig.self, from: Data(JSONWriter.bytes(value)))
        config.baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return config
    }

    /// The retrieval database: ATELIER_RAG_DB, else the config's path (relative to the config file), else nil (the default).
    public var ragDatabasePath: String? {
        if let e = ProcessInfo.processInfo.environment["ATELIER_RAG_DB"], !e.isEmpty { return e }
        guard let p = ragDatabase else { return nil }
        return p.hasPrefix("/") ? p : (baseDirectory ?? ".") + "/" + p
    }

    /// Roots as absolute URLs (relative ones are taken from the config file's folder).
    public func rootURLs(default cwd: URL) -> [URL] {
        guard let roots, !roots.isEmpty else { return [cwd] }
        return roots.map { r in
            r.hasPrefix("/") ? URL(fileURLWithPath: r) : URL(fileURLWithPath: baseDirectory ?? cwd.path).appendingPathComponent(r)
        }
    }
}

/// Lets `JSONValue` appear in Codable mirrors (tool schemas inside the config).
extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int.self) { self = .number(JSONNumber(i)); return }
        if let d = try? c.decode(Double.self) { self = .number(JSONNumber(d)); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        let keyed = try decoder.container(keyedBy: AnyKey.self)
        var o = JSONObject()
        for k in keyed.allKeys { o[k.stringValue] = try keyed.decode(JSONValue.self, forKey: k) }
        self = .object(o)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): if let i = Int(n.text) { try c.encode(i) } else { try c.encode(n.double) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(Dictionary(uniqueKeysWithValues: o.map { ($0.key, $0.value) }))
        }
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// YAML (1.2 core schema scalars) to JSON values, keeping mapping order.
public enum YAMLToJSON {
    public static func convert(_ text: String) throws -> JSONValue {
        guard let node = try Yams.compose(yaml: text) else { return .object(JSONObject()) }
        return convert(node)
    }

    static func convert(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let s):
            if s.style != .plain { return .string(s.string) }
            let t = s.string
            switch t {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default:
                if let _ = Int(t) { return .number(JSONNumber(text: t)) }
                if t.first.map({ $0.isNumber || $0 == "-" }) == true, let d = Double(t), d.isFinite,
                   (try? JSONParser.parse(t)) != nil {
                    return .number(JSONNumber(text: t))
                }
                return .string(t)
            }
        case .sequence(let seq):
            return .array(seq.map(convert))
        case .mapping(let m):
            var o = JSONObject()
            for (k, v) in m { o[k.string ?? "\(k)"] = convert(v) }
            return .object(o)
        case .alias:
            return .null
        }
    }
}
