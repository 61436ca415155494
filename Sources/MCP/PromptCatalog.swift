import JSONSchema
import Orchestrator
import RPC

/// Prompts offered over MCP: one useful starting point per tool family that is registered.
struct PromptCatalog: Sendable {
    let registry: ToolRegistry

    struct Prompt: Sendable {
        let name: String
        let title: String
        let description: String
        let arguments: [(name: String, description: String, required: Bool)]
        let requiresTool: String
        let render: @Sendable ([String: String]) -> String
    }

    static let all: [Prompt] = [
        Prompt(name: "validate_json", title: "Validate JSON against a schema",
               description: "Checks a JSON document against a JSON Schema and explains each error and how to fix it.",
               arguments: [("schema", "The JSON Schema, as JSON text", true), ("instance", "The JSON document to check", true)],
               requiresTool: "schema_validate",
               render: { a in
                   "Validate this JSON document against the schema with the schema_validate tool, then explain each error (where it is and how to fix it).\n\nSchema:\n\(a["schema"] ?? "")\n\nDocument:\n\(a["instance"] ?? "")"
               }),
        Prompt(name: "ask_documents", title: "Answer from your documents",
               description: "Answers a question from an ingested collection, citing the passages used.",
               arguments: [("question", "What to answer", true), ("collection", "Collection to search (default: default)", false)],
               requiresTool: "rag_search",
               render: { a in
                   "Answer the question using only passages found with rag_search in collection '\(a["collection"] ?? "default")' (search more than once if needed). Cite every claim as [n] with the passage's path and character range, and say so if the documents do not answer it.\n\nQuestion: \(a["question"] ?? "")"
               }),
        Prompt(name: "explore_files", title: "Explore a directory",
               description: "Lists a directory and summarises what its files are for.",
               arguments: [("path", "Directory to explore, relative to the server's root", false)],
               requiresTool: "fs_list",
               render: { a in
                   "Use fs_list on '\(a["path"] ?? ".")' (recursively if it is small) and fs_read on the files that look most important, then summarise what this directory contains and how it is organised."
               }),
    ]

    var available: [Prompt] { Self.all.filter { registry.descriptor($0.requiresTool) != nil } }

    func list() -> [JSONValue] {
        available.map { p in
            .object(JSONObject([
                ("name", .string(p.name)), ("title", .string(p.title)), ("description", .string(p.description)),
                ("arguments", .array(p.arguments.map { a in
                    .object(JSONObject([("name", .string(a.name)), ("description", .string(a.description)), ("required", .bool(a.required))]))
                })),
            ]))
        }
    }

    func get(_ request: RPCRequest) throws -> JSONValue {
        guard let name = request.param("name")?.stringValue else { throw RPCError.invalidParams("'name' must be a prompt name") }
        guard let p = available.first(where: { $0.name == name }) else {
            throw RPCError.invalidParams("unknown prompt '\(name)'; prompts/list shows the available ones")
        }
        var args: [String: String] = [:]
        for (k, v) in request.param("arguments")?.objectValue ?? JSONObject() { args[k] = v.stringValue ?? JSONWriter.string(v) }
        for a in p.arguments where a.required && args[a.name] == nil {
            throw RPCError.invalidParams("prompt '\(name)' needs the argument '\(a.name)'")
        }
        return .object(JSONObject([
            ("description", .string(p.description)),
            ("messages", .array([.object(JSONObject([
                ("role", "user"),
                ("content", .object(JSONObject([("type", "text"), ("text", .string(p.render(args)))]))),
            ]))])),
        ]))
    }
}
