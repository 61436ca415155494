import Diffusion
import Foundation
import JSONSchema
import Orchestrator
import Text

/// `dreambooth_train`: DreamBooth as a tool (meant for jobs/start): progress per step, cancellation at
/// the next step with a resumable checkpoint, the exported model and a sample grid as the result.
public struct DreamBoothTrainTool: Tool {
    public let descriptor = ToolCatalog.descriptor("dreambooth_train")
    let service: ImageService

    public init(service: ImageService) { self.service = service }

    /// The run's config: the YAML file's keys, then `settings`, then the named arguments.
    func config(_ arguments: JSONValue) throws -> DreamBoothConfig {
        var object = JSONObject()
        var base: String?
        if let file = arguments["config"]?.stringValue {
            let path = try service.sandbox.resolve(file).path
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw ToolError.failed("cannot read config '\(file)': \(error.localizedDescription)") }
            guard case .object(let o) = try YAMLToJSON.convert(text) else { throw ToolError.failed("config '\(file)' must be a mapping of keys to values") }
            object = o
            base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        }
        for (k, v) in arguments["settings"]?.objectValue ?? JSONObject() { object[k] = v }
        for key in ["identifier", "class_noun", "max_train_steps", "learning_rate", "with_prior_preservation", "num_class_images", "train_text_encoder", "use_lora"] {
            if let v = arguments[key] { object[key] = v }
        }
        // Paths from the arguments are resolved inside the roots; from a config file, next to it.
        if let dir = arguments["instance_data_dir"]?.stringValue { object["instance_data_dir"] = .string(try service.sandbox.resolve(dir).path) }
        if let m = arguments["model"]?.stringValue { object["pretrained_model"] = .string(try service.sandbox.resolve(m).path) }
        else if object["pretrained_model"] == nil, let configured = service.configuredModelPath { object["pretrained_model"] = .string(configured) }
        if let out = arguments["output_dir"]?.stringValue { object["output_dir"] = .string(try service.sandbox.resolveNew(out).path) }
        guard let instances = object["instance_data_dir"]?.stringValue else {
            throw ToolError.failed("instance_data_dir is required: the folder of 3–5 PNG photos of the subject")
        }
        let outputChosen = object["output_dir"] != nil
        if !outputChosen {
            let name = URL(fileURLWithPath: instances).lastPathComponent
            object["output_dir"] = .string(service.outputDirectory.appendingPathComponent("runs/\(name)").path)
        }
        // Reading the photos with the oracle costs a pass over them: only when a class or its prompts are missing.
        let folder = instances.hasPrefix("/") ? instances : (base ?? FileManager.default.currentDirectoryPath) + "/" + instances
        var detected: ShapeKind??
        func shapesClass() -> ShapeKind? {
            if detected == nil { detected = .some(Self.shapesClass(of: folder)) }
            return detected!
        }
        if object["class_noun"] == nil {
            guard let noun = shapesClass() else {
                throw ToolError.failed("class_noun is required: the subject's class (dog, cup, square…), used for the class prompt and prior preservation")
            }
            object["class_noun"] = .string(noun.rawValue)
        }
        var config: DreamBoothConfig
        do { config = try DreamBoothConfigFile.decode(.object(object), name: "dreambooth_train arguments", base: base) } catch {
            throw ToolError.failed("\(error)")
        }
        // Shapes-world photos with no class prompt given: the class prompts the personalize demo measured
        // (full captions of plain members of the class), since a bare "a photo of a square" draws nothing
        // the Shapes model knows.
        if config.classPrompt == nil, config.classPrompts == nil, let shape = shapesClass(), shape.rawValue == config.classNoun {
            config.classPrompts = ShapesPersonalization.classPrompts(for: shape, count: config.numClassImages)
        }
        // Whatever set them (arguments, settings, a config file), the run reads and writes inside the roots.
        _ = try service.sandbox.resolve(config.instanceDataDir)
        if outputChosen { _ = try service.sandbox.resolveNew(config.outputDir) }
        if let d = config.classDataDir { _ = try service.sandbox.resolveNew(d) }
        if let m = config.pretrainedModel, m != service.configuredModelPath { _ = try service.sandbox.resolve(m) }
        return config
    }

    /// For Shapes-world photos, the class is the shape the oracle reads, closely fitted, in every photo.
    static func shapesClass(of folder: String) -> ShapeKind? {
        guard let photos = try? TrainingImages(folder: folder, resolution: 32) else { return nil }
        let oracle = ShapesOracle()
        let readings = photos.images.indices.map { oracle.read(photos.crop($0)) }
        guard readings.allSatisfy({ ($0?.shapeError ?? 1) < 0.25 }) else { return nil }
        let shapes = Set(readings.compactMap { $0?.shape })
        return shapes.count == 1 ? shapes.first : nil
    }

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let settings = try config(arguments)
        let resume = arguments["resume"]?.stringValue
        let flag = OneWaySwitch()
        // One rising progress over the phases (MCP progress must increase): class images, then steps, then export.
        let classCount = settings.withPriorPreservation ? settings.numClassImages : 0
        let total = Double(classCount + settings.maxTrainSteps + 1)
        let summary: DreamBoothSummary = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (k: CheckedContinuation<DreamBoothSummary, Error>) in
                // Training holds its thread for minutes: keep it off the cooperative pool.
                Thread.detachNewThread {
                    k.resume(with: Result {
                        do {
                            let trainer = try DreamBoothTrainer(config: settings, bpeVocabulary: service.vocabularyPath)
                            return try trainer.run(resume: resume, progress: { p in
                                let message: String, done: Int
                                switch p.phase {
                                case .classImages: (message, done) = ("class image \(p.done) of \(p.total)", p.done)
                                case .training:
                                    (message, done) = ("step \(p.done) of \(p.total)" + (p.metrics.map { String(format: ", loss %.4f", $0.loss) } ?? ""), classCount + p.done)
                                case .validation: (message, done) = ("validation samples at step \(p.done)", classCount + p.done)
                                case .export: (message, done) = ("exporting the model", classCount + settings.maxTrainSteps + 1)
                                }
                                context.progress(Double(done), total: total, message: message)
                            }, isCancelled: { flag.isSet })
                        } catch DiffusionError.cancelled {
                            throw CancellationError()
                        } catch {
                            throw ToolError.failed("\(error)")
                        }
                    })
                }
            }
        } onCancel: { flag.set() }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let structured = (try? JSONParser.parse(String(decoding: try encoder.encode(summary), as: UTF8.self))) ?? .null
        let text = "trained \(summary.steps) steps (\(summary.useLora ? "LoRA" : "UNet")\(summary.trainTextEncoder ? " + text encoder" : ", text encoder frozen")"
            + "\(summary.priorPreservation ? ", prior preservation on \(summary.classImages) class images" : ", no prior preservation")); "
            + "model: \(summary.modelDir ?? "-"); samples: \(summary.sampleGrid ?? "-")"
            + (summary.warnings.isEmpty ? "" : "\nwarnings: " + summary.warnings.joined(separator: "; "))
        return ToolOutput(structured: structured, text: text)
    }
}
