import Foundation
import Neural

/// diffusers' `UNet2DConditionModel` `config.json` (the keys Stable Diffusion 1.x and 2.x use).
/// In SD configs `attention_head_dim` is, despite its name, the number of heads; `num_attention_heads`
/// (newer configs) wins when present.
public struct UNet2DConditionConfig: Codable, Sendable, Equatable {
    public var sampleSize: Int?
    public var inChannels: Int
    public var outChannels: Int
    public var flipSinToCos: Bool
    public var freqShift: Float
    public var downBlockTypes: [String]
    public var midBlockType: String?
    public var upBlockTypes: [String]
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var downsamplePadding: Int
    public var normNumGroups: Int
    public var normEps: Float
    public var crossAttentionDim: Int
    public var transformerLayersPerBlock: PerBlock<Int>
    public var attentionHeadDim: PerBlock<Int>
    public var numAttentionHeads: PerBlock<Int>?
    public var useLinearProjection: Bool
    public var upcastAttention: Bool
    public var actFn: String
    public var centerInputSample: Bool
    public var classEmbedType: String?
    public var additionEmbedType: String?
    public var timeCondProjDim: Int?
    public var resnetTimeScaleShift: String
    public var onlyCrossAttention: PerBlock<Bool>
    public var dualCrossAttention: Bool

    enum CodingKeys: String, CodingKey {
        case sampleSize, inChannels, outChannels, flipSinToCos, freqShift, downBlockTypes, midBlockType, upBlockTypes
        case blockOutChannels, layersPerBlock, downsamplePadding, normNumGroups, normEps, crossAttentionDim
        case transformerLayersPerBlock, attentionHeadDim, numAttentionHeads, useLinearProjection, upcastAttention, actFn
        case centerInputSample, classEmbedType, additionEmbedType, timeCondProjDim, resnetTimeScaleShift
        case onlyCrossAttention, dualCrossAttention
    }

