import Foundation
import Neural

/// DPM-Solver++ (Lu et al.) multistep, order 2 with the midpoint rule, on data predictions: the
/// "DPM++ 2M" sampler. The first step, and the last (σ → 0), are first order.
public final class DPMSolverMultistepScheduler: Scheduler {
    public let timesteps: [Float]
    public let initNoiseSigma: Float = 1
    let sigmas: [Float]
    let config: SchedulerConfig
    let alphasCumprod: [Float]
    /// The last data predictions, newest last.
    private var modelOutputs: [Tensor] = []
    /// The step a continuing run calls next; any other step (a new run, image-to-image's late start) starts over.
    private var nextStep = 0

    init(config: SchedulerConfig, schedule: NoiseSchedule, spacing: String, steps: Int) throws(DiffusionError) {
        self.config = config
        alphasCumprod = schedule.alphasCumprod
        let train = config.numTrainTimesteps
        var ts: [Double]
        switch spacing {
        case "linspace": ts = Array(NoiseSchedule.linspace(0, Double(train - 1), steps + 1).reversed().dropLast()).map(NoiseSchedule.roundHalfEven)
        case "leading":
            let ratio = train / (steps + 1)
            ts = (1...steps).reversed().map { Double($0 * ratio + config.stepsOffset) }
        default: ts = try NoiseSchedule.spacedTimesteps(spacing, steps: steps, train: train, offset: 0)
        }
        try NoiseSchedule.checkWithinTraining(ts, config: config, steps: steps)
        timesteps = ts.map(Float.init)
        let trainSigmas = schedule.alphasCumprod.map { Double(((1 - $0) / $0).squareRoot()) }
        sigmas = ts.map { Float(EulerDiscreteScheduler.interpolate($0, trainSigmas)) } + [0]
    }

    public func scaleModelInput(_ sample: Tensor, step: Int) -> Tensor { sample }

    /// α_t and σ_t of the variance-preserving process at noise level σ.
    private func alphaSigma(_ sigma: Float) -> (Float, Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        return (alpha, sigma * alpha)
    }

    public func step(_ modelOutput: Tensor, step i: Int, sample: Tensor, noise: ([Int]) -> Tensor) throws(DiffusionError) -> Tensor {
        if i != nextStep || i == 0 { modelOutputs = [] }
        nextStep = i + 1
        let (alphaS, sigmaS) = alphaSigma(sigmas[i])
        let x0: Tensor
        switch config.predictionType {
        case "v_prediction": x0 = combine(alphaS, sample, -sigmaS, modelOutput)
        case "sample": x0 = modelOutput
        default: x0 = combine(1 / alphaS, sample, -sigmaS / alphaS, modelOutput)
        }
        modelOutputs.append(x0)
        if modelOutputs.count > 2 { modelOutputs.removeFirst() }
        // The final step is first order in diffusers whenever σ ends at 0, which it always does here
        // (final_sigmas_type "zero"); so are the first step and order-1 configs.
        let firstOrder = config.solverOrder == 1 || modelOutputs.count < 2 || i == timesteps.count - 1
        let (alphaT, sigmaT) = alphaSigma(sigmas[i + 1])
        let lambdaT = Foundation.log(alphaT) - Foundation.log(sigmaT)
        let lambdaS = Foundation.log(alphaS) - Foundation.log(sigmaS)
        let h = lambdaT - lambdaS
        let decay = Foundation.exp(-h) - 1
        if firstOrder {
            return combine(sigmaT / sigmaS, sample, -alphaT * decay, x0)
        }
        let (alphaS1, sigmaS1) = alphaSigma(sigmas[i - 1])
        let lambdaS1 = Foundation.log(alphaS1) - Foundation.log(sigmaS1)
        let r = (lambdaS - lambdaS1) / h
        let m0 = modelOutputs[1], m1 = modelOutputs[0]
        // D1 = (m0 − m1) / r; x = (σ_t/σ_s)·x − α_t(e^−h − 1)·D0 − ½α_t(e^−h − 1)·D1.
        let d1 = combine(1 / r, m0, -1 / r, m1)
        let base = combine(sigmaT / sigmaS, sample, -alphaT * decay, m0)
        return combine(1, base, -0.5 * alphaT * decay, d1)
    }

    public func addNoise(_ original: Tensor, noise: Tensor, step: Int) -> Tensor {
        let (alpha, sigma) = alphaSigma(sigmas[step])
        return combine(alpha, original, sigma, noise)
    }
}
