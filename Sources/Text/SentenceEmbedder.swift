import Foundation
import Neural

/// A sentence-transformers model folder (BERT + mean pooling + L2 normalisation), e.g. all-MiniLM-L6-v2:
/// `config.json`, `vocab.txt`, `model.safetensors`, `sentence_bert_config.json`.
public final class SentenceEmbedder: @unchecked Sendable {
    public let tokenizer: WordPieceTokenizer
    public let model: BertModel
    public let maxSequenceLength: Int
    public var dimension: Int { model.config.hidden_size }

    struct SentenceBertConfig: Codable { var max_seq_length: Int? }
    struct TokenizerConfig: Codable { var do_lower_case: Bool? }

    public enum Failure: Error, CustomStringConvertible {
        case missing(String)
        public var description: String {
            switch self {
            case .missing(let path):
                return "model file '\(path)' is missing: run `make run` or `bash tools/bootstrap.sh` to fetch the embedded models (or set ATELIER_MODELS)"
            }
        }
    }

    public init(directory: String) throws {
        func file(_ name: String) throws -> String {
            let p = directory + "/" + name
            guard FileManager.default.fileExists(atPath: p) else { throw Failure.missing(p) }
            return p
        }
        let config = try JSONDecoder().decode(BertConfig.self, from: Data(contentsOf: URL(fileURLWithPath: file("config.json"))))
        let st = (try? Data(contentsOf: URL(fileURLWithPath: directory + "/sentence_bert_config.json")))
            .flatMap { try? JSONDecoder().decode(SentenceBertConfig.self, from: $0) }
        let tc = (try? Data(contentsOf: URL(fileURLWithPath: directory + "/tokenizer_config.json")))
            .flatMap { try? JSONDecoder().decode(TokenizerConfig.self, from: $0) }
        tokenizer = try WordPieceTokenizer(vocabFile: file("vocab.txt"), lowercase: tc?.do_lower_case ?? true)
        let weights = try SafeTensors(path: file("model.safetensors")).tensors { $0.hasSuffix("position_ids") ? nil : $0 }
        model = try BertModel(config: config, weights: weights)
        maxSequenceLength = min(st?.max_seq_length ?? 512, config.max_position_embeddings)
    }

    /// The default model, from the model cache the bootstrap fills.
    public static func defaultModel() throws -> SentenceEmbedder {
        try SentenceEmbedder(directory: ModelStore.directory + "/all-MiniLM-L6-v2")
    }

    /// Mean-pooled, L2-normalised embedding of each text.
    public func embed(_ texts: [String]) throws -> [[Float]] {
        try texts.map { text in
            let ids = tokenizer.encode(text, maxLength: maxSequenceLength)
            let hidden = try model.encode(ids)
            let n = ids.count, d = dimension
            var v = [Float](repeating: 0, count: d)
            for i in 0..<n { for j in 0..<d { v[j] += hidden.data[i * d + j] } }
            var norm: Float = 0
            for j in 0..<d { v[j] /= Float(n); norm += v[j] * v[j] }
            let inv = 1 / max(norm.squareRoot(), 1e-12)
            return v.map { $0 * inv }
        }
    }
}

/// Where the bootstrap puts model files: $ATELIER_MODELS, else ~/.cache/atelier/models.
public enum ModelStore {
    public static var directory: String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["ATELIER_MODELS"], !d.isEmpty { return d }
        return (env["XDG_CACHE_HOME"] ?? NSHomeDirectory() + "/.cache") + "/atelier/models"
    }
}
