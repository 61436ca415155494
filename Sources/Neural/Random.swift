import Foundation

/// Mersenne Twister MT19937 with NumPy's legacy `RandomState` conversions, so a seed gives the same
/// numbers as `np.random.RandomState(seed)` (uniform doubles and the polar-method normals).
public struct NumPyRandom: Sendable, Codable, Equatable {
    private var mt = [UInt32](repeating: 0, count: 624)
    private var index = 625
    private var cachedGauss: Double? = nil

    public init(seed: UInt32) {
        mt[0] = seed
        for i in 1..<624 { mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i) }
        index = 624
    }

    public mutating func nextUInt32() -> UInt32 {
        if index >= 624 {
            for i in 0..<624 {
                let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % 624] & 0x7fff_ffff)
                mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : 0x9908_b0df)
            }
            index = 0
        }
        var y = mt[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// A double in [0, 1) with 53 random bits (NumPy's `random_sample`).
    public mutating func nextDouble() -> Double {
        let a = Double(nextUInt32() >> 5), b = Double(nextUInt32() >> 6)
        return (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// A standard normal (NumPy's legacy `standard_normal`, Marsaglia's polar method with a cached pair).
    public mutating func nextGaussian() -> Double {
        if let g = cachedGauss { cachedGauss = nil; return g }
        var x1 = 0.0, x2 = 0.0, r2 = 0.0
        repeat {
            x1 = 2 * nextDouble() - 1
            x2 = 2 * nextDouble() - 1
            r2 = x1 * x1 + x2 * x2
        } while r2 >= 1 || r2 == 0
        let f = (-2 * Foundation.log(r2) / r2).squareRoot()
        cachedGauss = f * x1
        return f * x2
    }

    public mutating func normal(_ shape: [Int], std: Float = 1) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float(nextGaussian()) * std })
    }

    public mutating func uniform(_ shape: [Int], low: Float, high: Float) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in low + Float(nextDouble()) * (high - low) })
    }
}

extension Tensor {
    /// Inverted dropout: zeroes each value with probability p and scales the rest by 1/(1-p).
    public func dropout(_ p: Float, rng: inout NumPyRandom, training: Bool = true) -> Tensor {
        guard training, p > 0 else { return self }
        let keep = 1 - p
        let mask = (0..<count).map { _ in Float(rng.nextDouble()) < keep ? 1 / keep : 0 }
        let m = Tensor(shape: shape, data: mask)
        return zip(m, *).record("dropout", [self]) { g in [g.zip(m, *)] }
    }
}
