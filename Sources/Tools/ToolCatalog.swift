import Foundation
import JSONSchema
import Orchestrator
import Retrieval

/// The descriptors of built-in tools, read from the embedded copies of `schemas/tools/*.json`.
public enum ToolCatalog {
    public static func descriptor(_ name: String) -> ToolDescriptor {
        guard let text = EmbeddedSchemas.tools[name] else { fatalError("schemas/tools/\(name).json is missing; run `make schemas`") }
        do { return try ToolDescriptor(json: try JSONParser.parse(text)) } catch {
            fatalError("schemas/tools/\(name).json is invalid: \(error)")
        }
    }

    /// The embedded text of every schema file, by folder and file stem (for the drift test and `tools list`).
    public static var embeddedToolSchemas: [String: String] { EmbeddedSchemas.tools }
    public static var embeddedConfigSchemas: [String: String] { EmbeddedSchemas.config }

    /// Registers the built-in tools and the command tools a configuration declares.
    public static func registerDefaults(in registry: ToolRegistry, config: AtelierConfig?, debugTools: Bool = false) throws {
        try registry.register(SchemaValidateTool())
        let sandbox = RootSandbox(roots: registry.roots)
        try registry.register(FileReadTool(sandbox: sandbox))
        try registry.register(FileListTool(sandbox: sandbox))
        let rag = RAGService(databasePath: (config ?? AtelierConfig()).ragDatabasePath ?? RAGStore.defaultPath, sandbox: sandbox)
        try registry.register(RAGIngestTool(service: rag))
        try registry.register(RAGSearchTool(service: rag))
        try registry.register(RAGDeleteTool(service: rag))
        try registry.register(RAGCollectionsTool(service: rag))
        registry.addResourceProvider(RAGCollectionResources(service: rag))
        let code = CodeService(sandbox: sandbox)
        try registry.register(CodeOutlineTool(service: code))
        try registry.register(CodeSymbolsTool(service: code))
        try registry.register(CodeReferencesTool(service: code))
        try registry.register(CodeDependenciesTool(service: code))
        try registry.register(CodeMetricsTool(service: code))
        try registry.register(CodeDiagnosticsTool(service: code))
        try registry.register(CodeQueryTool(service: code))
        try registry.register(CodeRepoMapTool(service: code))
        try registry.register(OCRExtractTool(sandbox: sandbox, defaults: OCRExtractTool.options(config?.ocr)))
        let images = ImageService(sandbox: sandbox, config: config?.image, baseDirectory: config?.baseDirectory)
        try registry.register(ImageGenerateTool(service: images))
        try registry.register(DreamBoothTrainTool(service: images))
        registry.addResourceProvider(ImageResources(service: images))
        try registry.register(LLMGenerateTool(sandbox: sandbox))
        if debugTools { try registry.register(DebugSleepTool()) }
        try registry.register(AskTool(registry: registry, resolver: PlannerFactory(config: config?.planner, roots: registry.roots).resolver))
        for spec in config?.tools ?? [] {
            try registry.register(try CommandTool(spec: spec, baseDirectory: config?.baseDirectory))
        }
    }
}
