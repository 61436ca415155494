import Diffusion
import Foundation
import JSONSchema
import Orchestrator
import Text

/// The image studio's shared state: loaded models (large, kept once per folder) and where images go.
public final class ImageService: @unchecked Sendable {
    let sandbox: RootSandbox
    let defaults: AtelierConfig.Image?
    let baseDirectory: String?
    private var models: [String: StableDiffusionModel] = [:]
    private let lock = NSLock()

    public init(sandbox: RootSandbox, config: AtelierConfig.Image?, baseDirectory: String?) {
        self.sandbox = sandbox
        defaults = config
        self.baseDirectory = baseDirectory
    }

    /// Generated images and sidecars live here.
    public var outputDirectory: URL {
        let configured = defaults?.outputDirectory ?? "images"
        if configured.hasPrefix("/") { return URL(fileURLWithPath: configured) }
        return (sandbox.roots.first ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).appendingPathComponent(configured)
    }

    /// The config's `image.model`, resolved against the config file's folder.
    var configuredModelPath: String? {
        defaults?.model.map { $0.hasPrefix("/") ? $0 : (baseDirectory ?? ".") + "/" + $0 }
    }

    /// The CLIP vocabulary for models without tokenizer/: the config's, else the bootstrap's.
    var vocabularyPath: String? {
        defaults?.vocabulary.map { $0.hasPrefix("/") ? $0 : (baseDirectory ?? ".") + "/" + $0 } ?? CLIPTokenizer.bootstrapVocabulary
    }

    /// The model at `path` (inside the roots), the configured default, or the embedded Shapes model; loaded once.
    func model(_ path: String?) throws -> StableDiffusionModel {
        let folder: String
        if let path {
            folder = try sandbox.resolve(path).path
        } else if let configured = configuredModelPath {
            folder = configured
        } else if FileManager.default.fileExists(atPath: ShapesEvaluation.embeddedModel + "/model_index.json") {
            // Nothing configured: Atelier's own Shapes model, installed by the bootstrap.
            folder = ShapesEvaluation.embeddedModel
        } else {
            throw ToolError.failed("no model: pass `model` (a diffusers folder inside the roots), set image.model in the config, or put a Shapes model at \(ShapesEvaluation.embeddedModel) (`atelier pretrain shapes --output \(ShapesEvaluation.embeddedModel)` makes one)")
        }
        return try lock.withLock {
            if let m = models[folder] { return m }
            let m = try StableDiffusionModel.load(folder, bpeVocabulary: vocabularyPath)
            models[folder] = m
            return m
        }
    }
}

public enum ImageTools {
    /// The sidecar report as the tool's structured result (snake_case keys, as in the sidecar file).
    static func json(_ report: SampleRun.Report, resources: [String]) -> JSONValue {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(report), let value = try? JSONParser.parse(String(decoding: data, as: UTF8.self)),
              case .object(var o) = value else { return .null }
        o["resources"] = .array(resources.map { .string($0) })
        return .object(o)
    }
}

/// `image_generate`: text (or an init image) to PNGs, with progress per denoising step.
public struct ImageGenerateTool: Tool {
    public let descriptor = ToolCatalog.descriptor("image_generate")
    let service: ImageService

    public init(service: ImageService) { self.service = service }

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        var request = GenerationRequest(prompt: arguments["prompt"]?.stringValue ?? "")
        request.negativePrompt = arguments["negative_prompt"]?.stringValue ?? ""
        if let v = arguments["steps"]?.intValue { request.steps = v }
        if let v = arguments["guidance"]?.doubleValue { request.guidance = Float(v) }
        if let v = arguments["scheduler"]?.stringValue { request.scheduler = SchedulerKind(rawValue: v) }
        if let v = arguments["seed"]?.intValue { request.seed = UInt32(clamping: v) }
        if let v = arguments["num_images"]?.intValue { request.numImages = v }
        request.width = arguments["width"]?.intValue
        request.height = arguments["height"]?.intValue
        if let v = arguments["eta"]?.doubleValue { request.eta = Float(v) }
        if let v = arguments["clip_skip"]?.intValue { request.clipSkip = v }
        if let v = arguments["strength"]?.doubleValue { request.strength = Float(v) }
        var run = SampleRun(request: request, outputDirectory: service.outputDirectory.path)
        if let p = arguments["init_image"]?.stringValue { run.initImage = try service.sandbox.resolve(p).path }
        let modelPath = arguments["model"]?.stringValue

        let flag = OneWaySwitch()
        let deadline = context.deadline
        let job = run, service = self.service
        let report: SampleRun.Report = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (k: CheckedContinuation<SampleRun.Report, Error>) in
                // Sampling holds its thread for seconds per step: keep it off the cooperative pool.
                Thread.detachNewThread {
                    k.resume(with: Result {
                        let model = try service.model(modelPath)
                        do {
                            return try job.run(pipeline: StableDiffusionPipeline(model: model), progress: { done, total in
                                context.progress(Double(done), total: Double(total), message: "denoising step \(done) of \(total)")
                            }, isCancelled: { flag.isSet || deadline.map { Date() >= $0 } == true })
                        } catch DiffusionError.cancelled {
                            throw CancellationError()
                        } catch {
                            throw ToolError.failed("\(error)")
                        }
                    })
                }
            }
        } onCancel: { flag.set() }
        let resources = report.images.map { ImageResources.prefix + URL(fileURLWithPath: $0).lastPathComponent }
        let text = "\(report.images.count) image\(report.images.count == 1 ? "" : "s") (\(report.width)×\(report.height), \(report.scheduler), \(report.steps) steps, seed \(report.seed)): "
            + report.images.joined(separator: ", ") + (report.warnings.isEmpty ? "" : "\nwarnings: " + report.warnings.joined(separator: "; "))
        return ToolOutput(structured: ImageTools.json(report, resources: resources), text: text)
    }
}

/// Generated images as MCP resources: `atelier://images/NAME.png` (PNG blobs) and their JSON sidecars.
public struct ImageResources: ResourceProvider {
    static let prefix = "atelier://images/"
    let service: ImageService
    public var prefix: String { Self.prefix }

    public init(service: ImageService) { self.service = service }

    public func list() throws -> [JSONValue] {
        let dir = service.outputDirectory
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".png") || $0.hasSuffix(".json") }.sorted()
        return names.map { name in
            .object(JSONObject([("uri", .string(Self.prefix + name)), ("name", .string(name)),
                                ("title", .string(name.hasSuffix(".png") ? "Generated image \(name)" : "Parameters of \(name)")),
                                ("mimeType", .string(name.hasSuffix(".png") ? "image/png" : "application/json"))]))
        }
    }

    public func read(_ uri: String) throws -> [JSONValue]? {
        let name = String(uri.dropFirst(Self.prefix.count))
        guard !name.isEmpty, !name.contains("/"), name != "..", name.hasSuffix(".png") || name.hasSuffix(".json") else { return nil }
        guard let data = FileManager.default.contents(atPath: service.outputDirectory.appendingPathComponent(name).path) else { return nil }
        if name.hasSuffix(".png") {
            return [.object(JSONObject([("uri", .string(uri)), ("mimeType", "image/png"), ("blob", .string(data.base64EncodedString()))]))]
        }
        return [.object(JSONObject([("uri", .string(uri)), ("mimeType", "application/json"), ("text", .string(String(decoding: data, as: UTF8.self)))]))]
    }
}