    public init(blockOutChannels: [Int], downBlockTypes: [String], upBlockTypes: [String], layersPerBlock: Int = 2,
                crossAttentionDim: Int, attentionHeads: Int = 8, normNumGroups: Int = 32, inChannels: Int = 4,
                outChannels: Int = 4, sampleSize: Int? = nil, useLinearProjection: Bool = false) {
        self.sampleSize = sampleSize
        self.inChannels = inChannels
        self.outChannels = outChannels
        flipSinToCos = true
        freqShift = 0
        self.downBlockTypes = downBlockTypes
        midBlockType = "UNetMidBlock2DCrossAttn"
        self.upBlockTypes = upBlockTypes
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = layersPerBlock
        downsamplePadding = 1
        self.normNumGroups = normNumGroups
        normEps = 1e-5
        self.crossAttentionDim = crossAttentionDim
        transformerLayersPerBlock = .all(1)
        attentionHeadDim = .all(attentionHeads)
        numAttentionHeads = nil
        self.useLinearProjection = useLinearProjection
        upcastAttention = false
        actFn = "silu"
        centerInputSample = false
        classEmbedType = nil
        additionEmbedType = nil
        timeCondProjDim = nil
        resnetTimeScaleShift = "default"
        onlyCrossAttention = .all(false)
        dualCrossAttention = false
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize)
        inChannels = try c.value(.inChannels, 4)
        outChannels = try c.value(.outChannels, 4)
        flipSinToCos = try c.value(.flipSinToCos, true)
        freqShift = try c.value(.freqShift, 0)
        downBlockTypes = try c.value(.downBlockTypes, ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"])
        midBlockType = try c.value(.midBlockType, "UNetMidBlock2DCrossAttn")
        upBlockTypes = try c.value(.upBlockTypes, ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])
        blockOutChannels = try c.value(.blockOutChannels, [320, 640, 1280, 1280])
        layersPerBlock = try c.value(.layersPerBlock, 2)
        downsamplePadding = try c.value(.downsamplePadding, 1)
        normNumGroups = try c.value(.normNumGroups, 32)
        normEps = try c.value(.normEps, 1e-5)
        crossAttentionDim = try c.value(.crossAttentionDim, 1280)
        transformerLayersPerBlock = try c.value(.transformerLayersPerBlock, .all(1))
        attentionHeadDim = try c.value(.attentionHeadDim, .all(8))
        numAttentionHeads = try c.decodeIfPresent(PerBlock<Int>.self, forKey: .numAttentionHeads)
        useLinearProjection = try c.value(.useLinearProjection, false)
        upcastAttention = try c.value(.upcastAttention, false)
        actFn = try c.value(.actFn, "silu")
        centerInputSample = try c.value(.centerInputSample, false)
        classEmbedType = try c.decodeIfPresent(String.self, forKey: .classEmbedType)
        additionEmbedType = try c.decodeIfPresent(String.self, forKey: .additionEmbedType)
        timeCondProjDim = try c.decodeIfPresent(Int.self, forKey: .timeCondProjDim)
        resnetTimeScaleShift = try c.value(.resnetTimeScaleShift, "default")
        onlyCrossAttention = try c.value(.onlyCrossAttention, .all(false))
        dualCrossAttention = try c.value(.dualCrossAttention, false)
    }

    /// Stable Diffusion 1.x's UNet (the published `unet/config.json` of v1-5).
    public static let stableDiffusion1 = UNet2DConditionConfig(
        blockOutChannels: [320, 640, 1280, 1280],
        downBlockTypes: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        upBlockTypes: ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        crossAttentionDim: 768, sampleSize: 64)

    /// Refuses what this UNet does not implement (SDXL's added embeddings, class conditioning…) by name.
    func checkSupported() throws(DiffusionError) {
        var unsupported: [String] = []
        if let t = classEmbedType { unsupported.append("class_embed_type \(t)") }
        if let t = additionEmbedType { unsupported.append("addition_embed_type \(t) (SDXL-style added conditioning)") }
        if timeCondProjDim != nil { unsupported.append("time_cond_proj_dim (LCM)") }
        if resnetTimeScaleShift != "default" { unsupported.append("resnet_time_scale_shift \(resnetTimeScaleShift)") }
        if dualCrossAttention { unsupported.append("dual_cross_attention") }
        if actFn != "silu" { unsupported.append("act_fn \(actFn)") }
        if onlyCrossAttention != .all(false) && onlyCrossAttention != .each(Array(repeating: false, count: downBlockTypes.count)) {
            unsupported.append("only_cross_attention")
        }
        if let m = midBlockType, m != "UNetMidBlock2DCrossAttn" { unsupported.append("mid_block_type \(m)") }
        for t in downBlockTypes where !["DownBlock2D", "CrossAttnDownBlock2D"].contains(t) { unsupported.append("down block \(t)") }
        for t in upBlockTypes where !["UpBlock2D", "CrossAttnUpBlock2D"].contains(t) { unsupported.append("up block \(t)") }
        if downBlockTypes.count != blockOutChannels.count || upBlockTypes.count != blockOutChannels.count {
            unsupported.append("\(downBlockTypes.count) down and \(upBlockTypes.count) up blocks for \(blockOutChannels.count) block_out_channels")
        }
        if !unsupported.isEmpty {
            throw .unsupported("this UNet config uses what Atelier's UNet does not implement: \(unsupported.joined(separator: ", "))")
        }
    }

    /// Downsampling factor between latents and the deepest block.
    public var downsampling: Int { 1 << (blockOutChannels.count - 1) }
}

/// The denoiser of Stable Diffusion: a UNet over latents conditioned on the timestep (sinusoidal
/// embedding) and on text (cross-attention), as diffusers builds it from its config.
public final class UNet2DConditionModel: Module {
    public let config: UNet2DConditionConfig
    /// Recompute each resnet–transformer pair on the backward pass instead of keeping its activations
    /// (training only; diffusers' `enable_gradient_checkpointing`).
    public var gradientCheckpointing = false
    let convIn: Conv2d
    let timeEmbedding: TimestepEmbedding
    let downBlocks: [UNetDownBlock]
    let midBlock: UNetMidBlock
    let upBlocks: [UNetUpBlock]
    let convNormOut: GroupNorm, convOut: Conv2d

