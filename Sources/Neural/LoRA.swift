/// A low-rank adapter on a `Linear` (Hu et al. 2021, as PEFT's `LoraLayer`): y = W·x + b + (α/r)·B·A·x,
/// with A [r, in] drawn like a Linear's weight and B [out, r] zero, so a fresh adapter changes nothing.
/// Only A and B train; the base weight stays frozen and holds no gradient.
public final class LoRA: Module {
    public let down: Tensor
    public let up: Tensor
    public let scale: Float

    public init(inFeatures: Int, outFeatures: Int, rank: Int, alpha: Float, rng: inout NumPyRandom) {
        let bound = 1 / Float(inFeatures).squareRoot()
        down = rng.uniform([rank, inFeatures], low: -bound, high: bound)
        up = Tensor(zeros: [outFeatures, rank])
        scale = alpha / Float(rank)
        down.requiresGrad = true
        up.requiresGrad = true
    }

    /// PEFT's parameter names.
    public var namedParameters: [(String, Tensor)] { [("lora_A.weight", down), ("lora_B.weight", up)] }

    func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        try x.linear(weight: down, bias: nil).linear(weight: up, bias: nil).scaled(scale)
    }

    /// (α/r)·B·A, the update to fold into the base weight.
    public var delta: Tensor {
        let (out, r) = (up.shape[0], up.shape[1]), inF = down.shape[1]
        var d = [Float](repeating: 0, count: out * inF)
        BLAS.gemm(transA: false, transB: false, m: out, n: inF, k: r, alpha: scale, up.data, down.data, &d)
        return Tensor(shape: [out, inF], data: d)
    }
}

extension Linear {
    /// Folds the adapter into the weight and removes it: the layer then computes the same without it.
    public func mergeLoRA() {
        guard let lora else { return }
        let d = lora.delta
        for i in 0..<weight.count { weight.data[i] += d.data[i] }
        self.lora = nil
    }
}
