import Foundation
import Neural
import Text

/// What to generate. Defaults follow diffusers' `StableDiffusionPipeline`.
public struct GenerationRequest: Codable, Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String = ""
    public var steps: Int = 30
    public var guidance: Float = 7.5
    /// nil: the model folder's own scheduler.
    public var scheduler: SchedulerKind? = nil
    public var seed: UInt32 = 0
    public var numImages: Int = 1
    /// nil: the model's native size (the UNet's sample size × the VAE's scale).
    public var height: Int? = nil
    public var width: Int? = nil
    /// DDIM's η (0 = deterministic).
    public var eta: Float = 0
    /// Text-encoder layers skipped from the end (1 = SD 2's penultimate layer).
    public var clipSkip: Int = 0
    /// Image-to-image: how far the init image is noised (1 = ignore it entirely).
    public var strength: Float = 0.8

    public init(prompt: String) { self.prompt = prompt }
}

/// One call's output.
public struct GenerationResult: Sendable {
    /// [N, 3, H, W] in 0…1.
    public let images: Tensor
    /// The final latents [N, C, h, w] (before the VAE's scaling is undone), for `--latents-out`.
    public let latents: Tensor
    public let timesteps: [Float]
    public let scheduler: SchedulerKind
    public let width: Int, height: Int
    public let warnings: [String]
}

/// Text (and optionally an image) to images: CLIP text embeddings for the prompt and the negative
/// prompt, a denoising loop with classifier-free guidance (both passes in one UNet batch, negative
/// first, as diffusers), then the VAE decoder.
public final class StableDiffusionPipeline: @unchecked Sendable {
    public let model: StableDiffusionModel
    /// Refuse requests whose estimated working memory exceeds this many bytes.
    public var memoryLimit: Int

    public init(model: StableDiffusionModel, memoryLimit: Int? = nil) {
        self.model = model
        self.memoryLimit = memoryLimit ?? Int(ProcessInfo.processInfo.physicalMemory) * 3 / 4
    }

    /// The size used when a request gives none.
    public var nativeSize: Int { (model.unet.config.sampleSize ?? 64) * model.vaeScale }

    /// Checks a request before any compute; returns the resolved size.
    public func validate(_ r: GenerationRequest, hasInitImage: Bool = false) throws(DiffusionError) -> (width: Int, height: Int) {
        let w = r.width ?? nativeSize, h = r.height ?? nativeSize
        let f = model.vaeScale
        guard w > 0, h > 0, w % 8 == 0, h % 8 == 0, w % f == 0, h % f == 0 else {
            throw .invalidRequest("width and height must be positive multiples of 8\(f > 8 ? " and of \(f)" : ""), got \(w)×\(h)")
        }
        guard (1...1000).contains(r.steps) else { throw .invalidRequest("steps must be between 1 and 1000, got \(r.steps)") }
        guard (1...64).contains(r.numImages) else { throw .invalidRequest("num_images must be between 1 and 64, got \(r.numImages)") }
        guard r.guidance.isFinite, r.guidance >= 0 else { throw .invalidRequest("guidance must be ≥ 0, got \(r.guidance)") }
        guard r.eta.isFinite, r.eta >= 0 else { throw .invalidRequest("eta must be ≥ 0, got \(r.eta)") }
        if hasInitImage { guard r.strength > 0, r.strength <= 1 else { throw .invalidRequest("strength must be in (0, 1], got \(r.strength)") } }
        guard r.clipSkip >= 0, r.clipSkip < model.textEncoder.config.numHiddenLayers else {
            throw .invalidRequest("clip_skip must be between 0 and \(model.textEncoder.config.numHiddenLayers - 1), got \(r.clipSkip)")
        }
        let need = estimatedBytes(width: w, height: h, images: r.numImages, guided: r.guidance > 1)
        if need > memoryLimit {
            throw .invalidRequest("\(w)×\(h) × \(r.numImages) image(s) needs about \(need >> 20) MiB of working memory, over the limit of \(memoryLimit >> 20) MiB; ask for fewer or smaller images")
        }
        return (w, h)
    }

    /// A rough peak of activations: the widest UNet level's features (and their im2col buffer) and
    /// the VAE decoder's full-resolution features, plus the weights.
    func estimatedBytes(width: Int, height: Int, images: Int, guided: Bool) -> Int {
        let f = model.vaeScale
        let latentArea = (width / f) * (height / f)
        let batch = images * (guided ? 2 : 1)
        let c0 = model.unet.config.blockOutChannels[0]
        let unet = batch * c0 * latentArea * 4 * 24 + c0 * 9 * latentArea * 4 * 2
        // Attention keeps one chunk of scores per worker.
        let attention = 256 * latentArea * 4 * 2
        let vaeC = model.vae.config.blockOutChannels[0]
        let vae = vaeC * width * height * 4 * 8 + vaeC * 9 * width * height * 4
        let modules: [Module] = [model.unet, model.vae, model.textEncoder]
        let weights = modules.flatMap(\.parameters).reduce(0) { $0 + $1.count * 4 }
        return weights + max(unet + attention, vae)
    }