    public init(config: UNet2DConditionConfig, initializer: inout ParameterInit) throws(DiffusionError) {
        try config.checkSupported()
        self.config = config
        let boc = config.blockOutChannels, n = boc.count
        let heads = try (config.numAttentionHeads ?? config.attentionHeadDim).values(n, "attention_head_dim")
        let layers = try config.transformerLayersPerBlock.values(n, "transformer_layers_per_block")
        let groups = config.normNumGroups, eps = config.normEps
        let temb = boc[0] * 4
        convIn = Conv2d(config.inChannels, boc[0], kernel: 3, options: Conv2DOptions(padding: (1, 1)), initializer: &initializer)
        timeEmbedding = TimestepEmbedding(channels: boc[0], embeddingDim: temb, flipSinToCos: config.flipSinToCos,
                                          freqShift: config.freqShift, initializer: &initializer)
        var down: [UNetDownBlock] = []
        var output = boc[0]
        for (i, type) in config.downBlockTypes.enumerated() {
            let input = output
            output = boc[i]
            let attention = type == "CrossAttnDownBlock2D"
                ? UNetBlockAttention(heads: heads[i], layers: layers[i], crossAttentionDim: config.crossAttentionDim, linearProjection: config.useLinearProjection)
                : nil
            down.append(UNetDownBlock(inChannels: input, outChannels: output, timeEmbedding: temb, layers: config.layersPerBlock,
                                      groups: groups, eps: eps, attention: attention, downsample: i < n - 1,
                                      downsamplePadding: config.downsamplePadding, initializer: &initializer))
        }
        downBlocks = down
        midBlock = UNetMidBlock(channels: boc[n - 1], timeEmbedding: temb, groups: groups, eps: eps,
                                attention: UNetBlockAttention(heads: heads[n - 1], layers: layers[n - 1], crossAttentionDim: config.crossAttentionDim,
                                                              linearProjection: config.useLinearProjection),
                                initializer: &initializer)
        var up: [UNetUpBlock] = []
        let reversed = Array(boc.reversed()), reversedHeads = Array(heads.reversed()), reversedLayers = Array(layers.reversed())
        output = reversed[0]
        for (i, type) in config.upBlockTypes.enumerated() {
            let previous = output
            output = reversed[i]
            let input = reversed[min(i + 1, n - 1)]
            let attention = type == "CrossAttnUpBlock2D"
                ? UNetBlockAttention(heads: reversedHeads[i], layers: reversedLayers[i], crossAttentionDim: config.crossAttentionDim,
                                     linearProjection: config.useLinearProjection)
                : nil
            up.append(UNetUpBlock(inChannels: input, previousChannels: previous, outChannels: output, timeEmbedding: temb,
                                  layers: config.layersPerBlock + 1, groups: groups, eps: eps, attention: attention,
                                  upsample: i < n - 1, initializer: &initializer))
        }
        upBlocks = up
        convNormOut = GroupNorm(groups: groups, channels: boc[0], eps: eps)
        convOut = Conv2d(boc[0], config.outChannels, kernel: 3, options: Conv2DOptions(padding: (1, 1)), initializer: &initializer)
    }

    public var namedParameters: [(String, Tensor)] {
        nested("conv_in", convIn) + nested("time_embedding", timeEmbedding) + nested("down_blocks", downBlocks)
            + nested("mid_block", midBlock) + nested("up_blocks", upBlocks) + nested("conv_norm_out", convNormOut) + nested("conv_out", convOut)
    }

    /// Predicts noise (or v) for latents [B, C, H, W] at one timestep per batch item, given text
    /// embeddings [B, S, crossAttentionDim].
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], context: Tensor) throws(NeuralError) -> Tensor {
        guard sample.rank == 4, sample.shape[1] == config.inChannels, timesteps.count == sample.shape[0],
              context.rank == 3, context.shape[0] == sample.shape[0], context.shape[2] == config.crossAttentionDim else {
            throw .shapeMismatch(op: "UNet2DConditionModel", "sample", sample.shape, "text embeddings", context.shape)
        }
        let x = config.centerInputSample ? sample.scaled(2).adding(-1) : sample
        let temb = try timeEmbedding(timesteps).silu()
        var h = try convIn(x)
        var skips = [h]
        let recompute = gradientCheckpointing && Autograd.isRecording
        for block in downBlocks { h = try block(h, activatedTime: temb, context: context, skips: &skips, recompute: recompute) }
        h = try UNetCheckpoint.run(recompute, [h, temb, context], midBlock.parameters) { t throws(NeuralError) in
            try self.midBlock(t[0], activatedTime: t[1], context: t[2])
        }
        for block in upBlocks { h = try block(h, activatedTime: temb, context: context, skips: &skips, recompute: recompute) }
        return try convOut(convNormOut(h).silu())
    }
}

