import XCTest
import JSONSchema
import Orchestrator
import Text
import Tools
@testable import Planner

/// The offline planner with the real MiniLM embedder and the real tool schemas: it picks the tool
/// by meaning, copies arguments from the request and the files under the roots, and asks rather
/// than invents.
final class OfflinePlannerTests: XCTestCase {
    var root: URL!
    var planner: OfflinePlanner!
    var tools: [ToolSpec]!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-planner-\(UUID().uuidString)")
        for d in ["docs", "notes", "lib/network"] { try FileManager.default.createDirectory(at: root.appendingPathComponent(d), withIntermediateDirectories: true) }
        for f in ["docs/handbook.md", "notes/gpu.txt", "lib/network/client.go", "README.md"] {
            try "text".write(to: root.appendingPathComponent(f), atomically: true, encoding: .utf8)
        }
        let embedder = try SentenceEmbedder.defaultModel()
        planner = OfflinePlanner(embed: { try embedder.embed($0) }, roots: [root])
        tools = ["fs_read", "fs_list", "rag_ingest", "rag_search", "rag_delete", "rag_collections", "schema_validate", "ocr_extract"]
            .map { ToolCatalog.descriptor($0).toolSpec }
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    func calls(_ request: String) async throws -> [ToolCall] {
        try await planner.chat(ChatRequest(messages: [.user(request)], tools: tools)) { _ in }.toolCalls
    }

    func args(_ c: ToolCall) throws -> JSONValue { try JSONParser.parse(c.arguments) }

    func testChoosesTheToolByMeaning() async throws {
        let cases: [(String, String)] = [
            ("what does the handbook say about parental leave?", "rag_search"),
            ("search my documents for the refund policy", "rag_search"),
            ("index the folder docs so I can ask about it", "rag_ingest"),
            ("show me the contents of README.md", "fs_read"),
            ("list the files in notes", "fs_list"),
            ("which collections do I have?", "rag_collections"),
            ("delete the research collection", "rag_delete"),
            ("OCR the scanned receipt in notes/receipt.png", "ocr_extract"),
            ("pull the table out of this scanned PDF: docs/report.pdf", "ocr_extract"),
        ]
        for (request, tool) in cases {
            let c = try await calls(request)
            XCTAssertEqual(c.map(\.name), [tool], request)
        }
    }

    func testPathsAreCopiedFromTheRequestAndResolvedUnderTheRoots() async throws {
        let read = try await calls("open lib/network/client.go and show it")
        XCTAssertEqual(try args(read[0])["path"], "lib/network/client.go")
        let bare = try await calls("read handbook.md")
        XCTAssertEqual(try args(bare[0])["path"], "docs/handbook.md", "a bare name found once under the roots")
        let search = try await calls("search the research collection for the top 3 passages about GPU memory")
        XCTAssertEqual(try args(search[0]), ["query": "GPU memory", "collection": "research", "k": 3])
    }

    func testPagesAndOptionsAreReadFromTheWordsNotFromFileNames() async throws {
        let table = try await calls("extract the table on page 2 of docs/report.pdf")
        XCTAssertEqual(try args(table[0]), ["path": "docs/report.pdf", "pages": [2], "mode": "tables"])
        let range = try await calls("run OCR on pages 2-3 of docs/form-w9.pdf")
        XCTAssertEqual(try args(range[0]), ["path": "docs/form-w9.pdf", "pages": [2, 3]], "\"form\" in a file name is not mode forms")
        let all = try await calls("get the text, layout and tables from docs/report.pdf")
        XCTAssertEqual(try args(all[0])["mode"], "all")
    }

