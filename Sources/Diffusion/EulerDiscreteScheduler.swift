import Foundation
import Neural

/// Karras et al.'s Euler method in σ-space (k-diffusion's `sample_euler`), and its ancestral variant
/// that steps down to a lower σ and adds fresh noise back up (`sample_euler_ancestral`).
public final class EulerDiscreteScheduler: Scheduler {
    public let timesteps: [Float]
    public let initNoiseSigma: Float
    /// σ per step plus a final 0.
    let sigmas: [Float]
    let ancestral: Bool
    let predictionType: String

    init(config: SchedulerConfig, schedule: NoiseSchedule, spacing: String, steps: Int, ancestral: Bool) throws(DiffusionError) {
        self.ancestral = ancestral
        predictionType = config.predictionType
        let train = config.numTrainTimesteps
        var ts: [Double]
        switch spacing {
        // Euler keeps fractional timesteps under linspace spacing: the model sees t = 999, 888.0, …
        case "linspace": ts = NoiseSchedule.linspace(0, Double(train - 1), steps).reversed().map { Double(Float($0)) }
        case "leading": ts = try NoiseSchedule.spacedTimesteps("leading", steps: steps, train: train, offset: config.stepsOffset)
        default: ts = try NoiseSchedule.spacedTimesteps(spacing, steps: steps, train: train, offset: 0)
        }
        try NoiseSchedule.checkWithinTraining(ts, config: config, steps: steps)
        timesteps = ts.map(Float.init)
        let trainSigmas = schedule.alphasCumprod.map { Double(((1 - $0) / $0).squareRoot()) }
        sigmas = ts.map { Float(Self.interpolate($0, trainSigmas)) } + [0]
        let maxSigma = sigmas.max() ?? 1
        initNoiseSigma = spacing == "linspace" || spacing == "trailing" ? maxSigma : (maxSigma * maxSigma + 1).squareRoot()
    }

    /// np.interp over the training timesteps 0…N−1.
    static func interpolate(_ t: Double, _ values: [Double]) -> Double {
        if t <= 0 { return values[0] }
        if t >= Double(values.count - 1) { return values[values.count - 1] }
        let i = Int(t.rounded(.down)), f = t - Double(i)
        return values[i] + (values[i + 1] - values[i]) * f
    }

    public func scaleModelInput(_ sample: Tensor, step: Int) -> Tensor {
        let s = sigmas[step]
        return sample.scaled(1 / (s * s + 1).squareRoot())
    }

    public func step(_ modelOutput: Tensor, step i: Int, sample: Tensor, noise: ([Int]) -> Tensor) throws(DiffusionError) -> Tensor {
        let sigma = sigmas[i], next = sigmas[i + 1]
        let x0: Tensor
        switch predictionType {
        case "v_prediction": x0 = combine(-sigma / (sigma * sigma + 1).squareRoot(), modelOutput, 1 / (sigma * sigma + 1), sample)
        case "sample": x0 = modelOutput
        default: x0 = combine(1, sample, -sigma, modelOutput)
        }
        // derivative = (x − x0) / σ; x' = x + derivative · (σ_target − σ).
        let derivative = combine(1 / sigma, sample, -1 / sigma, x0)
        guard ancestral else { return combine(1, sample, next - sigma, derivative) }
        let up = (next * next * (sigma * sigma - next * next) / (sigma * sigma)).squareRoot()
        let down = (next * next - up * up).squareRoot()
        let stepped = combine(1, sample, down - sigma, derivative)
        return combine(1, stepped, up, noise(sample.shape))
    }

    public func addNoise(_ original: Tensor, noise: Tensor, step: Int) -> Tensor {
        combine(1, original, sigmas[step], noise)
    }
}
