import Foundation
import Neural

/// diffusers' `AutoencoderKL` `config.json`.
public struct AutoencoderKLConfig: Codable, Sendable, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    public var downBlockTypes: [String]
    public var upBlockTypes: [String]
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var latentChannels: Int
    public var normNumGroups: Int
    public var sampleSize: Int?
    public var scalingFactor: Float
    public var actFn: String
    public var useQuantConv: Bool
    public var usePostQuantConv: Bool
    public var midBlockAddAttention: Bool

    enum CodingKeys: String, CodingKey {
        case inChannels, outChannels, downBlockTypes, upBlockTypes, blockOutChannels, layersPerBlock, latentChannels
        case normNumGroups, sampleSize, scalingFactor, actFn, useQuantConv, usePostQuantConv, midBlockAddAttention
    }

    public init(blockOutChannels: [Int], latentChannels: Int = 4, layersPerBlock: Int = 1, normNumGroups: Int = 32,
                scalingFactor: Float = 0.18215, sampleSize: Int? = nil) {
        inChannels = 3
        outChannels = 3
        downBlockTypes = Array(repeating: "DownEncoderBlock2D", count: blockOutChannels.count)
        upBlockTypes = Array(repeating: "UpDecoderBlock2D", count: blockOutChannels.count)
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = layersPerBlock
        self.latentChannels = latentChannels
        self.normNumGroups = normNumGroups
        self.sampleSize = sampleSize
        self.scalingFactor = scalingFactor
        actFn = "silu"
        useQuantConv = true
        usePostQuantConv = true
        midBlockAddAttention = true
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inChannels = try c.value(.inChannels, 3)
        outChannels = try c.value(.outChannels, 3)
        blockOutChannels = try c.value(.blockOutChannels, [64])
        downBlockTypes = try c.value(.downBlockTypes, Array(repeating: "DownEncoderBlock2D", count: blockOutChannels.count))
        upBlockTypes = try c.value(.upBlockTypes, Array(repeating: "UpDecoderBlock2D", count: blockOutChannels.count))
        layersPerBlock = try c.value(.layersPerBlock, 1)
        latentChannels = try c.value(.latentChannels, 4)
        normNumGroups = try c.value(.normNumGroups, 32)
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize)
        scalingFactor = try c.value(.scalingFactor, 0.18215)
        actFn = try c.value(.actFn, "silu")
        useQuantConv = try c.value(.useQuantConv, true)
        usePostQuantConv = try c.value(.usePostQuantConv, true)
        midBlockAddAttention = try c.value(.midBlockAddAttention, true)
    }

    /// Stable Diffusion's VAE (`vae/config.json` of v1-5).
    public static let stableDiffusion1 = AutoencoderKLConfig(blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2, sampleSize: 512)

    /// Pixels per latent along each side.
    public var downsampling: Int { 1 << (blockOutChannels.count - 1) }

    func checkSupported() throws(DiffusionError) {
        var unsupported: [String] = []
        if actFn != "silu" { unsupported.append("act_fn \(actFn)") }
        for t in downBlockTypes where t != "DownEncoderBlock2D" { unsupported.append("down block \(t)") }
        for t in upBlockTypes where t != "UpDecoderBlock2D" { unsupported.append("up block \(t)") }
        if downBlockTypes.count != blockOutChannels.count || upBlockTypes.count != blockOutChannels.count {
            unsupported.append("\(downBlockTypes.count) down and \(upBlockTypes.count) up blocks for \(blockOutChannels.count) block_out_channels")
        }
        if !unsupported.isEmpty { throw .unsupported("this VAE config uses what Atelier's VAE does not implement: \(unsupported.joined(separator: ", "))") }
    }
}

/// The diagonal Gaussian an image encodes to.
public struct LatentDistribution {
    public let mean: Tensor
    public let logVariance: Tensor

    public var std: Tensor { logVariance.scaled(0.5).exp() }

    /// mean + std · ε, with ε from the caller's generator (so a seed reproduces it).
    public func sample(_ rng: inout NumPyRandom) throws(NeuralError) -> Tensor {
        try mean.add(std.mul(rng.normal(mean.shape)))
    }
}

/// The VAE that maps images (−1…1) to latents and back, as diffusers' `AutoencoderKL`.
/// Latents handed to the UNet are `sample · scalingFactor`; decoding divides it back out (the pipeline does that).
public final class AutoencoderKL: Module {
    public let config: AutoencoderKLConfig
    let encoder: VAEEncoder
    let decoder: VAEDecoder
    let quantConv: Conv2d?, postQuantConv: Conv2d?

