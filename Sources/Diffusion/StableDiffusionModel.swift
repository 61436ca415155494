import Foundation
import Neural
import Text

/// A Stable Diffusion model read from a diffusers-layout folder: `model_index.json`, `unet/`, `vae/`,
/// `text_encoder/`, `tokenizer/` and `scheduler/`, each with its `config.json` and safetensors
/// weights (f32, f16 or bf16; computed in f32). Parameters are frozen: sampling records no graph.
public final class StableDiffusionModel: @unchecked Sendable {
    public let folder: String
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextModel
    public let unet: UNet2DConditionModel
    public let vae: AutoencoderKL
    public let schedulerConfig: SchedulerConfig
    /// The sampler the folder's scheduler config names (DDIM when it names none we implement).
    public let defaultScheduler: SchedulerKind

    public init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, unet: UNet2DConditionModel, vae: AutoencoderKL,
                schedulerConfig: SchedulerConfig, folder: String = "") throws(DiffusionError) {
        guard unet.config.crossAttentionDim == textEncoder.config.hiddenSize else {
            throw .model("the UNet cross-attends to \(unet.config.crossAttentionDim)-d text embeddings but the text encoder makes \(textEncoder.config.hiddenSize)-d ones")
        }
        guard unet.config.inChannels == vae.config.latentChannels else {
            throw .model("the UNet takes \(unet.config.inChannels) latent channels but the VAE makes \(vae.config.latentChannels)")
        }
        self.folder = folder
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.unet = unet
        self.vae = vae
        self.schedulerConfig = schedulerConfig
        defaultScheduler = schedulerConfig.className.flatMap(SchedulerKind.init(className:)) ?? .ddim
        for m in [textEncoder, unet, vae] as [Module] { m.setFrozen(true) }
    }

    /// Loads a diffusers folder. `bpeVocabulary` is used when the folder has no `tokenizer/`.
    public convenience init(folder: String, bpeVocabulary: String? = nil) throws(DiffusionError) {
        let root = URL(fileURLWithPath: folder)
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw .model("model folder '\(folder)' does not exist")
        }
        func part(_ name: String) throws(DiffusionError) -> String {
            let p = root.appendingPathComponent(name).path
            guard fm.fileExists(atPath: p) else {
                throw .model("'\(folder)' is not a complete diffusers model: it has no \(name)/ (expected model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/)")
            }
            return p
        }
        let textDir = try part("text_encoder"), unetDir = try part("unet"), vaeDir = try part("vae")
        let tokenizer = try Self.tokenizer(configFolder: folder, bpeVocabulary: bpeVocabulary,
                                           missing: "'\(folder)' has no tokenizer/ (vocab.json, merges.txt) and no CLIP BPE vocabulary was given")
        var zeros = ParameterInit.zeros
        let text = try CLIPTextModel(config: Self.config(CLIPTextConfig.self, in: textDir), initializer: &zeros)
        let unet = try UNet2DConditionModel(config: Self.config(UNet2DConditionConfig.self, in: unetDir), initializer: &zeros)
        let vae = try AutoencoderKL(config: Self.config(AutoencoderKLConfig.self, in: vaeDir), initializer: &zeros)

        let textWeights = WeightLoader(files: try WeightLoader.files(in: textDir, stem: "model"))
        // Some exports drop the "text_model." prefix.
        try textWeights.load(text, aliases: { name in name.hasPrefix("text_model.") ? [String(name.dropFirst("text_model.".count))] : [] })
        try WeightLoader(files: try WeightLoader.files(in: unetDir, stem: "diffusion_pytorch_model")).load(unet)
        try WeightLoader(files: try WeightLoader.files(in: vaeDir, stem: "diffusion_pytorch_model")).load(vae, aliases: Self.legacyVAENames)

        let scheduler = try Self.schedulerConfig(in: folder)
        try self.init(tokenizer: tokenizer, textEncoder: text, unet: unet, vae: vae, schedulerConfig: scheduler, folder: folder)
    }

    /// Loads an original CompVis/LDM single-file checkpoint (SD 1.x `.safetensors`). Shapes come from
    /// `configFolder` (a diffusers folder's `unet/`, `vae/`, `text_encoder/` configs) when given, else
    /// from Stable Diffusion 1.x's published configs; the tokenizer from that folder or the BPE vocabulary.
    public convenience init(checkpoint path: String, configFolder: String? = nil, bpeVocabulary: String? = nil) throws(DiffusionError) {
        let file = try WeightLoader.open(path)
        let weights = WeightLoader(files: [file])
        if weights.has("cond_stage_model.model.token_embedding.weight") {
            throw .unsupported("'\(path)' is an SD 2.x single-file checkpoint (OpenCLIP text encoder), which Atelier does not read yet; use the model's diffusers folder")
        }
        guard weights.has(CompVisKeys.unetPrefix + "input_blocks.0.0.weight"), weights.has(CompVisKeys.textPrefix + "text_model.final_layer_norm.weight") else {
            throw .model("'\(path)' is not a Stable Diffusion 1.x single-file checkpoint (no model.diffusion_model.* and cond_stage_model.transformer.* tensors)")
        }
        func config<C: Decodable>(_ type: C.Type, _ part: String, _ fallback: C) throws(DiffusionError) -> C {
            guard let folder = configFolder else { return fallback }
            return try Self.config(C.self, in: URL(fileURLWithPath: folder).appendingPathComponent(part).path)
        }
        let unetConfig = try config(UNet2DConditionConfig.self, "unet", .stableDiffusion1)
        let vaeConfig = try config(AutoencoderKLConfig.self, "vae", .stableDiffusion1)
        let textConfig = try config(CLIPTextConfig.self, "text_encoder", .stableDiffusion1)
        if let conv = file.entries[CompVisKeys.unetPrefix + "input_blocks.0.0.weight"], conv.shape.count == 4, conv.shape[1] != unetConfig.inChannels {
            throw .unsupported("'\(path)' has a UNet with \(conv.shape[1]) input channels (an inpainting or depth model); only text-to-image models (4) are supported")
        }
        var zeros = ParameterInit.zeros
        let text = try CLIPTextModel(config: textConfig, initializer: &zeros)
        let unet = try UNet2DConditionModel(config: unetConfig, initializer: &zeros)
        let vae = try AutoencoderKL(config: vaeConfig, initializer: &zeros)
        try weights.load(text, aliases: { [CompVisKeys.textPrefix + $0] })
        try weights.load(unet, aliases: { name in CompVisKeys.unet(name, config: unetConfig).map { [CompVisKeys.unetPrefix + $0] } ?? [] })
        try weights.load(vae, aliases: { name in CompVisKeys.vae(name, config: vaeConfig).map { [CompVisKeys.vaePrefix + $0] } ?? [] })

        let tokenizer = try Self.tokenizer(configFolder: configFolder, bpeVocabulary: bpeVocabulary,
                                           missing: "a single-file checkpoint needs a CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz; the bootstrap fetches it)")
        let scheduler = try configFolder.map { (f: String) throws(DiffusionError) in try Self.schedulerConfig(in: f) } ?? .stableDiffusion
        try self.init(tokenizer: tokenizer, textEncoder: text, unet: unet, vae: vae, schedulerConfig: scheduler, folder: path)
    }

    /// A part's `config.json` (snake_case keys, as diffusers and transformers write them).
    static func config<C: Decodable>(_ type: C.Type, in directory: String) throws(DiffusionError) -> C {
        let p = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: p) else { throw .model("missing '\(p)'") }
        do {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(C.self, from: data)
        } catch { throw .model("cannot read '\(p)': \(error)") }
    }

    /// `scheduler/scheduler_config.json`, else Stable Diffusion's schedule. SchedulerConfig spells
    /// its keys itself (it has `_class_name`), so no key strategy here.
    static func schedulerConfig(in folder: String) throws(DiffusionError) -> SchedulerConfig {
        let p = URL(fileURLWithPath: folder).appendingPathComponent("scheduler/scheduler_config.json").path
        guard let data = FileManager.default.contents(atPath: p) else { return .stableDiffusion }
        do { return try JSONDecoder().decode(SchedulerConfig.self, from: data) } catch { throw .model("cannot read '\(p)': \(error)") }
    }

    /// The folder's `tokenizer/` when it has one, else the BPE vocabulary file.
    static func tokenizer(configFolder: String?, bpeVocabulary: String?, missing: String) throws(DiffusionError) -> CLIPTokenizer {
        do {
            if let folder = configFolder, FileManager.default.fileExists(atPath: folder + "/tokenizer/vocab.json") {
                return try CLIPTokenizer(folder: folder + "/tokenizer")
            }
            guard let bpe = bpeVocabulary else { throw DiffusionError.model(missing) }
            return try CLIPTokenizer(bpeFile: bpe)
        } catch let e as DiffusionError { throw e } catch { throw .model("\(error)") }
    }

    /// A diffusers folder, or a single `.safetensors` checkpoint file.
    public static func load(_ path: String, bpeVocabulary: String? = nil) throws(DiffusionError) -> StableDiffusionModel {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue {
            return try StableDiffusionModel(checkpoint: path, bpeVocabulary: bpeVocabulary)
        }
        return try StableDiffusionModel(folder: path, bpeVocabulary: bpeVocabulary)
    }

    /// Pre-0.14 diffusers VAE attention names (query/key/value/proj_attn).
    static func legacyVAENames(_ name: String) -> [String] {
        let map = ["to_q.": "query.", "to_k.": "key.", "to_v.": "value.", "to_out.0.": "proj_attn."]
        for (new, old) in map where name.contains("attentions.0.\(new)") {
            return [name.replacingOccurrences(of: "attentions.0.\(new)", with: "attentions.0.\(old)")]
        }
        return []
    }

    /// Pixels per latent along each side.
    public var vaeScale: Int { vae.config.downsampling }
}
