import XCTest
import JSONSchema
@testable import MCP
import Orchestrator
import RPC
import TestSupport
import Tools

final class MCPServerTests: XCTestCase {
    func serve(extra: [Tool] = [], roots: [URL]? = nil) throws -> (RPCConnection, CollectingSink) {
        let registry = roots.map { ToolRegistry(roots: $0) } ?? ToolRegistry()
        var config = AtelierConfig()
        config.ragDatabase = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-rag-\(UUID().uuidString).sqlite").path
        try ToolCatalog.registerDefaults(in: registry, config: config, debugTools: true)
        for t in extra { try registry.register(t) }
        let jobs = try JobManager(databasePath: ":memory:", registry: registry)
        let server = MCPServer(registry: registry, jobs: jobs, version: "test")
        let sink = CollectingSink()
        return (RPCConnection(handler: server, sink: sink, limits: .init(), transport: "test"), sink)
    }

    func testLegacyHandshakeNegotiatesTheVersion() throws {
        let (c, sink) = try serve()
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
        XCTAssertEqual(sink.response(id: 1)?["result"]?["protocolVersion"], "2025-06-18")
        c.receive(#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2024-01-01","capabilities":{}}}"#)
        XCTAssertEqual(sink.response(id: 2)?["result"]?["protocolVersion"], "2025-11-25", "an unknown version gets our latest")
        XCTAssertEqual(sink.response(id: 1)?["result"]?["serverInfo"]?["name"], "atelier")
        c.receive(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        c.receive(#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#)
        XCTAssertEqual(sink.response(id: 3)?["result"], [:])
    }

    func testStatelessEraDiscoversAndChecksTheVersionOnEveryRequest() throws {
        let (c, sink) = try serve()
        let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#
        c.receive(#"{"jsonrpc":"2.0","id":"d","method":"server/discover","params":{\#(meta)}}"#)
        let d = sink.response(id: "d")?["result"]
        XCTAssertEqual(d?["supportedVersions"]?[0], "2026-07-28")
        XCTAssertEqual(d?["resultType"], "complete")
        XCTAssertEqual(d?["_meta"]?["io.modelcontextprotocol/serverInfo"]?["name"], "atelier")
        c.receive(#"{"jsonrpc":"2.0","id":"t","method":"tools/list","params":{\#(meta)}}"#)
        let list = sink.response(id: "t")?["result"]
        XCTAssertEqual(list?["resultType"], "complete")
        XCTAssertEqual(list?["ttlMs"], 60000)
        XCTAssertEqual(list?["cacheScope"], "public")
        c.receive(#"{"jsonrpc":"2.0","id":"nocaps","method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#)
        XCTAssertEqual(sink.response(id: "nocaps")?["error"]?["code"], -32602)
        c.receive(#"{"jsonrpc":"2.0","id":"r","method":"resources/read","params":{"uri":"atelier://tools/none",\#(meta)}}"#)
        XCTAssertEqual(sink.response(id: "r")?["error"]?["code"], -32602, "no -32002 in this era")
        XCTAssertEqual(sink.response(id: "r")?["error"]?["data"]?["uri"], "atelier://tools/none")
        c.receive(#"{"jsonrpc":"2.0","id":"old","method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"1900-01-01"}}}"#)
        let e = sink.response(id: "old")?["error"]
        XCTAssertEqual(e?["code"], -32022)
        XCTAssertEqual(e?["data"]?["requested"], "1900-01-01")
    }

    func testToolsListServesTheSchemaFilesAndPages() throws {
        let (c, sink) = try serve()
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        let tools = sink.response(id: 1)?["result"]?["tools"]?.arrayValue ?? []
        let sv = tools.first { $0["name"] == "schema_validate" }
        XCTAssertEqual(sv, try JSONParser.parse(ToolCatalog.embeddedToolSchemas["schema_validate"]!), "served exactly as the file")
        c.receive(#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"not-a-cursor"}}"#)
        XCTAssertEqual(sink.response(id: 2)?["error"]?["code"], -32602)
    }

    func testPaginationWithManyTools() throws {
        let many: [Tool] = (0..<130).map { i in
            StaticTool(name: String(format: "t%03d", i))
        }
        let (c, sink) = try serve(extra: many)
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        let first = sink.response(id: 1)!["result"]!
        XCTAssertEqual(first["tools"]?.arrayValue?.count, 100)
        let cursor = first["nextCursor"]!.stringValue!
        c.receive(#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"\#(cursor)"}}"#)
        let second = sink.response(id: 2)!["result"]!
        XCTAssertEqual(second["tools"]?.arrayValue?.count, 130 + ToolCatalog.embeddedToolSchemas.count - 100, "every tool on exactly one page")
        XCTAssertNil(second["nextCursor"])
    }

    func testCallResultsAndErrors() throws {
        let (c, sink) = try serve()
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"schema_validate","arguments":{"schema":{"type":"integer","minimum":1},"instance":0}}}"#)
        let ok = sink.response(id: 1)?["result"]
        XCTAssertEqual(ok?["isError"], false)
        XCTAssertEqual(ok?["structuredContent"]?["valid"], false)
        XCTAssertEqual(ok?["structuredContent"]?["errors"]?[0]?["keywordLocation"], "/minimum")
        c.receive(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"schema_validate","arguments":{"schema":{}}}}"#)
        let invalid = sink.response(id: 2)?["result"]
        XCTAssertEqual(invalid?["isError"], true)
        XCTAssertEqual(invalid?["content"]?[0]?["text"], "invalid arguments for 'schema_validate': (root): missing required property 'instance'")
        c.receive(#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"nope","arguments":{}}}"#)
        XCTAssertEqual(sink.response(id: 3)?["error"]?["code"], -32602)
    }

    func testProgressIsMonotonicAndCancellationStopsWithoutAResponse() throws {
        let (c, sink) = try serve()
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"debug_sleep","arguments":{"ms":60,"steps":3},"_meta":{"progressToken":"p1"}}}"#)
        XCTAssertNotNil(sink.response(id: 1))
        let progress = sink.messages.filter { $0["method"] == "notifications/progress" }.map { $0["params"]!["progress"]!.doubleValue! }
        XCTAssertEqual(progress, [1, 2, 3])
        c.receive(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"debug_sleep","arguments":{"ms":10000}}}"#)
        Thread.sleep(forTimeInterval: 0.05)
        c.receive(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2,"reason":"user"}}"#)
        c.receive(#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#)
        XCTAssertNotNil(sink.response(id: 3))
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertNil(sink.messages.first { $0["id"] == 2 })
        XCTAssertEqual(c.inFlightCount, 0, "the cancelled call is no longer running")
    }

    func testPlanExecuteRunsCallsInParallelWithPerCallStatus() throws {
        let (c, sink) = try serve()
        c.receive(#"""
        {"jsonrpc":"2.0","id":1,"method":"plan/execute","params":{"calls":[
          {"id":"s","name":"debug_sleep","arguments":{"ms":10}},
          {"id":"v","name":"schema_validate","arguments":{"schema":{"type":"object"},"instance":{"$from":"s"}}},
          {"id":"x","name":"nope","arguments":{}}]}}
        """#.replacingOccurrences(of: "\n", with: ""))
        let r = sink.response(id: 1)?["result"]
        XCTAssertEqual(r?["results"]?.arrayValue?.map { $0["status"]! }, ["ok", "ok", "error"])
        XCTAssertEqual(r?["results"]?[1]?["result"]?["valid"], true)
        c.receive(#"{"jsonrpc":"2.0","id":2,"method":"plan/execute","params":{"calls":[{"id":"a","name":"debug_sleep","arguments":{"ms":{"$from":"a"}}}]}}"#)
        XCTAssertEqual(sink.response(id: 2)?["error"]?["code"], -32602)
    }

    func testJobsOverRPC() throws {
        let (c, sink) = try serve()
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"jobs/start","params":{"name":"debug_sleep","arguments":{"ms":20}}}"#)
        let id = sink.response(id: 1)!["result"]!["id"]!.stringValue!
        var status: JSONValue? = nil
        for i in 0..<200 {
            c.receive(#"{"jsonrpc":"2.0","id":"g\#(i)","method":"jobs/get","params":{"id":"\#(id)"}}"#)
            status = sink.response(id: .string("g\(i)"))?["result"]?["status"]
            if status == "succeeded" { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTAssertEqual(status, "succeeded")
        c.receive(#"{"jsonrpc":"2.0","id":2,"method":"jobs/list"}"#)
        XCTAssertEqual(sink.response(id: 2)?["result"]?["jobs"]?.arrayValue?.count, 1)
        c.receive(#"{"jsonrpc":"2.0","id":3,"method":"jobs/get","params":{"id":"missing"}}"#)
        XCTAssertEqual(sink.response(id: 3)?["error"]?["code"], -32602)
    }

    func testPromptsAndResources() throws {
        let (c, sink) = try serve()
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"prompts/list"}"#)
        XCTAssertEqual(sink.response(id: 1)?["result"]?["prompts"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ["validate_json", "ask_documents", "explore_files"])
        c.receive(#"{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"validate_json","arguments":{"schema":"{}","instance":"1"}}}"#)
        XCTAssertEqual(sink.response(id: 2)?["result"]?["messages"]?[0]?["role"], "user")
        c.receive(#"{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"validate_json"}}"#)
        XCTAssertEqual(sink.response(id: 3)?["error"]?["code"], -32602)
        c.receive(#"{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"atelier://tools/fs_read"}}"#)
        let text = sink.response(id: 4)?["result"]?["contents"]?[0]?["text"]?.stringValue ?? ""
        XCTAssertEqual(try JSONParser.parse(text)["name"], "fs_read")
        c.receive(#"{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"atelier://tools/none"}}"#)
        XCTAssertEqual(sink.response(id: 5)?["error"]?["code"], -32002)
    }
}

extension MCPServerTests {
    /// Retrieval over RPC: ingest, search with citations, collections as resources.
    func testRetrievalToolsAndCollectionResources() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-rag-docs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "# Ferns\n\nFerns reproduce with spores instead of seeds.".write(to: dir.appendingPathComponent("ferns.md"), atomically: true, encoding: .utf8)
        let (c, sink) = try serve(roots: [dir])
        c.receive(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rag_ingest","arguments":{"paths":["."],"collection":"plants"}}}"#)
        let ingest = sink.response(id: 1, timeout: 60)?["result"]
        XCTAssertEqual(ingest?["isError"], false, "\(String(describing: ingest))")
        XCTAssertEqual(ingest?["structuredContent"]?["added"], 1)
        c.receive(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"rag_search","arguments":{"query":"how do ferns reproduce","collection":"plants","k":1}}}"#)
        let hit = sink.response(id: 2, timeout: 60)?["result"]?["structuredContent"]?["hits"]?[0]
        XCTAssertTrue(hit?["path"]?.stringValue?.hasSuffix("ferns.md") ?? false)
        XCTAssertEqual(hit?["citation"]?["heading"], "Ferns")
        c.receive(#"{"jsonrpc":"2.0","id":3,"method":"resources/list"}"#)
        let uris = sink.response(id: 3)?["result"]?["resources"]?.arrayValue?.compactMap { $0["uri"]?.stringValue } ?? []
        XCTAssertTrue(uris.contains("atelier://rag/plants"), "\(uris)")
        c.receive(#"{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"atelier://rag/plants"}}"#)
        let text = sink.response(id: 4)?["result"]?["contents"]?[0]?["text"]?.stringValue ?? ""
        XCTAssertEqual(try JSONParser.parse(text)["documents"]?.arrayValue?.count, 1)
        c.receive(#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"rag_search","arguments":{"query":"x","collection":"nope"}}}"#)
        XCTAssertEqual(sink.response(id: 5, timeout: 60)?["result"]?["content"]?[0]?["text"], "no collection named 'nope'")
    }
}

struct StaticTool: Tool {
    let descriptor: ToolDescriptor
    init(name: String) {
        descriptor = try! ToolDescriptor(json: ["name": .string(name), "description": "static", "inputSchema": ["type": "object"]])
    }
    func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput { ToolOutput(text: "ok") }
}