    public init(config: AutoencoderKLConfig, initializer: inout ParameterInit) throws(DiffusionError) {
        try config.checkSupported()
        self.config = config
        encoder = VAEEncoder(config: config, initializer: &initializer)
        decoder = VAEDecoder(config: config, initializer: &initializer)
        let z = config.latentChannels
        quantConv = config.useQuantConv ? Conv2d(2 * z, 2 * z, kernel: 1, initializer: &initializer) : nil
        postQuantConv = config.usePostQuantConv ? Conv2d(z, z, kernel: 1, initializer: &initializer) : nil
    }

    public var namedParameters: [(String, Tensor)] {
        var p = nested("encoder", encoder) + nested("decoder", decoder)
        if let quantConv { p += nested("quant_conv", quantConv) }
        if let postQuantConv { p += nested("post_quant_conv", postQuantConv) }
        return p
    }

    /// Images [B, 3, H, W] in −1…1 → the latent distribution [B, latentChannels, H/f, W/f].
    public func encode(_ images: Tensor) throws(NeuralError) -> LatentDistribution {
        var moments = try encoder(images)
        if let quantConv { moments = try quantConv(moments) }
        let parts = try moments.chunked(2, dim: 1)
        return LatentDistribution(mean: parts[0], logVariance: parts[1].clamped(-30, 20))
    }

    /// Latents (already divided by the scaling factor) → images in roughly −1…1.
    public func decode(_ latents: Tensor) throws(NeuralError) -> Tensor {
        var z = latents
        if let postQuantConv { z = try postQuantConv(z) }
        return try decoder(z)
    }
}

/// The VAE's `Encoder`: conv in, `DownEncoderBlock2D`s, a mid block with one attention, GroupNorm, SiLU, conv out to 2·latent channels.
final class VAEEncoder: Module {
    let convIn: Conv2d
    let downBlocks: [VAEBlock]
    let midBlock: VAEMidBlock
    let convNormOut: GroupNorm, convOut: Conv2d

    init(config: AutoencoderKLConfig, initializer: inout ParameterInit) {
        let boc = config.blockOutChannels, g = config.normNumGroups
        convIn = Conv2d(config.inChannels, boc[0], kernel: 3, options: Conv2DOptions(padding: (1, 1)), initializer: &initializer)
        var blocks: [VAEBlock] = []
        var output = boc[0]
        for i in 0..<boc.count {
            let input = output
            output = boc[i]
            blocks.append(VAEBlock(inChannels: input, outChannels: output, layers: config.layersPerBlock, groups: g,
                                   resample: i < boc.count - 1 ? .down : nil, initializer: &initializer))
        }
        downBlocks = blocks
        midBlock = VAEMidBlock(channels: boc[boc.count - 1], groups: g, attention: config.midBlockAddAttention, initializer: &initializer)
        convNormOut = GroupNorm(groups: g, channels: boc[boc.count - 1], eps: 1e-6)
        convOut = Conv2d(boc[boc.count - 1], 2 * config.latentChannels, kernel: 3, options: Conv2DOptions(padding: (1, 1)), initializer: &initializer)
    }

    var namedParameters: [(String, Tensor)] {
        nested("conv_in", convIn) + nested("down_blocks", downBlocks) + nested("mid_block", midBlock)
            + nested("conv_norm_out", convNormOut) + nested("conv_out", convOut)
    }

    func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        var h = try convIn(x)
        for b in downBlocks { h = try b(h) }
        h = try midBlock(h)
        return try convOut(convNormOut(h).silu())
    }
}

/// The VAE's `Decoder`: conv in from latents, a mid block, `UpDecoderBlock2D`s (one more resnet each), GroupNorm, SiLU, conv out.
final class VAEDecoder: Module {
    let convIn: Conv2d
    let midBlock: VAEMidBlock
    let upBlocks: [VAEBlock]
    let convNormOut: GroupNorm, convOut: Conv2d

