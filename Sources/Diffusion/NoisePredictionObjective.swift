import Foundation
import Neural

/// The denoising objective Stable Diffusion is trained with (diffusers' `train_dreambooth.py` and
/// `train_text_to_image.py`): noise clean latents to a random timestep, have the UNet predict the
/// noise (or v), and take the squared error per sample. Min-SNR weighting and offset noise are the
/// options those scripts offer.
public struct NoisePredictionObjective: Sendable {
    let alphasCumprod: [Float]
    /// "epsilon" or "v_prediction", as the scheduler config says.
    public let predictionType: String
    /// Min-SNR-γ loss weighting (Hang et al. 2023); nil = unweighted.
    public var minSNRGamma: Float?
    /// Offset noise strength: a per-channel constant added to the noise (0 = off).
    public var offsetNoise: Float = 0

    public init(scheduler: SchedulerConfig) throws(DiffusionError) {
        guard ["epsilon", "v_prediction"].contains(scheduler.predictionType) else {
            throw .unsupported("training for prediction type '\(scheduler.predictionType)' (epsilon, v_prediction)")
        }
        alphasCumprod = try NoiseSchedule(config: scheduler).alphasCumprod
        predictionType = scheduler.predictionType
    }

    public var trainTimesteps: Int { alphasCumprod.count }

    /// One batch's random draw: a timestep per sample and the noise.
    public struct Draw: Sendable {
        public let timesteps: [Int]
        public let noise: Tensor
    }

    public func draw(latentShape shape: [Int], rng: inout NumPyRandom) -> Draw {
        let b = shape[0]
        let timesteps = (0..<b).map { _ in Int(rng.nextDouble() * Double(alphasCumprod.count)) % alphasCumprod.count }
        let noise = rng.normal(shape)
        if offsetNoise != 0 {
            let plane = shape[2...].reduce(1, *)
            for bc in 0..<(b * shape[1]) {
                let k = Float(rng.nextGaussian()) * offsetNoise
                for i in 0..<plane { noise.data[bc * plane + i] += k }
            }
        }
        return Draw(timesteps: timesteps, noise: noise)
    }

    /// √ᾱ·x₀ + √(1−ᾱ)·ε per sample (no graph: the latents are an input, not a parameter).
    public func noised(_ latents: Tensor, draw: Draw) -> Tensor {
        let plane = latents.count / latents.shape[0]
        var out = latents.data
        for (b, t) in draw.timesteps.enumerated() {
            let a = alphasCumprod[t].squareRoot(), s = (1 - alphasCumprod[t]).squareRoot()
            for i in (b * plane)..<((b + 1) * plane) { out[i] = a * out[i] + s * draw.noise.data[i] }
        }
        return Tensor(shape: latents.shape, data: out)
    }

    /// The loss of each sample [B] (mean squared error over its latent, Min-SNR weighted when asked).
    /// `elementWeights` (the latents' shape) weighs each latent element's squared error.
    public func perSampleLoss(unet: UNet2DConditionModel, latents: Tensor, context: Tensor, draw: Draw,
                              elementWeights: Tensor? = nil) throws(NeuralError) -> Tensor {
        let noisy = noised(latents, draw: draw)
        let prediction = try unet(noisy, timesteps: draw.timesteps.map(Float.init), context: context)
        let target: Tensor
        if predictionType == "v_prediction" {
            // v = √ᾱ·ε − √(1−ᾱ)·x₀
            let plane = latents.count / latents.shape[0]
            var v = draw.noise.data
            for (b, t) in draw.timesteps.enumerated() {
                let a = alphasCumprod[t].squareRoot(), s = (1 - alphasCumprod[t]).squareRoot()
                for i in (b * plane)..<((b + 1) * plane) { v[i] = a * v[i] - s * latents.data[i] }
            }
            target = Tensor(shape: latents.shape, data: v)
        } else {
            target = draw.noise
        }
        var squared = try prediction.sub(target).square()
        if let elementWeights { squared = try squared.mul(elementWeights) }
        let perSample = try squared.mean(dims: Array(1..<latents.rank))
        guard let gamma = minSNRGamma else { return perSample }
        let weights = draw.timesteps.map { t -> Float in
            let snr = alphasCumprod[t] / (1 - alphasCumprod[t])
            return predictionType == "v_prediction" ? Swift.min(snr, gamma) / (snr + 1) : Swift.min(snr, gamma) / snr
        }
        return try perSample.mul(Tensor(shape: [weights.count], data: weights))
    }
}