    /// Runs the request. `initImage` [1, 3, H, W] in 0…1 turns on image-to-image; `latents` replaces the
    /// seeded starting noise ([N, C, h, w], as diffusers' `latents=`). `progress(done, total)` after each step;
    /// `isCancelled` is polled between steps.
    public func generate(_ r: GenerationRequest, initImage: Tensor? = nil, latents given: Tensor? = nil,
                         progress: (Int, Int) -> Void = { _, _ in }, isCancelled: () -> Bool = { false }) throws(DiffusionError) -> GenerationResult {
        let (w, h) = try validate(r, hasInitImage: initImage != nil)
        let f = model.vaeScale, c = model.unet.config.inChannels
        let latentShape = [r.numImages, c, h / f, w / f]
        if let given, given.shape != latentShape {
            throw .invalidRequest("the given latents have shape \(given.shape); \(w)×\(h) × \(r.numImages) needs \(latentShape)")
        }
        if let initImage, initImage.shape != [1, 3, h, w] {
            throw .invalidRequest("the init image is \(initImage.shape.dropFirst(2).reversed().map(String.init).joined(separator: "×")), the request is \(w)×\(h)")
        }
        let kind = r.scheduler ?? model.defaultScheduler
        let scheduler = try kind.make(config: model.schedulerConfig, steps: r.steps)
        (scheduler as? DDIMScheduler)?.eta = r.eta
        var warnings: [String] = []
        var rng = NumPyRandom(seed: r.seed)

        return try Autograd.withoutGrad { () throws(DiffusionError) -> GenerationResult in
            let guided = r.guidance > 1
            let cond = try embed(r.prompt, count: r.numImages, clipSkip: r.clipSkip, warnings: &warnings, what: "prompt")
            var context = cond
            if guided {
                let uncond = try embed(r.negativePrompt, count: r.numImages, clipSkip: r.clipSkip, warnings: &warnings, what: "negative prompt")
                context = try neural { () throws(NeuralError) in try Tensor.concat([uncond, cond], dim: 0) }
            }

            var first = 0
            var x: Tensor
            if let initImage {
                let steps = scheduler.timesteps.count
                let kept = min(Int(Float(steps) * r.strength), steps)
                first = max(steps - kept, 0)
                guard first < steps else { throw .invalidRequest("strength \(r.strength) leaves no denoising step with \(steps) steps; raise strength or steps") }
                let encoded = try neural { () throws(NeuralError) -> Tensor in
                    let dist = try model.vae.encode(initImage.scaled(2).adding(-1))
                    return try dist.sample(&rng).scaled(model.vae.config.scalingFactor)
                }
                let batch = try neural { () throws(NeuralError) in try Tensor.concat(Array(repeating: encoded, count: r.numImages), dim: 0) }
                let noise = given ?? rng.normal(latentShape)
                x = scheduler.addNoise(batch, noise: noise, step: first)
            } else {
                x = (given ?? rng.normal(latentShape)).scaled(scheduler.initNoiseSigma)
            }

            let total = scheduler.timesteps.count - first
            for i in first..<scheduler.timesteps.count {
                if isCancelled() { throw .cancelled }
                let input = scheduler.scaleModelInput(x, step: i)
                let t = scheduler.timesteps[i]
                let prediction = try neural { () throws(NeuralError) -> Tensor in
                    let batch = guided ? try Tensor.concat([input, input], dim: 0) : input
                    let out = try model.unet(batch, timesteps: Array(repeating: t, count: batch.shape[0]), context: context)
                    guard guided else { return out }
                    let halves = try out.chunked(2, dim: 0)
                    return combine(1 - r.guidance, halves[0], r.guidance, halves[1])
                }
                x = try scheduler.step(prediction, step: i, sample: x) { shape in rng.normal(shape) }
                progress(i - first + 1, total)
            }
            if isCancelled() { throw .cancelled }
            let images = try decode(x)
            return GenerationResult(images: images, latents: x, timesteps: Array(scheduler.timesteps[first...]), scheduler: kind,
                                    width: w, height: h, warnings: warnings)
        }
    }

    /// Final latents → images in 0…1, one image at a time to bound memory.
    public func decode(_ latents: Tensor) throws(DiffusionError) -> Tensor {
        try Autograd.withoutGrad { () throws(DiffusionError) -> Tensor in
            try neural { () throws(NeuralError) -> Tensor in
                var parts: [Tensor] = []
                for i in 0..<latents.shape[0] {
                    let z = try latents.sliced(dim: 0, start: i, length: 1).scaled(1 / model.vae.config.scalingFactor)
                    let image = try model.vae.decode(z)
                    parts.append(Tensor(shape: image.shape, data: image.data.map { Swift.min(Swift.max($0 / 2 + 0.5, 0), 1) }))
                }
                return try Tensor.concat(parts, dim: 0)
            }
        }
    }

    /// Text embeddings [count, 77, d] of one prompt; a truncated prompt adds a warning.
    func embed(_ text: String, count: Int, clipSkip: Int, warnings: inout [String], what: String) throws(DiffusionError) -> Tensor {
        let encoding = model.tokenizer.encode(text)
        if encoding.truncated {
            let kept = model.tokenizer.contextLength - 2
            warnings.append("the \(what) is \(encoding.fullLength - 2) tokens long; only the first \(kept) were used")
        }
        let one = try model.textEncoder([encoding.ids], skipLayers: clipSkip)
        return try neural { () throws(NeuralError) in try Tensor.concat(Array(repeating: one, count: count), dim: 0) }
    }
}