    init(config: AutoencoderKLConfig, initializer: inout ParameterInit) {
        let boc = config.blockOutChannels, g = config.normNumGroups
        let reversed = Array(boc.reversed())
        convIn = Conv2d(config.latentChannels, reversed[0], kernel: 3, options: Conv2DOptions(padding: (1, 1)), initializer: &initializer)
        midBlock = VAEMidBlock(channels: reversed[0], groups: g, attention: config.midBlockAddAttention, initializer: &initializer)
        var blocks: [VAEBlock] = []
        var output = reversed[0]
        for i in 0..<reversed.count {
            let previous = output
            output = reversed[i]
            blocks.append(VAEBlock(inChannels: previous, outChannels: output, layers: config.layersPerBlock + 1, groups: g,
                                   resample: i < reversed.count - 1 ? .up : nil, initializer: &initializer))
        }
        upBlocks = blocks
        convNormOut = GroupNorm(groups: g, channels: boc[0], eps: 1e-6)
        convOut = Conv2d(boc[0], config.outChannels, kernel: 3, options: Conv2DOptions(padding: (1, 1)), initializer: &initializer)
    }

    var namedParameters: [(String, Tensor)] {
        nested("conv_in", convIn) + nested("mid_block", midBlock) + nested("up_blocks", upBlocks)
            + nested("conv_norm_out", convNormOut) + nested("conv_out", convOut)
    }

    func callAsFunction(_ z: Tensor) throws(NeuralError) -> Tensor {
        var h = try convIn(z)
        h = try midBlock(h)
        for b in upBlocks { h = try b(h) }
        return try convOut(convNormOut(h).silu())
    }
}

/// `DownEncoderBlock2D` / `UpDecoderBlock2D`: resnets without time embedding, then an optional resampler.
final class VAEBlock: Module {
    enum Resample { case down, up }
    let resnets: [ResnetBlock2D]
    let downsampler: Downsample2D?
    let upsampler: Upsample2D?

    init(inChannels: Int, outChannels: Int, layers: Int, groups: Int, resample: Resample?, initializer: inout ParameterInit) {
        var r: [ResnetBlock2D] = []
        for j in 0..<layers {
            r.append(ResnetBlock2D(inChannels: j == 0 ? inChannels : outChannels, outChannels: outChannels, timeEmbedding: nil,
                                   groups: groups, eps: 1e-6, initializer: &initializer))
        }
        resnets = r
        downsampler = resample == .down ? Downsample2D(channels: outChannels, padding: 0, initializer: &initializer) : nil
        upsampler = resample == .up ? Upsample2D(channels: outChannels, initializer: &initializer) : nil
    }

    var namedParameters: [(String, Tensor)] {
        var p = nested("resnets", resnets)
        if let downsampler { p += nested("downsamplers.0", downsampler) }
        if let upsampler { p += nested("upsamplers.0", upsampler) }
        return p
    }

    func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        var h = x
        for r in resnets { h = try r(h, activatedTime: nil) }
        if let downsampler { h = try downsampler(h) }
        if let upsampler { h = try upsampler(h) }
        return h
    }
}

/// `UNetMidBlock2D` of the VAE: resnet, single-head spatial self-attention, resnet.
final class VAEMidBlock: Module {
    let resnets: [ResnetBlock2D]
    let attention: VAEAttention?

    init(channels: Int, groups: Int, attention: Bool, initializer: inout ParameterInit) {
        let first = ResnetBlock2D(inChannels: channels, outChannels: channels, timeEmbedding: nil, groups: groups, eps: 1e-6, initializer: &initializer)
        self.attention = attention ? VAEAttention(channels: channels, groups: groups, initializer: &initializer) : nil
        let second = ResnetBlock2D(inChannels: channels, outChannels: channels, timeEmbedding: nil, groups: groups, eps: 1e-6, initializer: &initializer)
        resnets = [first, second]
    }

    var namedParameters: [(String, Tensor)] {
        var p = nested("resnets", resnets)
        if let attention { p += nested("attentions.0", attention) }
        return p
    }

    func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        var h = try resnets[0](x, activatedTime: nil)
        if let attention { h = try attention(h) }
        return try resnets[1](h, activatedTime: nil)
    }
}

/// One-head attention over the H·W positions with a GroupNorm in front and the input added back.
final class VAEAttention: Module {
    let groupNorm: GroupNorm
    let attention: MultiHeadAttention

    init(channels: Int, groups: Int, initializer: inout ParameterInit) {
        groupNorm = GroupNorm(groups: groups, channels: channels, eps: 1e-6)
        attention = MultiHeadAttention(queryDim: channels, heads: 1, headDim: channels, qkvBias: true, initializer: &initializer)
    }

    var namedParameters: [(String, Tensor)] { nested("group_norm", groupNorm) + attention.namedParameters }

    func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let tokens = try groupNorm(x).reshaped([b, c, h * w]).permuted([0, 2, 1])
        let out = try attention(tokens).permuted([0, 2, 1]).reshaped([b, c, h, w])
        return try out.add(x)
    }
}
