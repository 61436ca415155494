import Neural

/// DDPM (Ho et al.) ancestral sampling over the spaced timesteps; noise is added at every step but the last.
public final class DDPMScheduler: Scheduler {
    public let timesteps: [Float]
    public let initNoiseSigma: Float = 1
    let config: SchedulerConfig
    let alphasCumprod: [Float]

    init(config: SchedulerConfig, schedule: NoiseSchedule, spacing: String, steps: Int) throws(DiffusionError) {
        self.config = config
        alphasCumprod = schedule.alphasCumprod
        timesteps = try NoiseSchedule.discreteTimesteps(config: config, spacing: spacing, steps: steps)
    }

    public func scaleModelInput(_ sample: Tensor, step: Int) -> Tensor { sample }

    public func step(_ modelOutput: Tensor, step i: Int, sample: Tensor, noise: ([Int]) -> Tensor) throws(DiffusionError) -> Tensor {
        let t = Int(timesteps[i])
        let prev = i + 1 < timesteps.count ? Int(timesteps[i + 1]) : -1
        let alphaT = alphasCumprod[t], alphaPrev = prev >= 0 ? alphasCumprod[prev] : 1
        let betaT = 1 - alphaT, betaPrev = 1 - alphaPrev
        let currentAlpha = alphaT / alphaPrev, currentBeta = 1 - currentAlpha
        var (x0, _) = predictedOriginal(modelOutput, sample: sample, alphaProd: alphaT, predictionType: config.predictionType)
        if config.clipsSample { x0 = clipped(x0, Float(config.clipSampleRange)) }
        let mean = combine(alphaPrev.squareRoot() * currentBeta / betaT, x0, currentAlpha.squareRoot() * betaPrev / betaT, sample)
        guard t > 0 else { return mean }
        let variance = config.varianceType == "fixed_large" ? currentBeta : Swift.max(betaPrev / betaT * currentBeta, 1e-20)
        return combine(1, mean, variance.squareRoot(), noise(sample.shape))
    }

    public func addNoise(_ original: Tensor, noise: Tensor, step: Int) -> Tensor {
        let a = alphasCumprod[Int(timesteps[step])]
        return combine(a.squareRoot(), original, (1 - a).squareRoot(), noise)
    }
}
