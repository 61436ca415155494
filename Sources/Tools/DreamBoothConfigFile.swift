import Diffusion
import Foundation
import JSONSchema

/// Reads a DreamBooth YAML (or JSON) config: `key=value` overrides applied (values parsed as YAML
/// scalars or flow collections), validated against `schemas/config/dreambooth.json` so errors point at
/// the field, relative paths taken from the config file's folder.
public enum DreamBoothConfigFile {
    public static func load(path: String?, overrides: [String] = [], base: String? = nil) throws -> DreamBoothConfig {
        var object = JSONObject()
        let name = path ?? "the overrides"
        if let path {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw AtelierConfig.Failure.unreadable(path, error.localizedDescription) }
            let value: JSONValue
            do { value = try YAMLToJSON.convert(text) } catch { throw AtelierConfig.Failure.syntax(path, "\(error)") }
            guard case .object(let o) = value else { throw AtelierConfig.Failure.syntax(path, "the top level must be a mapping of keys to values") }
            object = o
        }
        try apply(overrides, to: &object)
        return try decode(.object(object), name: name, base: base ?? path.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path })
    }

    /// `key=value` pairs onto the top-level mapping.
    static func apply(_ overrides: [String], to object: inout JSONObject) throws {
        for o in overrides {
            guard let eq = o.firstIndex(of: "="), eq != o.startIndex else {
                throw AtelierConfig.Failure.syntax("--set \(o)", "expected key=value")
            }
            let key = String(o[..<eq]), text = String(o[o.index(after: eq)...])
            let value: JSONValue
            do { value = try YAMLToJSON.convert(text) } catch { throw AtelierConfig.Failure.syntax("--set \(o)", "\(error)") }
            // An empty value is YAML's empty document: null.
            object[key] = text.isEmpty ? .null : value
        }
    }

    /// Validates and decodes a config given as JSON (the `dreambooth_train` tool's arguments use this too).
    public static func decode(_ value: JSONValue, name: String, base: String?) throws -> DreamBoothConfig {
        let schema = try Schema(text: ToolCatalog.embeddedConfigSchemas["dreambooth"]!)
        let r = schema.validate(value)
        guard r.valid else { throw AtelierConfig.Failure.invalid(name, r.errors) }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        var config = try decoder.decode(DreamBoothConfig.self, from: Data(JSONWriter.bytes(value)))
        func resolve(_ p: String) -> String {
            if p.hasPrefix("/") { return p }
            if p.hasPrefix("~/") { return NSHomeDirectory() + p.dropFirst(1) }
            return (base ?? FileManager.default.currentDirectoryPath) + "/" + p
        }
        config.instanceDataDir = resolve(config.instanceDataDir)
        config.outputDir = resolve(config.outputDir)
        config.classDataDir = config.classDataDir.map(resolve)
        config.pretrainedModel = config.pretrainedModel.map(resolve)
        let problems = config.problems()
        guard problems.isEmpty else { throw AtelierConfig.Failure.syntax(name, problems.joined(separator: "; ")) }
        return config
    }
}
