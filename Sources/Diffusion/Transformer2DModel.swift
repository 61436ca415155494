import Neural

/// diffusers' `Transformer2DModel` for continuous inputs: GroupNorm, a projection in (1×1 conv in
/// SD 1.x, linear in SD 2.x), transformer blocks over the H·W tokens, a projection out, and the
/// residual input added back.
final class Transformer2DModel: Module {
    /// SD 1.x projects with 1×1 convs on the image, SD 2.x with linear layers on the tokens.
    enum Projection {
        case conv(Conv2d)
        case linear(Linear)

        init(_ inDim: Int, _ outDim: Int, linear: Bool, initializer: inout ParameterInit) {
            self = linear ? .linear(Linear(inDim, outDim, initializer: &initializer))
                          : .conv(Conv2d(inDim, outDim, kernel: 1, initializer: &initializer))
        }

        var module: Module {
            switch self {
            case .conv(let c): return c
            case .linear(let l): return l
            }
        }
    }

    let norm: GroupNorm
    let projIn: Projection, projOut: Projection
    let blocks: [BasicTransformerBlock]

    init(heads: Int, headDim: Int, channels: Int, layers: Int, crossAttentionDim: Int, groups: Int, linearProjection: Bool,
         initializer: inout ParameterInit) {
        let inner = heads * headDim
        norm = GroupNorm(groups: groups, channels: channels, eps: 1e-6)
        projIn = Projection(channels, inner, linear: linearProjection, initializer: &initializer)
        var list: [BasicTransformerBlock] = []
        for _ in 0..<layers {
            list.append(BasicTransformerBlock(dim: inner, heads: heads, headDim: headDim, crossAttentionDim: crossAttentionDim, initializer: &initializer))
        }
        blocks = list
        projOut = Projection(inner, channels, linear: linearProjection, initializer: &initializer)
    }

    var namedParameters: [(String, Tensor)] {
        nested("norm", norm) + nested("proj_in", projIn.module) + nested("transformer_blocks", blocks) + nested("proj_out", projOut.module)
    }

    /// x [B, C, H, W], context [B, S, crossAttentionDim].
    func callAsFunction(_ x: Tensor, context: Tensor) throws(NeuralError) -> Tensor {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var t = try norm(x)
        func tokens(_ t: Tensor) throws(NeuralError) -> Tensor { try t.reshaped([b, t.shape[1], h * w]).permuted([0, 2, 1]) }
        func image(_ t: Tensor) throws(NeuralError) -> Tensor { try t.permuted([0, 2, 1]).reshaped([b, t.shape[2], h, w]) }
        switch projIn {
        case .linear(let l): t = try l(tokens(t))
        case .conv(let conv): t = try tokens(conv(t))
        }
        for block in blocks { t = try block(t, context: context) }
        switch projOut {
        case .linear(let l): t = try image(l(t))
        case .conv(let conv): t = try conv(image(t))
        }
        guard t.shape[1] == c else { throw .shapeMismatch(op: "Transformer2DModel", "input", x.shape, "output", t.shape) }
        return try t.add(x)
    }
}

/// Self-attention, cross-attention and a GEGLU feed-forward, each pre-normed with a residual.
final class BasicTransformerBlock: Module {
    let norm1: LayerNorm, attn1: MultiHeadAttention
    let norm2: LayerNorm, attn2: MultiHeadAttention
    let norm3: LayerNorm, ffIn: Linear, ffOut: Linear

    init(dim: Int, heads: Int, headDim: Int, crossAttentionDim: Int, initializer: inout ParameterInit) {
        norm1 = LayerNorm(dim)
        attn1 = MultiHeadAttention(queryDim: dim, heads: heads, headDim: headDim, initializer: &initializer)
        norm2 = LayerNorm(dim)
        attn2 = MultiHeadAttention(queryDim: dim, contextDim: crossAttentionDim, heads: heads, headDim: headDim, initializer: &initializer)
        norm3 = LayerNorm(dim)
        ffIn = Linear(dim, dim * 4 * 2, initializer: &initializer)
        ffOut = Linear(dim * 4, dim, initializer: &initializer)
    }

    var namedParameters: [(String, Tensor)] {
        nested("norm1", norm1) + nested("attn1", attn1) + nested("norm2", norm2) + nested("attn2", attn2)
            + nested("norm3", norm3) + nested("ff.net.0.proj", ffIn) + nested("ff.net.2", ffOut)
    }

    func callAsFunction(_ x: Tensor, context: Tensor) throws(NeuralError) -> Tensor {
        var h = try x.add(attn1(norm1(x)))
        h = try h.add(attn2(norm2(h), context: context))
        return try h.add(ffOut(ffIn(norm3(h)).geglu()))
    }
}
