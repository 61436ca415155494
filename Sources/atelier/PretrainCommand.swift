import ArgumentParser
import Diffusion
import Foundation
import Neural
import Storage
import Text

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Train Atelier's own base models from scratch.",
        subcommands: [PretrainShapesCommand.self])
}

/// `atelier pretrain shapes`: the embedded image model, trained on the Shapes world.
struct PretrainShapesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shapes",
        abstract: "Train the tiny Stable-Diffusion-architecture model (VAE, UNet, CLIP text encoder) on the procedural Shapes world.",
        discussion: "Deterministic by seed. Writes a diffusers-layout folder (f16 safetensors) and prints a JSON summary with each file's SHA-256.")

    @Option(name: .long, help: "Output model folder.") var output: String
    @Option(name: .long, help: "Random seed (weights, data, noise).") var seed: UInt32 = 0
    @Option(name: .long, help: "VAE training steps.") var vaeSteps: Int?
    @Option(name: .long, help: "UNet and text-encoder training steps.") var unetSteps: Int?
    @Option(name: .long, help: "Images encoded once for the UNet stage.") var datasetSize: Int?
    @Option(name: .long, help: "UNet batch size.") var batch: Int?
    @Option(name: .long, help: "UNet learning rate.") var learningRate: Float?
    @Option(name: .long, help: "What the UNet predicts: epsilon (Stable Diffusion 1.x) or v_prediction (2.x; the default).") var predictionType: String?
    @Option(name: .customLong("config"), help: "A JSON file of ShapesPretrainConfig fields to override (nested objects merge; see pretrain_config.json in any trained model).") var overrides: String?
    @Option(name: .long, help: "Continue from this model folder: keep its VAE (fine-tuned first when the config sets continueVAESteps) and latent scale, train its UNet and text encoder further.") var continueFrom: String?
    @Option(name: .long, help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(name: .long, help: "CLIP BPE vocabulary (default: the bootstrap's copy).") var vocabulary: String?
    @Option(name: .long, help: "Log level on stderr: error, warning, info, debug.") var logLevel: LogLevel = .info

    func run() throws {
        Log.level = logLevel
        if let threads { BLAS.threads = threads }
        var config = try overrides.map(Self.loadConfig) ?? ShapesPretrainConfig()
        config.seed = seed
        if let vaeSteps { config.vaeSteps = vaeSteps }
        if let unetSteps { config.unetSteps = unetSteps }
        if let datasetSize { config.datasetSize = datasetSize }
        if let batch { config.unetBatch = batch }
        if let learningRate { config.unetLearningRate = learningRate }
        if let predictionType { config.scheduler.predictionType = predictionType }
        guard let vocab = vocabulary ?? CLIPTokenizer.bootstrapVocabulary else {
            throw ValidationError("no CLIP BPE vocabulary: run `make bootstrap` or pass --vocabulary")
        }
        let tokenizer = try CLIPTokenizer(bpeFile: vocab)
        let started = Date()
        var bar: ProgressBar?
        var stage = ""
        var lastLog = Date.distantPast
        var recent: [Float] = []
        var finalLoss: [String: Float] = [:]
        let model: StableDiffusionModel
        var autoencoderAccuracy: Double?
        do {
            let base = try continueFrom.map { (path: String) throws(DiffusionError) in try StableDiffusionModel(folder: path) }
            let pretrainer = ShapesPretrainer(config: config, tokenizer: tokenizer)
            defer { autoencoderAccuracy = pretrainer.autoencoderAccuracy }
            model = try pretrainer.run(continuing: base) { p in
                if p.stage != stage {
                    bar?.finish()
                    if stage == "vae", let a = pretrainer.autoencoderAccuracy {
                        Log.info(String(format: "VAE round trip: the oracle reads shape and colour of %.1f%% of held-out scenes", a * 100))
                    }
                    stage = p.stage
                    bar = ProgressBar(label: p.stage)
                    recent = []
                }
                bar?.update(p.step, p.total)
                recent.append(p.loss)
                if recent.count > 50 { recent.removeFirst() }
                let mean = recent.reduce(0, +) / Float(recent.count)
                finalLoss[p.stage] = mean
                if Date().timeIntervalSince(lastLog) > 30 || p.step == p.total {
                    lastLog = Date()
                    Log.info(String(format: "%@ %d/%d loss %.4f (%.0f s)", p.stage, p.step, p.total, mean, Date().timeIntervalSince(started)))
                }
            }
            bar?.finish()
            try model.save(to: output)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(config).write(to: URL(fileURLWithPath: output).appendingPathComponent("pretrain_config.json"))
        } catch {
            throw ValidationError("\(error)")
        }
        var files: [String: String] = [:]
        let root = URL(fileURLWithPath: output)
        for part in ["unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors"] {
            if let data = FileManager.default.contents(atPath: root.appendingPathComponent(part).path) { files[part] = SHA256.hex(data) }
        }
        let summary: [String: Any] = [
            "output": output, "seed": Int(seed), "continued_from": continueFrom ?? NSNull(), "seconds": Int(Date().timeIntervalSince(started)),
            "vae_steps": config.vaeSteps, "unet_steps": config.unetSteps, "dataset_size": config.datasetSize,
            "unet_batch": config.unetBatch, "latent_scaling_factor": model.vae.config.scalingFactor,
            "final_loss": finalLoss, "sha256": files, "vae_oracle_accuracy": autoencoderAccuracy ?? NSNull(),
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
    }

    /// The default configuration with the file's fields laid over it, so a file names only what it changes.
    static func loadConfig(_ path: String) throws -> ShapesPretrainConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read --config \(path)") }
        guard let changes = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("--config \(path) is not a JSON object")
        }
        let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ShapesPretrainConfig())) as! [String: Any]
        func merge(_ base: [String: Any], _ over: [String: Any]) -> [String: Any] {
            var out = base
            for (key, value) in over {
                if let a = base[key] as? [String: Any], let b = value as? [String: Any] { out[key] = merge(a, b) } else { out[key] = value }
            }
            return out
        }
        let config: ShapesPretrainConfig
        do {
            config = try JSONDecoder().decode(ShapesPretrainConfig.self, from: JSONSerialization.data(withJSONObject: merge(defaults, changes)))
        } catch {
            throw ValidationError("--config \(path): \(error)")
        }
        // A misspelt field would otherwise be dropped silently: every field given must survive the round trip.
        let kept = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as! [String: Any]
        func check(_ given: [String: Any], _ result: [String: Any], at prefix: String) throws {
            for (key, value) in given {
                guard let got = result[key] else {
                    throw ValidationError("--config \(path): unknown field \(prefix)\(key); known: \(result.keys.sorted().joined(separator: ", "))")
                }
                if let a = value as? [String: Any], let b = got as? [String: Any] { try check(a, b, at: prefix + key + ".") }
            }
        }
        try check(changes, kept, at: "")
        return config
    }
}
