import Foundation
import Neural

/// `config.json` of a BERT-family model (the fields the encoder needs).
public struct BertConfig: Codable, Sendable {
    public var hidden_size: Int
    public var num_hidden_layers: Int
    public var num_attention_heads: Int
    public var intermediate_size: Int
    public var max_position_embeddings: Int
    public var type_vocab_size: Int
    public var vocab_size: Int
    public var layer_norm_eps: Double
    public var hidden_act: String
}

/// The BERT encoder (embeddings + post-norm transformer layers), for inference.
/// Weights use the upstream key names (`encoder.layer.N.attention.self.query.weight`, …).
public final class BertModel: @unchecked Sendable {
    public let config: BertConfig
    let w: [String: Tensor]

    public init(config: BertConfig, weights: [String: Tensor]) throws(NeuralError) {
        self.config = config
        // Some exports prefix every key with "bert."; accept both.
        var ws: [String: Tensor] = [:]
        for (k, v) in weights { ws[k.hasPrefix("bert.") ? String(k.dropFirst(5)) : k] = v }
        w = ws
        let h = config.hidden_size
        try expect("embeddings.word_embeddings.weight", [config.vocab_size, h])
        try expect("embeddings.position_embeddings.weight", [config.max_position_embeddings, h])
        for i in 0..<config.num_hidden_layers {
            let p = "encoder.layer.\(i)."
            for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                try expect(p + n + ".weight", [h, h])
            }
            try expect(p + "intermediate.dense.weight", [config.intermediate_size, h])
            try expect(p + "output.dense.weight", [h, config.intermediate_size])
        }
        guard config.hidden_act == "gelu" else { throw .invalidArgument(op: "bert", "activation '\(config.hidden_act)' is not supported (gelu only)") }
    }

    private func expect(_ key: String, _ shape: [Int]) throws(NeuralError) {
        guard let t = w[key] else { throw .weights(key: key, "missing from the checkpoint") }
        guard t.shape == shape else { throw .weights(key: key, "has shape \(t.shape), the config implies \(shape)") }
    }

    private func t(_ key: String) -> Tensor { w[key]! }

    /// Hidden states [T, hidden] for one sequence of token ids (T ≤ max positions).
    public func encode(_ ids: [Int]) throws -> Tensor { try encodeBatch([ids])[0] }

    /// Hidden states for several sequences at once. Token-wise layers (projections, feed-forward, norms)
    /// run on all tokens of the batch stacked together, so their GEMMs are large; only attention runs
    /// per sequence. No padding is needed.
    public func encodeBatch(_ batch: [[Int]]) throws -> [Tensor] {
        try Autograd.withoutGrad { () throws -> [Tensor] in
            let h = config.hidden_size, heads = config.num_attention_heads
            let lengths = batch.map(\.count)
            for n in lengths where n > config.max_position_embeddings {
                throw NeuralError.invalidArgument(op: "bert", "\(n) tokens exceed the \(config.max_position_embeddings) positions")
            }
            let total = lengths.reduce(0, +)
            guard total > 0 else { return batch.map { _ in Tensor(zeros: [0, h]) } }
            let eps = Float(config.layer_norm_eps)
            let positions = batch.flatMap { Array(0..<$0.count) }
            var x = try t("embeddings.word_embeddings.weight").embedding(batch.flatMap { $0 }, idsShape: [total])
                .add(t("embeddings.position_embeddings.weight").embedding(positions, idsShape: [total]))
            if let types = w["embeddings.token_type_embeddings.weight"] { x = try x.add(types.sliced(dim: 0, start: 0, length: 1)) }
            x = try x.layerNorm(weight: t("embeddings.LayerNorm.weight"), bias: t("embeddings.LayerNorm.bias"), eps: eps)
            for i in 0..<config.num_hidden_layers {
                let p = "encoder.layer.\(i)."
                func lin(_ name: String, _ input: Tensor) throws -> Tensor {
                    try input.linear(weight: t(p + name + ".weight"), bias: w[p + name + ".bias"])
                }
                let q = try lin("attention.self.query", x), k = try lin("attention.self.key", x), v = try lin("attention.self.value", x)
                let attended = try Attention.packedSelfAttention(q: q, k: k, v: v, lengths: lengths, heads: heads)
                x = try lin("attention.output.dense", attended).add(x)
                    .layerNorm(weight: t(p + "attention.output.LayerNorm.weight"), bias: t(p + "attention.output.LayerNorm.bias"), eps: eps)
                let ff = try lin("output.dense", lin("intermediate.dense", x).gelu())
                x = try ff.add(x).layerNorm(weight: t(p + "output.LayerNorm.weight"), bias: t(p + "output.LayerNorm.bias"), eps: eps)
            }
            var out: [Tensor] = []
            var offset = 0
            for n in lengths {
                out.append(try x.sliced(dim: 0, start: offset, length: n))
                offset += n
            }
            return out
        }
    }
}
