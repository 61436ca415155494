import ArgumentParser
import Diffusion
import Foundation
import Neural
import Text

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Measured demonstrations of the image studio on the Shapes world.",
        subcommands: [DemoBaseCommand.self, DemoVAECommand.self, DemoPersonalizeCommand.self, DemoSubjectsCommand.self])
}

/// `atelier demo base`: does the base model draw what held-out captions ask for?
struct DemoBaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "base",
        abstract: "Sample held-out Shapes captions with the base model and report how often the oracle reads back the prompted shape and colour.",
        discussion: "Held-out captions are attribute combinations the model never saw in training. With --out, also writes grid.png and report.json there.")

    @Option(name: .long, help: "A diffusers model folder (default: the embedded Shapes model).") var model: String?
    @Option(name: .long, help: "Held-out captions to sample.") var samples: Int = 48
    @Option(name: .long, help: "Denoising steps.") var steps: Int = 25
    @Option(name: .long, help: "Classifier-free guidance scale.") var guidance: Float = 5
    @Option(name: .long, help: "ddim, ddpm, euler, euler_a or dpmpp_2m (default: the model's own).") var scheduler: SchedulerKind?
    @Option(name: .long, help: "First seed (sample i uses seed + i).") var seed: UInt32 = 0
    @Option(name: .long, help: "Folder for grid.png and report.json.") var out: String?
    @Flag(name: .long, help: "Print the full report as JSON on stdout.") var json = false
    @Option(name: .long, help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(name: .long, help: "Log level on stderr: error, warning, info, debug.") var logLevel: LogLevel = .info

    func run() throws {
        Log.level = logLevel
        if let threads { BLAS.threads = threads }
        guard samples > 0 else { throw ValidationError("--samples must be at least 1") }
        let path = model ?? ShapesEvaluation.embeddedModel
        let report: ShapesBaseReport
        let images: [Tensor]
        do {
            let loaded = try StableDiffusionModel.load(path, bpeVocabulary: CLIPTokenizer.bootstrapVocabulary)
            let bar = ProgressBar(label: "sampling")
            (report, images) = try ShapesEvaluation.evaluateBase(pipeline: StableDiffusionPipeline(model: loaded),
                                                                 scenes: ShapesEvaluation.heldOutScenes(count: samples), steps: steps,
                                                                 guidance: guidance, scheduler: scheduler, seed: seed, progress: bar.update)
            bar.finish()
        } catch {
            throw demoFailure(error, defaultModel: model == nil)
        }
        let data = try reportJSON(report)
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try PNGImage.grid(images, columns: 8).write(to: out + "/grid.png")
            try data.write(to: URL(fileURLWithPath: out + "/report.json"))
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "held-out captions: %d; prompted shape and colour recovered: %.1f%% (shape %.1f%%, colour %.1f%%, size %.1f%%, position %.1f%%, background %.1f%%); no object: %d; %.1f s",
                         report.samples, report.shapeAndColorAccuracy * 100, report.shapeAccuracy * 100, report.colorAccuracy * 100,
                         report.sizeAccuracy * 100, report.positionAccuracy * 100, report.backgroundAccuracy * 100, report.noObject, report.seconds))
        }
    }
}

/// `atelier demo vae`: the ceiling a model's VAE puts on sampling.
struct DemoVAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae",
        abstract: "Encode and decode held-out Shapes scenes with the model's VAE and report how often the oracle still reads each attribute.",
        discussion: "No sampler is involved, so this is the most `demo base` can reach with this VAE. With --out, also writes grid.png (each original followed by its reconstruction) and report.json there.")

    @Option(name: .long, help: "A diffusers model folder (default: the embedded Shapes model).") var model: String?
    @Option(name: .long, help: "Held-out scenes to round-trip.") var samples: Int = 96
    @Option(name: .long, help: "Seed of the renders' jitter.") var seed: UInt32 = 0
    @Option(name: .long, help: "Folder for grid.png and report.json.") var out: String?
    @Flag(name: .long, help: "Print the full report as JSON on stdout.") var json = false
    @Option(name: .long, help: "BLAS threads (default: all cores).") var threads: Int?

    func run() throws {
        if let threads { BLAS.threads = threads }
        guard samples > 0 else { throw ValidationError("--samples must be at least 1") }
        let path = model ?? ShapesEvaluation.embeddedModel
        let report: ShapesAutoencoderReport
        let pairs: [(Tensor, Tensor)]
        do {
            let loaded = try StableDiffusionModel.load(path, bpeVocabulary: CLIPTokenizer.bootstrapVocabulary)
            (report, pairs) = try ShapesEvaluation.evaluateAutoencoder(loaded.vae, model: path, world: ShapesWorld(imageSize: loaded.vae.config.sampleSize ?? 32),
                                                                       scenes: ShapesEvaluation.heldOutScenes(count: samples), seed: seed)
        } catch {
            throw demoFailure(error, defaultModel: model == nil)
        }
        let data = try reportJSON(report)
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try PNGImage.grid(pairs.flatMap { [$0.0, $0.1] }, columns: 16).write(to: out + "/grid.png")
            try data.write(to: URL(fileURLWithPath: out + "/report.json"))
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "held-out scenes: %d; after the VAE round trip the oracle reads shape and colour in %.1f%% (shape %.1f%%, colour %.1f%%, size %.1f%%, position %.1f%%, background %.1f%%); no object: %d; mean |error| %.4f",
                         report.samples, report.shapeAndColorAccuracy * 100, report.shapeAccuracy * 100, report.colorAccuracy * 100,
                         report.sizeAccuracy * 100, report.positionAccuracy * 100, report.backgroundAccuracy * 100, report.noObject,
                         report.meanAbsoluteError))
        }
    }
}

