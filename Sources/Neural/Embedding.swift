extension Tensor {
    /// Rows of this [V, D] table for each id; the result has shape idsShape + [D].
    public func embedding(_ ids: [Int], idsShape: [Int]) throws(NeuralError) -> Tensor {
        guard rank == 2 else { throw .invalidArgument(op: "embedding", "the table must be [vocab, dim], got \(shape)") }
        guard idsShape.reduce(1, *) == ids.count else { throw .invalidArgument(op: "embedding", "\(ids.count) ids do not fill shape \(idsShape)") }
        let v = shape[0], d = shape[1]
        if let bad = ids.first(where: { $0 < 0 || $0 >= v }) { throw .invalidArgument(op: "embedding", "id \(bad) is outside the vocabulary of \(v)") }
        var out = [Float](repeating: 0, count: ids.count * d)
        for (i, id) in ids.enumerated() { for j in 0..<d { out[i * d + j] = data[id * d + j] } }
        let table = self
        return Tensor(shape: idsShape + [d], data: out).record("embedding", [table]) { g in
            var gt = [Float](repeating: 0, count: table.count)
            for (i, id) in ids.enumerated() { for j in 0..<d { gt[id * d + j] += g.data[i * d + j] } }
            return [Tensor(shape: table.shape, data: gt)]
        }
    }
}
