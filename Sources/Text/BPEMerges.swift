/// The merge table of a byte-level BPE vocabulary and the merge loop, shared by the GPT-2-style and
/// CLIP tokenizers.
struct BPEMerges: Sendable {
    struct Pair: Hashable { let a: String, b: String }
    private let ranks: [Pair: Int]

    /// Ranks in file order; a pair listed twice keeps its later rank, as the references' dicts do.
    init(_ pairs: [(String, String)]) {
        var ranks: [Pair: Int] = [:]
        for (i, m) in pairs.enumerated() { ranks[Pair(a: m.0, b: m.1)] = i }
        self.ranks = ranks
    }

    /// Repeatedly merges the adjacent pair of lowest rank (leftmost first among equals).
    func apply(_ start: [String]) -> [String] {
        var symbols = start
        while symbols.count > 1 {
            var best = Int.max, at = -1
            for i in 0..<(symbols.count - 1) {
                if let r = ranks[Pair(a: symbols[i], b: symbols[i + 1])], r < best { best = r; at = i }
            }
            if at < 0 { break }
            symbols[at] += symbols[at + 1]
            symbols.remove(at: at + 1)
        }
        return symbols
    }
}
