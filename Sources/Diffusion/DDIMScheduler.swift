import Neural

/// DDIM (Song et al.): deterministic when η = 0; η > 0 adds fresh noise each step.
public final class DDIMScheduler: Scheduler {
    public let timesteps: [Float]
    public let initNoiseSigma: Float = 1
    public var eta: Float = 0
    let config: SchedulerConfig
    let alphasCumprod: [Float]
    let finalAlphaCumprod: Float
    let stride: Int

    init(config: SchedulerConfig, schedule: NoiseSchedule, spacing: String, steps: Int) throws(DiffusionError) {
        self.config = config
        alphasCumprod = schedule.alphasCumprod
        finalAlphaCumprod = config.setAlphaToOne ? 1 : schedule.alphasCumprod[0]
        stride = config.numTrainTimesteps / steps
        timesteps = try NoiseSchedule.discreteTimesteps(config: config, spacing: spacing, steps: steps)
    }

    public func scaleModelInput(_ sample: Tensor, step: Int) -> Tensor { sample }

    public func step(_ modelOutput: Tensor, step i: Int, sample: Tensor, noise: ([Int]) -> Tensor) throws(DiffusionError) -> Tensor {
        let t = Int(timesteps[i]), prev = t - stride
        let alphaT = alphasCumprod[t], alphaPrev = prev >= 0 ? alphasCumprod[prev] : finalAlphaCumprod
        var (x0, eps) = predictedOriginal(modelOutput, sample: sample, alphaProd: alphaT, predictionType: config.predictionType)
        if config.clipsSample { x0 = clipped(x0, Float(config.clipSampleRange)) }
        let variance = (1 - alphaPrev) / (1 - alphaT) * (1 - alphaT / alphaPrev)
        let std = eta * variance.squareRoot()
        var prevSample = combine(alphaPrev.squareRoot(), x0, (1 - alphaPrev - std * std).squareRoot(), eps)
        if eta > 0 { prevSample = combine(1, prevSample, std, noise(sample.shape)) }
        return prevSample
    }

    public func addNoise(_ original: Tensor, noise: Tensor, step: Int) -> Tensor {
        let a = alphasCumprod[Int(timesteps[step])]
        return combine(a.squareRoot(), original, (1 - a).squareRoot(), noise)
    }
}
