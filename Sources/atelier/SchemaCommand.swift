import ArgumentParser
import Foundation
import JSONSchema

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schema", abstract: "JSON Schema validation.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate an instance against a schema (exit 0 valid, 1 invalid, 2 unusable input); errors on stdout as JSON.",
            discussion: "With --batch, reads JSON lines {\"schema\":…, \"instance\":…, \"formatAssertion\"?: bool} from stdin and writes one line {\"valid\":…, \"errors\":[…]} per input, in order.")

        @Argument(help: "Schema file.") var schemaFile: String?
        @Argument(help: "Instance file.") var instanceFile: String?
        @Flag(name: .long, help: "Read JSON lines from stdin, answer one line each.") var batch = false
        @Flag(name: .long, help: "Treat 'format' as an assertion.") var formatAssertion = false
        @Option(name: .long, help: "Directory of extra schemas that $ref may name, registered as BASE_URI + relative path.") var refs: String?
        @Option(name: .long, help: "Base URI for --refs (default http://localhost:1234/).") var refsBase: String = "http://localhost:1234/"

        func validate() throws {
            if batch != (schemaFile == nil) || (schemaFile == nil) != (instanceFile == nil) {
                throw ValidationError("give SCHEMA_FILE INSTANCE_FILE, or --batch")
            }
        }

        func run() throws {
            let registry = SchemaRegistry()
            if let refs {
                do { try registry.registerDirectory(refs, baseURI: refsBase) } catch { throw fail("cannot load --refs: \(error)") }
            }
            if batch { return runBatch(registry) }
            let schemaJSON = try load(schemaFile!)
            let instance = try load(instanceFile!)
            let schema: Schema
            do { schema = try Schema(schemaJSON, registry: registry, options: .init(formatAssertion: formatAssertion)) } catch {
                throw fail("schema '\(schemaFile!)' is unusable: \(error)")
            }
            let r = schema.validate(instance)
            print(JSONWriter.string(output(r)))
            if !r.valid { throw ExitCode(1) }
        }

        func output(_ r: ValidationResult) -> JSONValue {
            .object(JSONObject([("valid", .bool(r.valid)), ("errors", .array(r.errors.map(\.json)))]))
        }

        func load(_ path: String) throws -> JSONValue {
            guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read '\(path)'") }
            do { return try JSONParser.parse(Array(data)) } catch { throw fail("'\(path)' is not valid JSON: \(error)") }
        }

        func fail(_ message: String) -> Error {
            print(JSONWriter.string(.object(JSONObject([("valid", false), ("errors", .array([])), ("unusable", .string(message))]))))
            FileHandle.standardError.write(Data("atelier: \(message)\n".utf8))
            return ExitCode(2)
        }

        func runBatch(_ registry: SchemaRegistry) {
            let cache = SchemaCache(capacity: 1024, registry: registry)
            var out: [UInt8] = []
            out.reserveCapacity(1 << 16)
            var splitter = LineSplitterLite()
            let handle = FileHandle.standardInput
            func answer(_ line: ArraySlice<UInt8>) {
                let v: JSONValue
                do {
                    let req = try JSONParser.parse(Array(line))
                    guard let s = req["schema"] else { throw BatchError.message("each line needs a 'schema'") }
                    let schema = try cache.schema(s, options: .init(formatAssertion: req["formatAssertion"]?.boolValue ?? formatAssertion))
                    v = output(schema.validate(req["instance"] ?? .null))
                } catch {
                    v = .object(JSONObject([("valid", false), ("errors", .array([])), ("unusable", .string("\(error)"))]))
                }
                JSONWriter.write(v, into: &out)
                out.append(0x0A)
                if out.count > 1 << 16 { flush() }
            }
            func flush() {
                FileHandle.standardOutput.write(Data(out))
                out.removeAll(keepingCapacity: true)
            }
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                splitter.feed(data, answer)
            }
            splitter.finish(answer)
            flush()
        }
    }
}

enum BatchError: Error, CustomStringConvertible {
    case message(String)
    var description: String { if case .message(let m) = self { return m }; return "" }
}

/// Newline splitting for the batch reader (no size limit: a local tool reading a local file).
struct LineSplitterLite {
    var buffer: [UInt8] = []

    mutating func feed(_ data: Data, _ emit: (ArraySlice<UInt8>) -> Void) {
        buffer.append(contentsOf: data)
        var start = 0
        for i in buffer.indices where buffer[i] == 0x0A {
            let line = buffer[start..<i]
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { emit(line) }
            start = i + 1
        }
        buffer.removeFirst(start)
    }

    mutating func finish(_ emit: (ArraySlice<UInt8>) -> Void) {
        if !buffer.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 || $0 == 0x0A }) { emit(buffer[...]) }
        buffer.removeAll()
    }
}