/// The cross-attention settings of one UNet block.
struct UNetBlockAttention {
    let heads: Int
    let layers: Int
    let crossAttentionDim: Int
    let linearProjection: Bool

    func make(channels: Int, groups: Int, initializer: inout ParameterInit) -> Transformer2DModel {
        Transformer2DModel(heads: heads, headDim: channels / heads, channels: channels, layers: layers, crossAttentionDim: crossAttentionDim,
                           groups: groups, linearProjection: linearProjection, initializer: &initializer)
    }
}

/// `DownBlock2D` / `CrossAttnDownBlock2D`: resnets (each followed by a transformer when attention is
/// on), then a stride-2 downsampler except in the last block. Every output is kept for the skips.
final class UNetDownBlock: Module {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]
    let downsampler: Downsample2D?

    init(inChannels: Int, outChannels: Int, timeEmbedding: Int, layers: Int, groups: Int, eps: Float, attention: UNetBlockAttention?,
         downsample: Bool, downsamplePadding: Int, initializer: inout ParameterInit) {
        var r: [ResnetBlock2D] = [], a: [Transformer2DModel] = []
        for j in 0..<layers {
            r.append(ResnetBlock2D(inChannels: j == 0 ? inChannels : outChannels, outChannels: outChannels, timeEmbedding: timeEmbedding,
                                   groups: groups, eps: eps, initializer: &initializer))
            if let attention { a.append(attention.make(channels: outChannels, groups: groups, initializer: &initializer)) }
        }
        resnets = r
        attentions = a
        downsampler = downsample ? Downsample2D(channels: outChannels, padding: downsamplePadding, initializer: &initializer) : nil
    }

    var namedParameters: [(String, Tensor)] {
        var p = nested("resnets", resnets) + nested("attentions", attentions)
        if let downsampler { p += nested("downsamplers.0", downsampler) }
        return p
    }

    func callAsFunction(_ x: Tensor, activatedTime: Tensor, context: Tensor, skips: inout [Tensor], recompute: Bool = false) throws(NeuralError) -> Tensor {
        var h = x
        for (j, resnet) in resnets.enumerated() {
            let attention = attentions.isEmpty ? nil : attentions[j]
            h = try UNetCheckpoint.run(recompute, [h, activatedTime, context], resnet.parameters + (attention?.parameters ?? [])) { t throws(NeuralError) in
                let r = try resnet(t[0], activatedTime: t[1])
                return try attention.map { a throws(NeuralError) in try a(r, context: t[2]) } ?? r
            }
            skips.append(h)
        }
        if let downsampler {
            h = try downsampler(h)
            skips.append(h)
        }
        return h
    }
}

/// `UNetMidBlock2DCrossAttn`: resnet, transformer, resnet.
final class UNetMidBlock: Module {
    let resnets: [ResnetBlock2D]
    let attention: Transformer2DModel

    init(channels: Int, timeEmbedding: Int, groups: Int, eps: Float, attention: UNetBlockAttention, initializer: inout ParameterInit) {
        let first = ResnetBlock2D(inChannels: channels, outChannels: channels, timeEmbedding: timeEmbedding, groups: groups, eps: eps, initializer: &initializer)
        self.attention = attention.make(channels: channels, groups: groups, initializer: &initializer)
        let second = ResnetBlock2D(inChannels: channels, outChannels: channels, timeEmbedding: timeEmbedding, groups: groups, eps: eps, initializer: &initializer)
        resnets = [first, second]
    }

    var namedParameters: [(String, Tensor)] { nested("resnets", resnets) + nested("attentions.0", attention) }

    func callAsFunction(_ x: Tensor, activatedTime: Tensor, context: Tensor) throws(NeuralError) -> Tensor {
        var h = try resnets[0](x, activatedTime: activatedTime)
        h = try attention(h, context: context)
        return try resnets[1](h, activatedTime: activatedTime)
    }
}

