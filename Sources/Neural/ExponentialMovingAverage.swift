/// An exponential moving average of parameters, as diffusers' `EMAModel`: after each optimizer
/// step `shadow ← shadow − (1 − d)(shadow − param)`, where the n-th update (from 0) uses d = 0 for
/// n = 0 and `min(decay, (1 + n) / (10 + n))` after, so early shadows forget the random start.
/// Diffusion models sample markedly better from the averaged weights than from the last ones.
public final class ExponentialMovingAverage {
    public let decay: Float
    let params: [Tensor]
    public private(set) var shadow: [[Float]]
    public private(set) var updates = 0

    public init(_ params: [Tensor], decay: Float = 0.999) {
        self.params = params
        self.decay = decay
        shadow = params.map(\.data)
    }

    /// The decay used at the next update.
    public var currentDecay: Float { updates == 0 ? 0 : Swift.min(decay, Float(1 + updates) / Float(10 + updates)) }

    public func update() {
        let keep = currentDecay, take = 1 - keep
        for (k, p) in params.enumerated() {
            let n = p.data.count
            p.data.withUnsafeBufferPointer { src in
                shadow[k].withUnsafeMutableBufferPointer { dst in
                    for i in 0..<n { dst[i] = keep * dst[i] + take * src[i] }
                }
            }
        }
        updates += 1
    }

    /// Writes the averaged weights into the parameters.
    public func copyToParameters() {
        for (k, p) in params.enumerated() { p.data = shadow[k] }
    }
}
