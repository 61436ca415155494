import Foundation
import Neural
import Text

/// What `atelier pretrain shapes` trains: the three Stable Diffusion parts in tiny configurations,
/// and how long each stage runs. Deterministic by seed.
public struct ShapesPretrainConfig: Codable, Sendable, Equatable {
    public var seed: UInt32 = 0
    public var imageSize = 32
    /// A factor-2 VAE (16×16×4 latents): at factor 4 a small star spans two latent pixels and no
    /// decoder drew it back (BENCHMARKS.md, Shapes world).
    public var vae = AutoencoderKLConfig(blockOutChannels: [32, 64], latentChannels: 4, layersPerBlock: 1, normNumGroups: 16,
                                         scalingFactor: 1, sampleSize: 32)
    /// Three levels (16, 8, 4); attention only below the top one, where 256 tokens would cost most.
    public var unet = UNet2DConditionConfig(blockOutChannels: [32, 64, 64], downBlockTypes: ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                                            upBlockTypes: ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], layersPerBlock: 1,
                                            crossAttentionDim: 64, attentionHeads: 4, normNumGroups: 32, inChannels: 4, outChannels: 4, sampleSize: 16)
    public var textEncoder = CLIPTextConfig(hiddenSize: 64, intermediateSize: 256, numHiddenLayers: 2, numAttentionHeads: 4)
    /// Stable Diffusion's schedule with v-prediction (as SD 2.x): with ε-prediction the tiny UNet
    /// left background and position to chance (BENCHMARKS.md, Shapes world).
    public var scheduler: SchedulerConfig = {
        var s = SchedulerConfig.stableDiffusion
        s.predictionType = "v_prediction"
        return s
    }()

    public var vaeSteps = 1500
    public var vaeBatch = 16
    public var vaeLearningRate: Float = 2e-3
    /// Share of VAE training images whose object has a random two-colour pattern. Captions never
    /// describe patterns, so only the VAE sees them: it must encode a DreamBooth subject's photos.
    public var patternedShare: Float = 0.3
    /// Weight of the KL term against the mean absolute reconstruction error. Small, as Stable
    /// Diffusion's: a heavier one leaves so much posterior noise that the decoder learns blobs.
    public var klWeight: Float = 1e-6
    /// Extra weight of object pixels in the VAE's reconstruction loss. Objects cover a few percent of an
    /// image, so a plain mean lets the decoder blur them into the average colour and a round shape
    /// while the background makes the loss look small (`atelier demo vae` measures what survives).
    public var vaeObjectWeight: Float = 10
    /// Scale each object's extra weight (VAE and UNet) by the batch's mean object area over its own, so a
    /// small object's pixels weigh, in all, as much as a large one's. Without it every miss of run 6 was
    /// a small star: its five points cover a handful of pixels and the loss hardly saw them.
    public var objectAreaBalance = true
    /// When continuing from a model: VAE fine-tuning steps (at `vaeLearningRate`) before the UNet
    /// stage; its latent scale is kept, so the continued UNet's inputs keep their scale.
    public var continueVAESteps = 0

    /// Images rendered and encoded once for the UNet stage.
    public var datasetSize = 16384
    public var unetSteps = 4000
    public var unetBatch = 32
    public var unetLearningRate: Float = 1e-3
    public var warmupSteps = 100
    /// Share of captions replaced by the empty prompt, so classifier-free guidance has an unconditional model.
    public var captionDropout: Float = 0.1
    public var maxGradNorm: Float = 1
    /// Decay of the exponential moving average of the UNet and text-encoder weights; the model
    /// keeps the averaged weights. 0 keeps the last weights instead.
    public var emaDecay: Float = 0.999
    /// Extra weight of the latent pixels under the object in the UNet's loss, for the reason the VAE
    /// has one: a small star covers a few of 256 latent pixels, and the flat background a sampler gets
    /// right at once dominated the mean, so small squares and stars came out as circles.
    public var unetObjectWeight: Float = 4
    /// Min-SNR-γ weighting of the UNet's loss (Hang et al. 2023: it shifts effort from nearly clean
    /// timesteps to the noisy ones where shape is decided); nil = unweighted.
    public var unetMinSNRGamma: Float?

    public init() {}
}

