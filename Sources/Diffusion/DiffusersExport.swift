import Foundation
import Neural

extension StableDiffusionModel {
    /// The diffusers version whose layout the export follows (the parity goldens' version).
    static let diffusersVersion = "0.42.1"

    /// Writes the model as a diffusers folder (`model_index.json`, `unet/`, `vae/`, `text_encoder/`,
    /// `tokenizer/`, `scheduler/`) that diffusers' `StableDiffusionPipeline.from_pretrained` and
    /// `StableDiffusionModel(folder:)` both load. The folder is assembled beside the target and renamed
    /// into place, so an interrupted export never leaves a half-written model.
    public func save(to folder: String, dtype: SafeTensors.DType = .f16) throws(DiffusionError) {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: folder).standardizedFileURL
        let staging = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).partial-\(getpid())")
        do {
            try? fm.removeItem(at: staging)
            for part in ["unet", "vae", "text_encoder", "scheduler"] {
                try fm.createDirectory(at: staging.appendingPathComponent(part), withIntermediateDirectories: true)
            }
            try tokenizer.save(to: staging.appendingPathComponent("tokenizer").path)
            let index: [String: Any] = [
                "_class_name": "StableDiffusionPipeline", "_diffusers_version": Self.diffusersVersion,
                "scheduler": ["diffusers", schedulerConfig.className ?? "DDIMScheduler"],
                "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
                "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
                "safety_checker": [NSNull(), NSNull()], "feature_extractor": [NSNull(), NSNull()], "requires_safety_checker": false,
            ]
            try Self.writeJSON(index, to: staging.appendingPathComponent("model_index.json"))
            try Self.writeConfig(unet.config, extra: ["_class_name": "UNet2DConditionModel", "_diffusers_version": Self.diffusersVersion],
                                 to: staging.appendingPathComponent("unet/config.json"))
            try Self.writeConfig(vae.config, extra: ["_class_name": "AutoencoderKL", "_diffusers_version": Self.diffusersVersion],
                                 to: staging.appendingPathComponent("vae/config.json"))
            try Self.writeConfig(textEncoder.config, extra: ["architectures": ["CLIPTextModel"], "model_type": "clip_text_model",
                                                             "projection_dim": textEncoder.config.hiddenSize, "torch_dtype": "float32"],
                                 to: staging.appendingPathComponent("text_encoder/config.json"))
            var scheduler = schedulerConfig
            if scheduler.className == nil { scheduler.className = "DDIMScheduler" }
            // Sorted keys: the same model exports byte for byte the same files (checksums in models/*.sha256).
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(scheduler).write(to: staging.appendingPathComponent("scheduler/scheduler_config.json"))
            try SafeTensors.write(Dictionary(uniqueKeysWithValues: unet.namedParameters), to: staging.appendingPathComponent("unet/diffusion_pytorch_model.safetensors").path, dtype: dtype)
            try SafeTensors.write(Dictionary(uniqueKeysWithValues: vae.namedParameters), to: staging.appendingPathComponent("vae/diffusion_pytorch_model.safetensors").path, dtype: dtype)
            try SafeTensors.write(Dictionary(uniqueKeysWithValues: textEncoder.namedParameters), to: staging.appendingPathComponent("text_encoder/model.safetensors").path, dtype: dtype)
            // An older export moves aside first and goes only once the new one is in place.
            let previous = staging.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).previous-\(getpid())")
            let hadPrevious = fm.fileExists(atPath: target.path)
            if hadPrevious { try fm.moveItem(at: target, to: previous) }
            do { try fm.moveItem(at: staging, to: target) } catch {
                if hadPrevious { try? fm.moveItem(at: previous, to: target) }
                throw error
            }
            if hadPrevious { try? fm.removeItem(at: previous) }
        } catch {
            try? fm.removeItem(at: staging)
            throw .model("cannot export the model to '\(folder)': \(error)")
        }
    }

    static func writeConfig<C: Encodable>(_ config: C, extra: [String: Any], to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var object = try JSONSerialization.jsonObject(with: encoder.encode(config)) as? [String: Any] ?? [:]
        for (k, v) in extra { object[k] = v }
        try writeJSON(object, to: url)
    }

    static func writeJSON(_ object: [String: Any], to url: URL) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]).write(to: url)
    }
}
