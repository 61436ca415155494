/// Where a new layer's parameter values come from: PyTorch's default initialisation drawn from a
/// seeded generator (training from scratch), or zeros for a layer whose weights are loaded right
/// after, so that building a large pretrained model draws no numbers only to overwrite them.
public enum ParameterInit: Sendable {
    case random(NumPyRandom)
    case zeros

    public mutating func uniform(_ shape: [Int], bound: Float) -> Tensor {
        guard case .random(var rng) = self else { return Tensor(zeros: shape) }
        let t = rng.uniform(shape, low: -bound, high: bound)
        self = .random(rng)
        return t
    }

    public mutating func normal(_ shape: [Int], std: Float = 1) -> Tensor {
        guard case .random(var rng) = self else { return Tensor(zeros: shape) }
        let t = rng.normal(shape, std: std)
        self = .random(rng)
        return t
    }

    /// The generator's state after the draws, for callers that go on drawing from it.
    public var generator: NumPyRandom? {
        if case .random(let rng) = self { return rng }
        return nil
    }
}