/// Progress of a pretraining run.
public struct PretrainProgress: Sendable {
    public let stage: String
    public let step: Int
    public let total: Int
    public let loss: Float
}

/// Trains Atelier's embedded image model from scratch on the Shapes world: first the VAE
/// (reconstruction + KL on freshly rendered images), then its latent scale is measured as Stable
/// Diffusion's was (1 / std of the latents), a fixed dataset is encoded once, and the UNet and the
/// text encoder learn to predict noise together, with captions dropped now and then for guidance.
public final class ShapesPretrainer {
    public let config: ShapesPretrainConfig
    public let tokenizer: CLIPTokenizer
    let world: ShapesWorld
    /// After a run that trained the VAE: `ShapesEvaluation.autoencoderAccuracy` on held-out scenes.
    public private(set) var autoencoderAccuracy: Double?

    public init(config: ShapesPretrainConfig, tokenizer: CLIPTokenizer) {
        self.config = config
        self.tokenizer = tokenizer
        world = ShapesWorld(imageSize: config.imageSize)
    }

    /// Images [B, 3, H, W] in −1…1 of the given scenes, with the generator's jitter.
    func batch(_ scenes: [ShapesScene], rng: inout NumPyRandom) -> Tensor {
        let n = config.imageSize
        var data: [Float] = []
        data.reserveCapacity(scenes.count * 3 * n * n)
        for s in scenes { data += world.render(s, rng: &rng).data.map { $0 * 2 - 1 } }
        return Tensor(shape: [scenes.count, 3, n, n], data: data)
    }

    /// Runs both stages and returns the trained model (not yet saved). With `continuing`, the VAE and
    /// its latent scale are taken from that model and its UNet and text encoder train further.
    public func run(continuing base: StableDiffusionModel? = nil, progress: (PretrainProgress) -> Void = { _ in }) throws(DiffusionError) -> StableDiffusionModel {
        var rng = NumPyRandom(seed: config.seed)
        if let base {
            if config.continueVAESteps > 0 {
                base.vae.setFrozen(false)
                _ = try trainVAE(base.vae, steps: config.continueVAESteps, rng: &rng, progress: progress)
                try measureAutoencoder(base.vae)
            }
            let (latents, captions) = try encodeDataset(base.vae, scale: base.vae.config.scalingFactor, rng: &rng, progress: progress)
            base.unet.setFrozen(false)
            base.textEncoder.setFrozen(false)
            try trainDenoiser(unet: base.unet, text: base.textEncoder, latents: latents, captions: captions, rng: &rng, progress: progress)
            return try StableDiffusionModel(tokenizer: tokenizer, textEncoder: base.textEncoder, unet: base.unet, vae: base.vae,
                                            schedulerConfig: config.scheduler)
        }
        var initializer = ParameterInit.random(rng)
        let vae = try AutoencoderKL(config: config.vae, initializer: &initializer)
        let unet = try UNet2DConditionModel(config: config.unet, initializer: &initializer)
        let text = try CLIPTextModel(config: config.textEncoder, initializer: &initializer)
        rng = initializer.generator!
        let scale = try trainVAE(vae, steps: config.vaeSteps, rng: &rng, progress: progress)
        try measureAutoencoder(vae)
        var vaeConfig = config.vae
        vaeConfig.scalingFactor = scale
        let (latents, captions) = try encodeDataset(vae, scale: scale, rng: &rng, progress: progress)
        try trainDenoiser(unet: unet, text: text, latents: latents, captions: captions, rng: &rng, progress: progress)
        var zeros = ParameterInit.zeros
        let scaledVAE = try AutoencoderKL(config: vaeConfig, initializer: &zeros)
        for ((_, a), (_, b)) in Swift.zip(scaledVAE.namedParameters, vae.namedParameters) { a.data = b.data }
        return try StableDiffusionModel(tokenizer: tokenizer, textEncoder: text, unet: unet, vae: scaledVAE, schedulerConfig: config.scheduler)
    }

