import ArgumentParser
import Foundation
import JSONSchema

/// Measurement entry points for the benchmark drivers in tools/ (which run the peer and print ratios).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Timing probes used by `make bench`.",
                                                    subcommands: [SchemaBench.self, RPCLoadBench.self, NeuralBench.self, EmbedBench.self, KNNBench.self, DiffusionBench.self, TrainBench.self])

    struct SchemaBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schema",
            abstract: "Time schema validation: over a test-suite folder (--suite) or one schema and instance (--schema/--instance). Prints one JSON line.")

        enum Mode: String, ExpressibleByArgument { case valid, errors }

        @Option(name: .long, help: "A JSON-Schema-Test-Suite folder such as tests/draft2020-12.") var suite: String?
        @Option(name: .long, help: "Default dialect for --suite: 2020-12 or draft7.") var dialect: String = "2020-12"
        @Option(name: .long) var schema: String?
        @Option(name: .long) var instance: String?
        @Option(name: .long, help: "Repetitions of the validation pass.") var `repeat`: Int = 10
        @Option(name: .long, help: "valid: boolean fast path; errors: collect every error.") var mode: Mode = .valid

        func validate() throws {
            if (suite == nil) == (schema == nil || instance == nil) { throw ValidationError("give --suite DIR, or --schema FILE --instance FILE") }
            if `repeat` < 1 { throw ValidationError("--repeat must be at least 1") }
        }

        func run() throws {
            if let suite { try runSuite(suite) } else { try runSingle(schema!, instance!) }
        }

        func parseFile(_ path: String) throws -> JSONValue {
            guard let d = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            return try JSONParser.parse(Array(d))
        }

        func runSuite(_ dir: String) throws {
            let registry = SchemaRegistry()
            let remotes = URL(fileURLWithPath: dir).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("remotes").path
            try? registry.registerDirectory(remotes, baseURI: "http://localhost:1234/")
            let d: Dialect = dialect == "draft7" ? .draft7 : .draft2020_12
            var groups: [(JSONValue, [(JSONValue, Bool)])] = []
            for f in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where f.hasSuffix(".json") {
                for g in try parseFile(dir + "/" + f).arrayValue ?? [] {
                    groups.append((g["schema"]!, (g["tests"]?.arrayValue ?? []).map { ($0["data"] ?? .null, $0["valid"]?.boolValue ?? false) }))
                }
            }
            let t0 = Date()
            let compiled = try groups.map { try Schema($0.0, registry: registry, options: .init(defaultDialect: d)) }
            let compileSeconds = Date().timeIntervalSince(t0)
            var correct = 0, instances = 0
            let t1 = Date()
            for r in 0..<`repeat` {
                for (i, (_, tests)) in groups.enumerated() {
                    for (data, expected) in tests {
                        let ok = mode == .valid ? compiled[i].isValid(data) : compiled[i].validate(data).valid
                        if r == `repeat` - 1 { instances += 1; if ok == expected { correct += 1 } }
                    }
                }
            }
            let validateSeconds = Date().timeIntervalSince(t1)
            print(JSONWriter.string(.object(JSONObject([
                ("groups", JSONValue(groups.count)), ("instances", JSONValue(instances)), ("repeat", JSONValue(`repeat`)),
                ("compileSeconds", JSONValue(compileSeconds)), ("validateSeconds", JSONValue(validateSeconds)), ("correct", JSONValue(correct)),
            ]))))
        }

        func runSingle(_ schemaPath: String, _ instancePath: String) throws {
            let s = try Schema(parseFile(schemaPath))
            guard let data = FileManager.default.contents(atPath: instancePath) else { throw ValidationError("cannot read \(instancePath)") }
            let bytes = Array(data)
            var parse = 0.0, validate = 0.0, valid = false, errors = 0
            for _ in 0..<`repeat` {
                let t0 = Date()
                let v = try JSONParser.parse(bytes)
                let t1 = Date()
                // Keep the tree alive while timing: freeing 10 MB of values is not validation.
                withExtendedLifetime(v) {
                    if mode == .valid {
                        valid = s.isValid(v)
                    } else {
                        let r = s.validate(v)
                        valid = r.valid
                        errors = r.errors.count
                    }
                    validate += Date().timeIntervalSince(t1)
                }
                parse += t1.timeIntervalSince(t0)
            }
            let n = Double(`repeat`)
            print(JSONWriter.string(.object(JSONObject([
                ("bytes", JSONValue(bytes.count)), ("parseSeconds", JSONValue(parse / n)), ("validateSeconds", JSONValue(validate / n)),
                ("valid", .bool(valid)), ("errors", JSONValue(errors)),
            ]))))
        }
    }
}