/// `UpBlock2D` / `CrossAttnUpBlock2D`: each resnet takes the running features concatenated with the
/// matching skip (last in, first out), then an upsampler except in the last block.
final class UNetUpBlock: Module {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]
    let upsampler: Upsample2D?

    init(inChannels: Int, previousChannels: Int, outChannels: Int, timeEmbedding: Int, layers: Int, groups: Int, eps: Float,
         attention: UNetBlockAttention?, upsample: Bool, initializer: inout ParameterInit) {
        var r: [ResnetBlock2D] = [], a: [Transformer2DModel] = []
        for j in 0..<layers {
            let skip = j == layers - 1 ? inChannels : outChannels
            let input = j == 0 ? previousChannels : outChannels
            r.append(ResnetBlock2D(inChannels: input + skip, outChannels: outChannels, timeEmbedding: timeEmbedding, groups: groups, eps: eps,
                                   initializer: &initializer))
            if let attention { a.append(attention.make(channels: outChannels, groups: groups, initializer: &initializer)) }
        }
        resnets = r
        attentions = a
        upsampler = upsample ? Upsample2D(channels: outChannels, initializer: &initializer) : nil
    }

    var namedParameters: [(String, Tensor)] {
        var p = nested("resnets", resnets) + nested("attentions", attentions)
        if let upsampler { p += nested("upsamplers.0", upsampler) }
        return p
    }

    func callAsFunction(_ x: Tensor, activatedTime: Tensor, context: Tensor, skips: inout [Tensor], recompute: Bool = false) throws(NeuralError) -> Tensor {
        var h = x
        for (j, resnet) in resnets.enumerated() {
            let skip = skips.removeLast()
            let attention = attentions.isEmpty ? nil : attentions[j]
            h = try UNetCheckpoint.run(recompute, [h, skip, activatedTime, context], resnet.parameters + (attention?.parameters ?? [])) { t throws(NeuralError) in
                let r = try resnet(Tensor.concat([t[0], t[1]], dim: 1), activatedTime: t[2])
                return try attention.map { a throws(NeuralError) in try a(r, context: t[3]) } ?? r
            }
        }
        if let upsampler {
            // The next block's skip sets the size, so odd latent sizes come back exactly.
            let target = skips.last.map { ($0.shape[2], $0.shape[3]) }
            h = try upsampler(h, size: target)
        }
        return h
    }
}

extension UNet2DConditionModel {
    /// Every attention projection (to_q, to_k, to_v, to_out.0 of self- and cross-attention) with its
    /// diffusers name: where DreamBooth's LoRA adapters go.
    public var attentionProjections: [(String, Linear)] {
        func transformer(_ prefix: String, _ t: Transformer2DModel) -> [(String, Linear)] {
            t.blocks.enumerated().flatMap { i, block in
                [("attn1", block.attn1), ("attn2", block.attn2)].flatMap { name, a in
                    [("to_q", a.toQ), ("to_k", a.toK), ("to_v", a.toV), ("to_out.0", a.toOut)].map { ("\(prefix).transformer_blocks.\(i).\(name).\($0.0)", $0.1) }
                }
            }
        }
        var out: [(String, Linear)] = []
        for (b, block) in downBlocks.enumerated() {
            for (k, t) in block.attentions.enumerated() { out += transformer("down_blocks.\(b).attentions.\(k)", t) }
        }
        out += transformer("mid_block.attentions.0", midBlock.attention)
        for (b, block) in upBlocks.enumerated() {
            for (k, t) in block.attentions.enumerated() { out += transformer("up_blocks.\(b).attentions.\(k)", t) }
        }
        return out
    }
}

/// Runs a UNet unit directly, or under gradient checkpointing when `recompute` is on.
enum UNetCheckpoint {
    static func run(_ recompute: Bool, _ inputs: [Tensor], _ parameters: [Tensor], _ body: @escaping ([Tensor]) throws(NeuralError) -> Tensor) throws(NeuralError) -> Tensor {
        guard recompute else { return try body(inputs) }
        do {
            return try checkpoint(inputs, parameters: parameters) { t in try body(t) }
        } catch let e as NeuralError { throw e } catch { throw .invalidArgument(op: "checkpoint", "\(error)") }
    }
}
