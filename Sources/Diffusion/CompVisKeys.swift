/// Where a diffusers parameter lives in an original CompVis/LDM single-file checkpoint
/// (`v1-5-pruned-emaonly.safetensors` layout): `model.diffusion_model.*` for the UNet,
/// `first_stage_model.*` for the VAE, `cond_stage_model.transformer.*` for the CLIP text encoder.
enum CompVisKeys {
    static let unetPrefix = "model.diffusion_model."
    static let vaePrefix = "first_stage_model."
    static let textPrefix = "cond_stage_model.transformer."

    /// The LDM name of a UNet parameter (diffusers name without prefix).
    static func unet(_ name: String, config: UNet2DConditionConfig) -> String? {
        let p = name.split(separator: ".").map(String.init)
        let layers = config.layersPerBlock
        func rest(_ from: Int) -> String { p[from...].joined(separator: ".") }
        switch p[0] {
        case "conv_in": return "input_blocks.0.0." + rest(1)
        case "time_embedding": return "time_embed.\(p[1] == "linear_1" ? 0 : 2)." + rest(2)
        case "conv_norm_out": return "out.0." + rest(1)
        case "conv_out": return "out.2." + rest(1)
        case "down_blocks":
            guard p.count > 4, let l = Int(p[1]), let j = Int(p[3]) else { return nil }
            switch p[2] {
            case "resnets": return "input_blocks.\(1 + l * (layers + 1) + j).0." + resnet(rest(4))
            case "attentions": return "input_blocks.\(1 + l * (layers + 1) + j).1." + rest(4)
            case "downsamplers": return "input_blocks.\((l + 1) * (layers + 1)).0.op." + rest(5)
            default: return nil
            }
        case "mid_block":
            guard p.count > 3, let k = Int(p[2]) else { return nil }
            return p[1] == "resnets" ? "middle_block.\(k == 0 ? 0 : 2)." + resnet(rest(3)) : "middle_block.1." + rest(3)
        case "up_blocks":
            guard p.count > 4, let l = Int(p[1]), let j = Int(p[3]) else { return nil }
            let levels = layers + 1
            switch p[2] {
            case "resnets": return "output_blocks.\(l * levels + j).0." + resnet(rest(4))
            case "attentions": return "output_blocks.\(l * levels + j).1." + rest(4)
            case "upsamplers":
                // The upsampler follows the transformer when the level has one.
                let attention = config.upBlockTypes[l].hasPrefix("CrossAttn")
                return "output_blocks.\(l * levels + layers).\(attention ? 2 : 1).conv." + rest(5)
            default: return nil
            }
        default: return nil
        }
    }

    static func resnet(_ rest: String) -> String {
        let map = ["norm1.": "in_layers.0.", "conv1.": "in_layers.2.", "time_emb_proj.": "emb_layers.1.",
                   "norm2.": "out_layers.0.", "conv2.": "out_layers.3.", "conv_shortcut.": "skip_connection."]
        for (from, to) in map where rest.hasPrefix(from) { return to + rest.dropFirst(from.count) }
        return rest
    }

    /// The LDM name of a VAE parameter; the decoder's levels are numbered from the bottom.
    static func vae(_ name: String, config: AutoencoderKLConfig) -> String? {
        var p = name.split(separator: ".").map(String.init)
        let levels = config.blockOutChannels.count
        func vaeResnet(_ q: [String]) -> [String] { q.first == "conv_shortcut" ? ["nin_shortcut"] + q.dropFirst() : q }
        if p.count > 2, p[1] == "conv_norm_out" { p[1] = "norm_out" }
        if p.count > 5, p[1] == "down_blocks" || p[1] == "up_blocks", let l = Int(p[2]) {
            let level = p[1] == "up_blocks" ? levels - 1 - l : l
            let head = [p[0], p[1] == "up_blocks" ? "up" : "down", "\(level)"]
            switch p[3] {
            case "resnets": p = head + ["block", p[4]] + vaeResnet(Array(p[5...]))
            case "downsamplers": p = head + ["downsample"] + Array(p[5...])
            case "upsamplers": p = head + ["upsample"] + Array(p[5...])
            default: return nil
            }
        } else if p.count > 4, p[1] == "mid_block", let k = Int(p[3]) {
            if p[2] == "resnets" {
                p = [p[0], "mid", "block_\(k + 1)"] + vaeResnet(Array(p[4...]))
            } else {
                let map = ["group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out": "proj_out"]
                guard let renamed = map[p[4]] else { return nil }
                let tail = p[4] == "to_out" ? Array(p[6...]) : Array(p[5...])
                p = [p[0], "mid", "attn_1", renamed] + tail
            }
        }
        return p.joined(separator: ".")
    }
}
