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

    /// The default model, from the model cache the bootstrap fills; loaded once per process and
    /// shared (retrieval and the planner's router use the same weights).
    public static func defaultModel() throws -> SentenceEmbedder {
        try sharedLock.withLock {
            if let e = shared { return e }
            let e = try SentenceEmbedder(directory: ModelStore.directory + "/all-MiniLM-L6-v2")
            shared = e
            return e
        }
    }

    private static let sharedLock = NSLock()
    nonisolated(unsafe) private static var shared: SentenceEmbedder?

    /// Texts per forward pass: enough tokens for large GEMMs, bounded memory.
    public var batchSize = 16

    /// Parallel workers for `embed`. Each runs whole batches with single-threaded products (the engine's
    /// pool runs a loop inside its own loop serially): at these matrix sizes threads inside one product
    /// spend their time waking each other, and the non-GEMM work (norms, GELU, attention) parallelises
    /// only this way.
    public var workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))

    /// Mean-pooled, L2-normalised embedding of each text.
    public func embed(_ texts: [String]) throws -> [[Float]] {
        let batches = stride(from: 0, to: texts.count, by: batchSize).map { $0..<min(texts.count, $0 + batchSize) }
        var out = [[Float]](repeating: [], count: texts.count)
        if batches.count <= 1 || workers <= 1 {
            for b in batches { try embedBatch(texts, b, into: &out) }
            return out
        }
        let results = Collected(count: batches.count)
        // The pool hands out batches one at a time: batches differ in length, and a fixed share left
        // one core idle while the other finished its longer texts.
        ParallelRows.forEach(batches.count, threads: min(workers, batches.count)) { i in
            var local = [[Float]](repeating: [], count: texts.count)
            do {
                try embedBatch(texts, batches[i], into: &local)
                results.set(i, .success(Array(local[batches[i]])))
            } catch {
                results.set(i, .failure(error))
            }
        }
        for (i, b) in batches.enumerated() {
            out.replaceSubrange(b, with: try results.get(i))
        }
        return out
    }

    private func embedBatch(_ texts: [String], _ range: Range<Int>, into out: inout [[Float]]) throws {
        let ids = texts[range].map { tokenizer.encode($0, maxLength: maxSequenceLength) }
        for (j, hidden) in try model.encodeBatch(ids).enumerated() {
            out[range.lowerBound + j] = Self.meanPoolNormalized(hidden, dimension: dimension)
        }
    }

    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [Result<[[Float]], Error>?]
        init(count: Int) { items = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: Result<[[Float]], Error>) { lock.withLock { items[i] = r } }
        func get(_ i: Int) throws -> [[Float]] { try lock.withLock { items[i]! }.get() }
    }

    static func meanPoolNormalized(_ hidden: Tensor, dimension d: Int) -> [Float] {
        let n = hidden.shape[0]
        var v = [Float](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { v[j] += hidden.data[i * d + j] } }
        var norm: Float = 0
        for j in 0..<d { v[j] /= Float(max(n, 1)); norm += v[j] * v[j] }
        let inv = 1 / max(norm.squareRoot(), 1e-12)
        return v.map { $0 * inv }
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