    func measureAutoencoder(_ vae: AutoencoderKL) throws(DiffusionError) {
        autoencoderAccuracy = try neural { () throws(NeuralError) -> Double in
            try ShapesEvaluation.evaluateAutoencoder(vae, model: "", world: world, scenes: ShapesEvaluation.heldOutScenes(count: 96)).0.shapeAndColorAccuracy
        }
    }

    /// Stage 1 (or a continued model's VAE fine-tuning); returns the latent scaling factor.
    func trainVAE(_ vae: AutoencoderKL, steps: Int, rng: inout NumPyRandom, progress: (PretrainProgress) -> Void) throws(DiffusionError) -> Float {
        let optimizer = AdamW(vae.trainableParameters, lr: config.vaeLearningRate, weightDecay: 0)
        let schedule = LRSchedule.cosine(warmup: Swift.min(config.warmupSteps, steps / 10), total: steps)
        for step in 0..<steps {
            let scenes = (0..<config.vaeBatch).map { _ -> ShapesScene in
                var s = world.randomScene(&rng, includeHeldOut: true)
                if rng.nextDouble() < Double(config.patternedShare) { s.pattern = ShapesWorld.randomPattern(excluding: s.color, &rng) }
                return s
            }
            let images = batch(scenes, rng: &rng)
            let weights = objectWeights(images, scenes: scenes)
            let loss = try neural { () throws(NeuralError) -> Tensor in
                let posterior = try vae.encode(images)
                let reconstruction = try vae.decode(posterior.sample(&rng))
                let l1 = try reconstruction.sub(images).abs().mul(weights).mean()
                let m = posterior.mean, lv = posterior.logVariance
                let kl = try m.square().add(lv.exp()).sub(lv).adding(-1).mean().scaled(0.5)
                return try l1.add(kl.scaled(config.klWeight))
            }
            try checkFinite(loss, stage: "vae", step: step)
            loss.backward()
            clipGradNorm(vae.trainableParameters, maxNorm: config.maxGradNorm)
            optimizer.update(lr: config.vaeLearningRate * schedule.factor(step: step))
            vae.zeroGrad()
            progress(PretrainProgress(stage: "vae", step: step + 1, total: steps, loss: loss.item))
        }
        // Stable Diffusion's rule: scale latents to unit variance.
        var rngCopy = rng
        let probe = batch((0..<64).map { _ in world.randomScene(&rngCopy, includeHeldOut: true) }, rng: &rngCopy)
        let z = try neural { () throws(NeuralError) -> Tensor in try Autograd.withoutGrad { () throws(NeuralError) -> Tensor in try vae.encode(probe).mean } }
        let mean = z.data.reduce(0, +) / Float(z.count)
        let variance = z.data.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(z.count)
        return 1 / Swift.max(variance.squareRoot(), 1e-3)
    }

    /// Per-pixel loss weights [B, 3, H, W] for images in −1…1: 1 on the background, 1 + vaeObjectWeight
    /// (area-balanced when asked) on the object and its soft edge, normalised to mean 1 so the loss keeps its scale.
    func objectWeights(_ images: Tensor, scenes: [ShapesScene]) -> Tensor {
        let plane = images.shape[2] * images.shape[3]
        let mask = objectMask(images, scenes: scenes)
        let extra = Self.objectExtras(mask, images: scenes.count, plane: plane, weight: config.vaeObjectWeight, balanced: config.objectAreaBalance)
        var w = [Float](repeating: 1, count: images.count)
        for b in 0..<scenes.count {
            for i in 0..<plane where mask[b * plane + i] {
                for c in 0..<3 { w[b * 3 * plane + c * plane + i] += extra[b] }
            }
        }
        let mean = w.reduce(0, +) / Float(w.count)
        return Tensor(shape: images.shape, data: w.map { $0 / mean })
    }