/// `atelier demo subjects`: the Shapes subjects' training photos as PNG folders.
struct DemoSubjectsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subjects",
        abstract: "Write each Shapes subject's 4 training photos, with their captions, to OUT/NAME/ (deterministic; examples/subjects was made this way).")

    @Option(name: .long, help: "Output folder.") var out: String
    @Option(name: .long, help: "The identifier the captions call the subject by.") var identifier: String = DreamBoothConfig.defaultIdentifier

    func run() throws {
        for subject in ShapesSubject.all {
            let folder = out + "/" + subject.name
            try subject.writePhotos(to: folder, identifier: identifier)
            print("\(folder): 4 photos of a \(subject.color.rawValue) \(subject.classNoun) with its pattern, captioned with '\(identifier) \(subject.classNoun)'")
        }
    }
}

/// `atelier demo personalize`: DreamBooth's ablation (Ruiz et al., Table 3) on the Shapes subjects.
struct DemoPersonalizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "personalize",
        abstract: "Run DreamBooth on Shapes subjects with and without prior preservation and measure subject fidelity, prompt fidelity, PRES, class accuracy and DIV.",
        discussion: "Writes personalize.json, personalize.md and one grid-SUBJECT.png per subject (rows: prompts with the identifier, then without; columns: the base model, then the settings) into --out. --ablation adds the text-encoder-trained settings.")

    @Option(name: .long, help: "One subject (split-square, striped-circle, dotted-triangle); default: all.") var subject: String?
    @Flag(name: .long, help: "Also train with the text encoder (four settings instead of two).") var ablation = false
    @Flag(name: .long, help: "The reduced version CI runs: fewer steps and class images.") var quick = false
    @Flag(name: .long, help: "Print the metrics JSON on stdout.") var json = false
    @Option(name: .long, help: "Base model folder (default: the embedded Shapes model).") var model: String?
    @Option(name: .long, help: "Training steps per setting (default 250, or 150 with --quick).") var steps: Int?
    @Option(name: .long, help: "DreamBooth learning rate (default 2e-4).") var learningRate: Float?
    @Option(name: .long, help: "Output folder.") var out: String = "demo-personalize"
    @Option(name: .long, help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(name: .long, help: "Log level on stderr: error, warning, info, debug.") var logLevel: LogLevel = .info

    func validate() throws {
        if let steps, steps <= 0 { throw ValidationError("--steps must be positive") }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw ValidationError("--learning-rate must be a positive number") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        Log.level = logLevel
        if let threads { BLAS.threads = threads }
        let subjects: [ShapesSubject]
        if let subject {
            guard let s = ShapesSubject.named(subject) else {
                throw ValidationError("unknown subject '\(subject)'; choose one of \(ShapesSubject.all.map(\.name).joined(separator: ", "))")
            }
            subjects = [s]
        } else {
            subjects = ShapesSubject.all
        }
        let settings: [ShapesPersonalization.Setting] = ablation
            ? [.withPrior, .withoutPrior, .withPriorText, .withoutPriorText] : [.withPrior, .withoutPrior]
        let work = URL(fileURLWithPath: out).standardizedFileURL.path
        var demo = ShapesPersonalization(baseModel: model ?? ShapesEvaluation.embeddedModel, workDir: work, quick: quick)
        if let steps { demo.steps = steps }
        if let learningRate { demo.learningRate = learningRate }
        let (report, grids): (PersonalizationReport, [String: PNGImage])
        do {
            (report, grids) = try demo.run(subjects: subjects, settings: settings, bpeVocabulary: CLIPTokenizer.bootstrapVocabulary) { Log.info($0) }
        } catch {
            throw demoFailure(error, defaultModel: model == nil)
        }
        let data = try reportJSON(report)
        try data.write(to: URL(fileURLWithPath: work + "/personalize.json"))
        try ShapesPersonalization.markdown(report).write(toFile: work + "/personalize.md", atomically: true, encoding: .utf8)
        for (name, grid) in grids { try grid.write(to: work + "/grid-\(name).png") }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(ShapesPersonalization.markdown(report))
            print("written: \(work)/personalize.json, personalize.md, " + grids.keys.sorted().map { "grid-\($0).png" }.joined(separator: ", "))
        }
    }
}

/// A demo's error; when it ran on the default model, where that model goes.
func demoFailure(_ error: Error, defaultModel: Bool) -> ValidationError {
    ValidationError(defaultModel ? "\(error) (the embedded model goes in \(ShapesEvaluation.embeddedModel): `atelier pretrain shapes --output` that folder, or pass --model)" : "\(error)")
}
