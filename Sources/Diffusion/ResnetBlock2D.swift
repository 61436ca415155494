import Neural

/// diffusers' `ResnetBlock2D`: GroupNorm → SiLU → 3×3 conv, plus the projected time embedding,
/// GroupNorm → SiLU → 3×3 conv, and a 1×1 conv shortcut when the channel count changes.
/// The VAE's blocks have no time embedding.
final class ResnetBlock2D: Module {
    let norm1: GroupNorm, conv1: Conv2d, timeEmbProj: Linear?
    let norm2: GroupNorm, conv2: Conv2d, convShortcut: Conv2d?

    init(inChannels: Int, outChannels: Int, timeEmbedding: Int?, groups: Int, eps: Float, initializer: inout ParameterInit) {
        let same = Conv2DOptions(padding: (1, 1))
        norm1 = GroupNorm(groups: groups, channels: inChannels, eps: eps)
        conv1 = Conv2d(inChannels, outChannels, kernel: 3, options: same, initializer: &initializer)
        timeEmbProj = timeEmbedding.map { Linear($0, outChannels, initializer: &initializer) }
        norm2 = GroupNorm(groups: groups, channels: outChannels, eps: eps)
        conv2 = Conv2d(outChannels, outChannels, kernel: 3, options: same, initializer: &initializer)
        convShortcut = inChannels == outChannels ? nil : Conv2d(inChannels, outChannels, kernel: 1, initializer: &initializer)
    }

    var namedParameters: [(String, Tensor)] {
        var p = nested("norm1", norm1) + nested("conv1", conv1)
        if let timeEmbProj { p += nested("time_emb_proj", timeEmbProj) }
        p += nested("norm2", norm2) + nested("conv2", conv2)
        if let convShortcut { p += nested("conv_shortcut", convShortcut) }
        return p
    }

    /// x [B, C, H, W]; `activatedTime` is SiLU(time embedding) [B, T], shared by every block of a forward pass.
    func callAsFunction(_ x: Tensor, activatedTime: Tensor?) throws(NeuralError) -> Tensor {
        var h = try conv1(norm1(x).silu())
        if let timeEmbProj, let activatedTime {
            let t = try timeEmbProj(activatedTime)
            h = try h.add(t.reshaped([t.shape[0], t.shape[1], 1, 1]))
        }
        h = try conv2(norm2(h).silu())
        let skip = try convShortcut.map { (c: Conv2d) throws(NeuralError) -> Tensor in try c(x) } ?? x
        return try skip.add(h)
    }
}