    /// Each image's extra object weight: `weight`, or with `balanced` `weight` × the mean object area over
    /// this object's (capped at 8× so a sliver at the border cannot dominate a batch).
    static func objectExtras(_ mask: [Bool], images: Int, plane: Int, weight: Float, balanced: Bool) -> [Float] {
        guard balanced else { return [Float](repeating: weight, count: images) }
        let areas = (0..<images).map { b in Float(mask[b * plane..<(b + 1) * plane].lazy.filter { $0 }.count) }
        let present = areas.filter { $0 > 0 }
        guard !present.isEmpty else { return [Float](repeating: weight, count: images) }
        let mean = present.reduce(0, +) / Float(present.count)
        return areas.map { $0 > 0 ? weight * Swift.min(mean / $0, 8) : weight }
    }

    /// [B·H·W]: where any channel of an image in −1…1 differs from its scene's background colour.
    func objectMask(_ images: Tensor, scenes: [ShapesScene]) -> [Bool] {
        let plane = images.shape[2] * images.shape[3]
        var mask = [Bool](repeating: false, count: scenes.count * plane)
        for (b, scene) in scenes.enumerated() {
            let bg = scene.background.rgb * 2 - 1
            for i in 0..<plane {
                let base = b * 3 * plane + i
                let d = Swift.max(abs(images.data[base] - bg.x), abs(images.data[base + plane] - bg.y), abs(images.data[base + 2 * plane] - bg.z))
                mask[b * plane + i] = d > 0.04
            }
        }
        return mask
    }

    /// The object mask at latent resolution: a latent pixel is on the object when any image pixel it covers is.
    func latentObjectMask(_ images: Tensor, scenes: [ShapesScene]) -> [Bool] {
        let n = images.shape[2], f = config.vae.downsampling, h = n / f
        let full = objectMask(images, scenes: scenes)
        var out = [Bool](repeating: false, count: scenes.count * h * h)
        for b in 0..<scenes.count {
            for y in 0..<n {
                for x in 0..<n where full[b * n * n + y * n + x] { out[b * h * h + (y / f) * h + x / f] = true }
            }
        }
        return out
    }

    /// Renders and encodes the UNet stage's dataset once (posterior means and stds, already scaled).
    func encodeDataset(_ vae: AutoencoderKL, scale: Float, rng: inout NumPyRandom,
                       progress: (PretrainProgress) -> Void) throws(DiffusionError) -> (LatentTable, [String]) {
        var captions: [String] = []
        var means: [Float] = [], stds: [Float] = []
        var masks: [Bool] = []
        let chunk = 64
        var done = 0
        vae.setFrozen(true)
        while done < config.datasetSize {
            let n = Swift.min(chunk, config.datasetSize - done)
            let scenes = (0..<n).map { _ in world.randomScene(&rng) }
            captions += scenes.map { $0.caption() }
            let images = batch(scenes, rng: &rng)
            masks += latentObjectMask(images, scenes: scenes)
            let posterior = try neural { () throws(NeuralError) -> LatentDistribution in
                try Autograd.withoutGrad { () throws(NeuralError) -> LatentDistribution in try vae.encode(images) }
            }
            means += posterior.mean.data.map { $0 * scale }
            stds += posterior.std.data.map { $0 * scale }
            done += n
            progress(PretrainProgress(stage: "encode", step: done, total: config.datasetSize, loss: 0))
        }
        let h = config.imageSize / config.vae.downsampling
        return (LatentTable(shape: [config.vae.latentChannels, h, h], means: means, stds: stds, objectMasks: masks), captions)
    }

