extension Tensor {
    /// Sum over `dims` (all when empty).
    public func sum(dims: [Int] = [], keepDim: Bool = false) -> Tensor {
        let ds = Set((dims.isEmpty ? Array(0..<rank) : dims).map { normalize(dim: $0, rank: rank) })
        let kept = shape.enumerated().map { ds.contains($0.offset) ? 1 : $0.element }
        let out = Tensor(shape: shape, data: data).reduced(to: kept)
        let outShape = keepDim ? kept : shape.enumerated().filter { !ds.contains($0.offset) }.map(\.element)
        let inShape = shape
        return Tensor(shape: outShape, data: out.data).record("sum", [self]) { g in
            let gk = Tensor(shape: kept, data: g.data)
            return [Tensor(shape: inShape, data: broadcastApply(Tensor(zeros: inShape), gk, inShape, +))]
        }
    }

    public func mean(dims: [Int] = [], keepDim: Bool = false) -> Tensor {
        let ds = dims.isEmpty ? Array(0..<rank) : dims.map { normalize(dim: $0, rank: rank) }
        let n = ds.reduce(1) { $0 * shape[$1] }
        return sum(dims: dims, keepDim: keepDim).scaled(1 / Float(n))
    }
}
