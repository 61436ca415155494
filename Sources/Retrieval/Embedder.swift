import Text

/// What ingestion and search need from an embedding model.
public protocol TextEmbedder: AnyObject, Sendable {
    var dimension: Int { get }
    var modelName: String { get }
    /// Tokens the model would see for `text` (for chunk budgets).
    func tokenCount(_ text: String) -> Int
    /// Unit-length embeddings.
    func embed(_ texts: [String]) throws -> [[Float]]
}

extension SentenceEmbedder: TextEmbedder {
    public var modelName: String { "all-MiniLM-L6-v2" }
    public func tokenCount(_ text: String) -> Int { tokenizer.encode(text, maxLength: Int.max / 2).count - 2 }
}