    /// Stage 2: UNet and text encoder on the cached latents.
    func trainDenoiser(unet: UNet2DConditionModel, text: CLIPTextModel, latents: LatentTable, captions: [String],
                       rng: inout NumPyRandom, progress: (PretrainProgress) -> Void) throws(DiffusionError) {
        let parameters = unet.trainableParameters + text.trainableParameters
        let optimizer = AdamW(parameters, lr: config.unetLearningRate, weightDecay: 1e-2)
        let schedule = LRSchedule.cosine(warmup: config.warmupSteps, total: config.unetSteps)
        var objective = try NoisePredictionObjective(scheduler: config.scheduler)
        objective.minSNRGamma = config.unetMinSNRGamma
        let ema = config.emaDecay > 0 ? ExponentialMovingAverage(parameters, decay: config.emaDecay) : nil
        var tokenCache: [String: [Int]] = [:]
        func ids(_ caption: String) -> [Int] {
            if let c = tokenCache[caption] { return c }
            let e = tokenizer.encode(caption).ids
            tokenCache[caption] = e
            return e
        }
        for step in 0..<config.unetSteps {
            let picks = (0..<config.unetBatch).map { _ in Int(rng.nextDouble() * Double(captions.count)) % captions.count }
            let x0 = latents.sample(picks, rng: &rng)
            let weights = config.unetObjectWeight > 0
                ? latents.objectWeights(picks, extra: config.unetObjectWeight, balanced: config.objectAreaBalance) : nil
            let prompts = picks.map { rng.nextDouble() < Double(config.captionDropout) ? "" : captions[$0] }
            let draw = objective.draw(latentShape: x0.shape, rng: &rng)
            let context = try text(prompts.map(ids))
            let loss = try neural { () throws(NeuralError) -> Tensor in
                try objective.perSampleLoss(unet: unet, latents: x0, context: context, draw: draw, elementWeights: weights).mean()
            }
            try checkFinite(loss, stage: "unet", step: step)
            loss.backward()
            clipGradNorm(parameters, maxNorm: config.maxGradNorm)
            optimizer.update(lr: config.unetLearningRate * schedule.factor(step: step))
            unet.zeroGrad()
            text.zeroGrad()
            ema?.update()
            progress(PretrainProgress(stage: "unet", step: step + 1, total: config.unetSteps, loss: loss.item))
        }
        ema?.copyToParameters()
    }

    func checkFinite(_ loss: Tensor, stage: String, step: Int) throws(DiffusionError) {
        guard loss.item.isFinite else {
            throw .training("the \(stage) loss became \(loss.item) at step \(step + 1); lower the learning rate or check the data")
        }
    }
}

/// Encoded images: posterior means and standard deviations, sampled afresh for each batch.
struct LatentTable {
    let shape: [Int]
    let means: [Float]
    let stds: [Float]
    /// [N·H·W]: latent pixels under each image's object.
    let objectMasks: [Bool]

    /// [B, C, H, W] loss weights for the given rows: 1 + extra (area-balanced when asked) under the object,
    /// normalised to mean 1.
    func objectWeights(_ rows: [Int], extra: Float, balanced: Bool) -> Tensor {
        let c = shape[0], plane = shape[1] * shape[2]
        let mask = rows.flatMap { objectMasks[$0 * plane..<($0 + 1) * plane] }
        let extras = ShapesPretrainer.objectExtras(mask, images: rows.count, plane: plane, weight: extra, balanced: balanced)
        var w = [Float](repeating: 1, count: rows.count * c * plane)
        for b in rows.indices {
            for i in 0..<plane where mask[b * plane + i] {
                for k in 0..<c { w[(b * c + k) * plane + i] += extras[b] }
            }
        }
        let mean = w.reduce(0, +) / Float(w.count)
        return Tensor(shape: [rows.count] + shape, data: w.map { $0 / mean })
    }

    func sample(_ rows: [Int], rng: inout NumPyRandom) -> Tensor {
        let n = shape.reduce(1, *)
        var out = [Float](repeating: 0, count: rows.count * n)
        for (b, r) in rows.enumerated() {
            for i in 0..<n { out[b * n + i] = means[r * n + i] + stds[r * n + i] * Float(rng.nextGaussian()) }
        }
        return Tensor(shape: [rows.count] + shape, data: out)
    }
}
