import Foundation
import Neural

/// diffusers' sinusoidal `Timesteps` projection followed by `TimestepEmbedding` (linear → SiLU → linear).
final class TimestepEmbedding: Module {
    let channels: Int
    let flipSinToCos: Bool
    let freqShift: Float
    let linear1: Linear, linear2: Linear

    init(channels: Int, embeddingDim: Int, flipSinToCos: Bool, freqShift: Float, initializer: inout ParameterInit) {
        self.channels = channels
        self.flipSinToCos = flipSinToCos
        self.freqShift = freqShift
        linear1 = Linear(channels, embeddingDim, initializer: &initializer)
        linear2 = Linear(embeddingDim, embeddingDim, initializer: &initializer)
    }

    var namedParameters: [(String, Tensor)] { nested("linear_1", linear1) + nested("linear_2", linear2) }

    func callAsFunction(_ timesteps: [Float]) throws(NeuralError) -> Tensor {
        try linear2(linear1(Self.sinusoidal(timesteps, channels: channels, flipSinToCos: flipSinToCos, shift: freqShift)).silu())
    }

    /// [B, channels]: sin and cos of t · 10000^(−i / (half − shift)), in float32 as the reference computes it.
    static func sinusoidal(_ timesteps: [Float], channels: Int, flipSinToCos: Bool, shift: Float) -> Tensor {
        let half = channels / 2
        let freqs = (0..<half).map { i -> Float in Foundation.exp(-Float(Foundation.log(10000.0)) * Float(i) / (Float(half) - shift)) }
        var out = [Float](repeating: 0, count: timesteps.count * channels)
        for (b, t) in timesteps.enumerated() {
            for i in 0..<half {
                let a = t * freqs[i]
                let (first, second) = flipSinToCos ? (Foundation.cos(a), Foundation.sin(a)) : (Foundation.sin(a), Foundation.cos(a))
                out[b * channels + i] = first
                out[b * channels + half + i] = second
            }
        }
        return Tensor(shape: [timesteps.count, channels], data: out)
    }
}