    func testJSONWrittenInTheRequestFillsJSONArguments() async throws {
        // The literal after "schema" is the schema, whatever the order; the other is the instance.
        let c = try await calls(#"is {"name": 3} valid against the schema {"type": "object", "properties": {"name": {"type": "string"}}}?"#)
        XCTAssertEqual(c.map(\.name), ["schema_validate"])
        XCTAssertEqual(try args(c[0]), ["instance": ["name": 3], "schema": ["type": "object", "properties": ["name": ["type": "string"]]]])
        let reversed = try await calls(#"with the schema {"type": "array", "maxItems": 2} check the value [1, 2, 3]"#)
        XCTAssertEqual(try args(XCTUnwrap(reversed.first)), ["schema": ["type": "array", "maxItems": 2], "instance": [1, 2, 3]])
        // Brackets that are not JSON ("[draft]", a half-written object) are left alone.
        let literals = ArgumentFiller.jsonLiterals(in: #"the [draft] says {"a": 1} and {broken: }"#)
        XCTAssertEqual(literals.map(\.value), [["a": 1]])
    }

    func testTypedValuesAreReadFromTheirCues() throws {
        let filler = ArgumentFiller(roots: [root])
        let image = try JSONParser.parse(#"{"type": "object", "properties": {"prompt": {"type": "string"}, "seed": {"type": "integer", "description": "Same seed and parameters, same images."}, "width": {"type": "integer"}, "height": {"type": "integer"}}}"#)
        guard case .filled(let a) = filler.fill(image, clause: "a lighthouse, 512 wide and 768 tall, seed 1234", request: "") else { return XCTFail() }
        XCTAssertEqual(a["width"], 512)
        XCTAssertEqual(a["height"], 768)
        XCTAssertEqual(a["seed"], 1234, "the number closest to its cue, not one that merely sits near it")
        guard case .filled(let b) = filler.fill(image, clause: "a cat, seed 7, 256x384", request: "") else { return XCTFail() }
        XCTAssertEqual(b["width"], 256)
        XCTAssertEqual(b["height"], 384)

        let list = try JSONParser.parse(#"{"type": "object", "properties": {"path": {"type": "string"}, "recursive": {"type": "boolean"}, "includeHidden": {"type": "boolean"}}}"#)
        guard case .filled(let c) = filler.fill(list, clause: "walk ./docs/ recursively", request: "") else { return XCTFail() }
        XCTAssertEqual(c, ["path": "docs", "recursive": true], "paths are tidied; a boolean named by the request is switched on")
        guard case .filled(let d) = filler.fill(list, clause: "list docs without hidden files, not recursive", request: "") else { return XCTFail() }
        XCTAssertEqual(d["recursive"], false)
        XCTAssertEqual(d["includeHidden"], false)

        let train = try JSONParser.parse(#"{"type": "object", "properties": {"class_noun": {"type": "string", "x-cues": ["class", "as a "]}, "identifier": {"type": "string", "x-cues": ["identifier"]}, "train_text_encoder": {"type": "boolean"}}}"#)
        guard case .filled(let e) = filler.fill(train, clause: "train on docs (class: dog), identifier zwx, and train the text encoder too", request: "") else { return XCTFail() }
        XCTAssertEqual(e, ["class_noun": "dog", "identifier": "zwx", "train_text_encoder": true])
        guard case .filled(let f) = filler.fill(train, clause: "personalize the photos in docs as a cat", request: "") else { return XCTFail() }
        XCTAssertEqual(f, ["class_noun": "cat"])
    }

    func testEveryArgumentStringComesFromTheRequestOrTheDisk() async throws {
        let requests = ["read the client code in lib/network/client.go", "index ./notes", "what is in docs?",
                        "find passages about vacation in the hr collection", "remove notes/gpu.txt from the index"]
        for r in requests {
            for c in try await calls(r) {
                for s in Self.strings(try args(c)) {
                    let onDisk = FileManager.default.fileExists(atPath: root.appendingPathComponent(s).path)
                    XCTAssertTrue(r.contains(s) || onDisk, "\(c.name): '\(s)' was invented for '\(r)'")
                }
                XCTAssertTrue(try Schema(tools.first { $0.name == c.name }!.parameters).validate(try args(c)).valid, "\(c.name) \(c.arguments)")
            }
        }
    }

    func testImagePromptsKeepWhatToDrawWithoutTheCommandOrTheSettings() {
        XCTAssertEqual(ArgumentFiller.description(from: "generate an image of a small red star on a gray background with seed 42"),
                       "a small red star on a gray background")
        XCTAssertEqual(ArgumentFiller.description(from: "Please draw me 2 pictures of a lighthouse at dusk, 30 steps"), "a lighthouse at dusk")
        XCTAssertEqual(ArgumentFiller.description(from: "a watercolor fox"), "a watercolor fox")
    }

    func testTwoIntentsBecomeParallelCalls() async throws {
        let c = try await calls("index ./notes and also show me docs/handbook.md")
        XCTAssertEqual(c.map(\.name), ["rag_ingest", "fs_read"])
        XCTAssertEqual(try args(c[0])["paths"], ["notes"], "./notes is written the way tools report it")
        XCTAssertEqual(try args(c[1])["path"], "docs/handbook.md")
    }

    func testOneToolNamedWithSeveralValuesIsCalledOncePerValue() async throws {
        let reads = try await calls("show me docs/handbook.md and README.md side by side")
        XCTAssertEqual(reads.map(\.name), ["fs_read", "fs_read"])
        XCTAssertEqual(try reads.map { try args($0)["path"] }, ["docs/handbook.md", "README.md"])
        XCTAssertEqual(ArgumentFiller.symbolList(in: "where are Client and Router defined?", excluding: []), ["Client", "Router"])
        XCTAssertEqual(ArgumentFiller.symbolList(in: "find parse_args, run_main & Config", excluding: []), ["parse_args", "run_main", "Config"])
        XCTAssertEqual(ArgumentFiller.symbolList(in: "list the docs and notes folders", excluding: []), [], "plain words are not symbols")
        let symbols = try await planner.chat(ChatRequest(messages: [.user("where are Client and Router defined?")],
                                                         tools: tools + [ToolCatalog.descriptor("code_symbols").toolSpec])) { _ in }.toolCalls
        XCTAssertEqual(symbols.map(\.name), ["code_symbols", "code_symbols"])
        XCTAssertEqual(try symbols.map { try args($0)["query"] }, ["Client", "Router"])
    }

    func testTheRootAndCollectionsNamedInPassingAreFilled() async throws {
        let top = try await calls("what is at the top level of this workspace?")
        XCTAssertEqual(top.map(\.name), ["fs_list"])
        XCTAssertEqual(try args(top[0])["path"], ".")
        XCTAssertEqual(ArgumentFiller.collection(in: "In ml-papers, give me the 8 best passages on attention"), "ml-papers")
        XCTAssertNil(ArgumentFiller.collection(in: "In general, what does the handbook say?"), "only names written like identifiers open a request")
        XCTAssertFalse(ArgumentFiller.looksLikePath("/"), "'import / depend' is not a path")
        XCTAssertEqual(RequestClauses.withoutConnective("while you're at it, also list what's in scans"), "list what's in scans",
                       "the words that only link two halves are not matched against the tools")
        XCTAssertEqual(RequestClauses.withoutConnective("then"), "then")
    }

    func testAFolderNamedToAFileToolIsListedInstead() async throws {
        // "notes" is a folder here: a file reader cannot take it, so the listing tool wins the clause.
        let peek = try await calls("have a quick look in the notes folder")
        XCTAssertEqual(peek.map(\.name), ["fs_list"])
        XCTAssertEqual(try args(peek[0])["path"], "notes")
        let contents = try await calls("would you show me what the docs directory contains?")
        XCTAssertEqual(contents.map(\.name), ["fs_list"])
        XCTAssertEqual(try args(contents[0])["path"], "docs")
    }

    func testASearchForAQuotedPhraseSearchesForThePhrase() async throws {
        let c = try await calls("keyword search (bm25) of my documents for the exact string \"ERR_TLS_CERT\"")
        XCTAssertEqual(c.map(\.name), ["rag_search"])
        XCTAssertEqual(try args(c[0])["query"], "ERR_TLS_CERT")
        XCTAssertEqual(try args(c[0])["mode"], "bm25")
        XCTAssertEqual(ArgumentFiller.query(from: "what does \"idle timeout\" mean in the handbook?"), "what does \"idle timeout\" mean in the handbook?",
                       "a question that quotes a term is not a search for the term alone")
    }

    func testThenMakesASecondTurn() async throws {
        let request = "index ./docs then search it for the vacation policy"
        let first = try await planner.chat(ChatRequest(messages: [.user(request)], tools: tools)) { _ in }
        XCTAssertEqual(first.toolCalls.map(\.name), ["rag_ingest"])
        let second = try await planner.chat(ChatRequest(messages: [
            .user(request), first.message,
            .tool("<tool_result name=\"rag_ingest\" status=\"ok\">\ndefault: 1 added\n</tool_result>", callId: first.toolCalls[0].id, name: "rag_ingest"),
        ], tools: tools)) { _ in }
        XCTAssertEqual(second.toolCalls.map(\.name), ["rag_search"])
        XCTAssertEqual(try args(second.toolCalls[0])["query"], "the vacation policy")
    }

    func testAsksInsteadOfInventingAMissingPath() async throws {
        let r = try await planner.chat(ChatRequest(messages: [.user("read the file")], tools: tools)) { _ in }
        XCTAssertTrue(r.toolCalls.isEmpty)
        XCTAssertTrue(r.content.contains("fs_read") && r.content.contains("path"), r.content)
    }

    func testRequestsNoToolFitsGetAPlainAnswer() async throws {
        for request in ["tell me a joke about penguins", "hello there"] {
            let r = try await planner.chat(ChatRequest(messages: [.user(request)], tools: tools)) { _ in }
            XCTAssertTrue(r.toolCalls.isEmpty, request)
            XCTAssertTrue(r.content.contains("could not match"), r.content)
        }
    }

    func testTheAnswerReportsEachResultAndEachFailure() async throws {
        let r = try await planner.chat(ChatRequest(messages: [
            .user("read README.md"), .assistant("", toolCalls: [ToolCall(id: "1", name: "fs_read", arguments: "{}")]),
            .tool("<tool_result name=\"fs_read\" status=\"error\">\nno such file\n</tool_result>", callId: "1", name: "fs_read"),
        ], tools: tools)) { _ in }
        XCTAssertEqual(r.content, "fs_read error: no such file")
    }

    static func strings(_ v: JSONValue) -> [String] {
        switch v {
        case .string(let s): return [s]
        case .array(let a): return a.flatMap(strings)
        case .object(let o): return o.flatMap { strings($0.value) }
        default: return []
        }
    }
}

/// The local model's part in planning: required arguments the extractors cannot find, written by
/// grounded constrained decoding with the embedded SmolLM2.
final class ArgumentDecoderTests: XCTestCase {
    func testANameNotWrittenAsCodeIsChosenFromTheRequestsOwnWords() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-decoder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let embedder = try SentenceEmbedder.defaultModel()
        let planner = OfflinePlanner(embed: { try embedder.embed($0) }, roots: [root])
        let tools = ["code_symbols", "code_outline", "fs_read", "rag_search"].map { ToolCatalog.descriptor($0).toolSpec }
        func plan(_ request: String) async throws -> [ToolCall] {
            try await planner.chat(ChatRequest(messages: [.user(request)], tools: tools)) { _ in }.toolCalls
        }
        // Without the model: "parse" is neither code-like nor capitalised, so the planner asks.
        let asked = try await plan("where is parse defined?")
        XCTAssertEqual(asked.count, 0)
        planner.loadDecoder = { try? ArgumentDecoder(model: LlamaParityTests.model()) }
        let calls = try await plan("where is parse defined?")
        XCTAssertEqual(calls.map(\.name), ["code_symbols"])
        XCTAssertEqual(try JSONParser.parse(calls[0].arguments)["query"], "parse")
    }

    func testTheDecodersValuesAreGroundedAndValidOrAbsent() throws {
        let d = try ArgumentDecoder(model: LlamaParityTests.model())
        let spec = ToolCatalog.descriptor("code_symbols").toolSpec
        // The only candidates are the request's words that could name code.
        XCTAssertEqual(ArgumentDecoder.candidateNames(in: "show the outline of the parser please", excluding: spec.name + " " + spec.description), ["parser"])
        let filled = try XCTUnwrap(d.fill(tool: spec, known: JSONObject(), missing: ["query"], clause: "where do we define the tokenizer?"))
        XCTAssertEqual(filled["query"], "tokenizer")
        XCTAssertTrue(try Schema(spec.parameters).validate(filled).valid)
        // A path is never guessed.
        let read = ToolCatalog.descriptor("fs_read").toolSpec
        XCTAssertNil(d.fill(tool: read, known: JSONObject(), missing: ["path"], clause: "open the config file"))
        // Nothing in the request could be a name: no call.
        XCTAssertNil(d.fill(tool: spec, known: JSONObject(), missing: ["query"], clause: "where is it defined?"))
    }

    func testAResponseSchemaTheResultsCannotFillByNameIsWrittenFromTheirWords() throws {
        let d = try ArgumentDecoder(model: LlamaParityTests.model())
        let schema = try JSONParser.parse(#"{"type":"object","required":["city","confirmed"],"properties":{"city":{"type":"string"},"confirmed":{"type":"boolean"}},"additionalProperties":false}"#)
        let request = "Which city hosts the 2026 conference?"
        let results = ["The 2026 conference takes place in Lisbon, Portugal, in May."]
        let v = try XCTUnwrap(d.structuredAnswer(schema: schema, request: request, answer: "Lisbon.", results: results))
        XCTAssertTrue(try Schema(schema).validate(v).valid, "\(v)")
        // The string is copied from the request or the results, not made up.
        let city = try XCTUnwrap(v["city"]?.stringValue)
        XCTAssertFalse(city.isEmpty)
        XCTAssertTrue(([request, "Lisbon."] + results).contains { $0.contains(city) }, city)
        // A number would have to be invented: no answer.
        let count = try JSONParser.parse(#"{"type":"object","required":["attendees"],"properties":{"attendees":{"type":"integer"}}}"#)
        XCTAssertNil(d.structuredAnswer(schema: count, request: request, answer: "", results: results))
    }
}
