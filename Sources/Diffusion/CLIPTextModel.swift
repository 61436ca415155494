import Foundation
import Neural

/// transformers' `CLIPTextConfig` (`text_encoder/config.json`).
public struct CLIPTextConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var maxPositionEmbeddings: Int
    public var hiddenAct: String
    public var layerNormEps: Float
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var padTokenId: Int?

    enum CodingKeys: String, CodingKey {
        case vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, maxPositionEmbeddings
        case hiddenAct, layerNormEps, bosTokenId, eosTokenId, padTokenId
    }

    public init(vocabSize: Int = 49408, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                maxPositionEmbeddings: Int = 77, hiddenAct: String = "quick_gelu", layerNormEps: Float = 1e-5) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.hiddenAct = hiddenAct
        self.layerNormEps = layerNormEps
        bosTokenId = 49406
        eosTokenId = 49407
        padTokenId = 49407
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.value(.vocabSize, 49408)
        hiddenSize = try c.value(.hiddenSize, 512)
        intermediateSize = try c.value(.intermediateSize, 2048)
        numHiddenLayers = try c.value(.numHiddenLayers, 12)
        numAttentionHeads = try c.value(.numAttentionHeads, 8)
        maxPositionEmbeddings = try c.value(.maxPositionEmbeddings, 77)
        hiddenAct = try c.value(.hiddenAct, "quick_gelu")
        layerNormEps = try c.value(.layerNormEps, 1e-5)
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId)
        eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId)
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId)
    }

    /// CLIP ViT-L/14's text tower, Stable Diffusion 1.x's text encoder.
    public static let stableDiffusion1 = CLIPTextConfig(hiddenSize: 768, intermediateSize: 3072, numHiddenLayers: 12, numAttentionHeads: 12)

    func checkSupported() throws(DiffusionError) {
        guard ["quick_gelu", "gelu"].contains(hiddenAct) else { throw .unsupported("text encoder hidden_act '\(hiddenAct)' is not supported (quick_gelu, gelu)") }
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw .model("text encoder hidden_size \(hiddenSize) does not split into \(numAttentionHeads) heads")
        }
    }
}

/// CLIP's text transformer as Stable Diffusion uses it: token + position embeddings, pre-norm layers
/// with causal self-attention and a quick-GELU MLP, and the final layer norm. The output is the
/// per-token hidden states (not the pooled vector).
public final class CLIPTextModel: Module {
    public let config: CLIPTextConfig
    let tokenEmbedding: Embedding, positionEmbedding: Embedding
    let layers: [CLIPEncoderLayer]
    let finalLayerNorm: LayerNorm

    public init(config: CLIPTextConfig, initializer: inout ParameterInit) throws(DiffusionError) {
        try config.checkSupported()
        self.config = config
        tokenEmbedding = Embedding(config.vocabSize, config.hiddenSize, initializer: &initializer)
        positionEmbedding = Embedding(config.maxPositionEmbeddings, config.hiddenSize, initializer: &initializer)
        var list: [CLIPEncoderLayer] = []
        for _ in 0..<config.numHiddenLayers { list.append(CLIPEncoderLayer(config: config, initializer: &initializer)) }
        layers = list
        finalLayerNorm = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
    }

    public var namedParameters: [(String, Tensor)] {
        nested("text_model.embeddings.token_embedding", tokenEmbedding) + nested("text_model.embeddings.position_embedding", positionEmbedding)
            + nested("text_model.encoder.layers", layers) + nested("text_model.final_layer_norm", finalLayerNorm)
    }

    /// Hidden states [B, T, hidden] for token ids [B][T]. `skipLayers` k > 0 takes the output of the
    /// layer k from the end (diffusers' `clip_skip`; SD 2's "penultimate layer" is 1), still through the final layer norm.
    public func callAsFunction(_ ids: [[Int]], skipLayers: Int = 0) throws(DiffusionError) -> Tensor {
        guard let t = ids.first?.count, t > 0, ids.allSatisfy({ $0.count == t }) else {
            throw .invalidRequest("the text encoder needs one or more prompts of the same token length")
        }
        guard t <= config.maxPositionEmbeddings else {
            throw .invalidRequest("\(t) tokens exceed the text encoder's \(config.maxPositionEmbeddings) positions")
        }
        guard skipLayers >= 0, skipLayers < config.numHiddenLayers else {
            throw .invalidRequest("clip skip \(skipLayers) must be between 0 and \(config.numHiddenLayers - 1)")
        }
        if let bad = ids.joined().first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw .invalidRequest("token id \(bad) is outside the text encoder's vocabulary of \(config.vocabSize)")
        }
        return try neural { () throws(NeuralError) -> Tensor in
            let b = ids.count
            let tokens = try tokenEmbedding(ids.flatMap { $0 }, shape: [b, t])
            let positions = try positionEmbedding(Array(0..<t), shape: [1, t])
            var h = try tokens.add(positions)
            for layer in layers.prefix(layers.count - skipLayers) { h = try layer(h) }
            return try finalLayerNorm(h)
        }
    }
}

/// One pre-norm CLIP layer: x + attn(ln1(x)) with a causal mask, then x + mlp(ln2(x)).
final class CLIPEncoderLayer: Module {
    let heads: Int
    let gelu: Bool
    let layerNorm1: LayerNorm, qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
    let layerNorm2: LayerNorm, fc1: Linear, fc2: Linear

    init(config: CLIPTextConfig, initializer: inout ParameterInit) {
        let d = config.hiddenSize
        heads = config.numAttentionHeads
        gelu = config.hiddenAct == "gelu"
        layerNorm1 = LayerNorm(d, eps: config.layerNormEps)
        qProj = Linear(d, d, initializer: &initializer)
        kProj = Linear(d, d, initializer: &initializer)
        vProj = Linear(d, d, initializer: &initializer)
        outProj = Linear(d, d, initializer: &initializer)
        layerNorm2 = LayerNorm(d, eps: config.layerNormEps)
        fc1 = Linear(d, config.intermediateSize, initializer: &initializer)
        fc2 = Linear(config.intermediateSize, d, initializer: &initializer)
    }

    var namedParameters: [(String, Tensor)] {
        nested("self_attn.q_proj", qProj) + nested("self_attn.k_proj", kProj) + nested("self_attn.v_proj", vProj)
            + nested("self_attn.out_proj", outProj) + nested("layer_norm1", layerNorm1) + nested("mlp.fc1", fc1)
            + nested("mlp.fc2", fc2) + nested("layer_norm2", layerNorm2)
    }

    func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        let (b, t, d) = (x.shape[0], x.shape[1], x.shape[2])
        func split(_ y: Tensor) throws(NeuralError) -> Tensor { try y.reshaped([b, t, heads, d / heads]).permuted([0, 2, 1, 3]) }
        let n = try layerNorm1(x)
        let a = try Attention.scaledDotProduct(split(qProj(n)), split(kProj(n)), split(vProj(n)), causal: true)
        var h = try x.add(outProj(a.permuted([0, 2, 1, 3]).reshaped([b, t, d])))
        let m = try fc1(layerNorm2(h))
        h = try h.add(fc2(gelu ? m.gelu() : m.quickGELU()))
        return h
    }
}
