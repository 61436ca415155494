import Foundation
import Neural
import Text

/// One optimizer step's measurements.
public struct TrainingMetrics: Codable, Sendable {
    public let step: Int
    public let loss: Float
    public let instanceLoss: Float
    /// nil without prior preservation.
    public let priorLoss: Float?
    public let learningRate: Float
    public let gradNorm: Float
    public let stepTime: Double
}

/// What a finished (or stopped) run reports.
public struct DreamBoothSummary: Codable, Sendable {
    public let outputDir: String
    /// The exported diffusers folder; nil when the run was stopped before the end.
    public let modelDir: String?
    public let sampleGrid: String?
    public let steps: Int
    public let resumedFrom: String?
    public let trainTextEncoder: Bool
    /// "fp32" or "bf16" (bf16 operands in the matrix products, fp32 everything else).
    public let mixedPrecision: String
    public let useLora: Bool
    public let priorPreservation: Bool
    public let trainableParameters: Int
    public let classImages: Int
    public let classImagesGenerated: Int
    public let instanceImages: Int
    public let finalLoss: Float?
    public let lastCheckpoint: String?
    public let seconds: Double
    public let warnings: [String]
}

/// DreamBooth (Ruiz et al. 2023) on the Neural engine: the instance images with the instance prompt,
/// and with prior preservation the class images with the class prompt in the same batch, their losses
/// weighted by `prior_loss_weight`. The VAE is frozen and its latent distributions cached; the text
/// encoder is frozen (its two embeddings cached) unless `train_text_encoder`; the UNet trains whole,
/// or only rank-r LoRA adapters on its attention projections. Checkpoints hold exactly the trainable
/// tensors, the optimizer's moments and every counter and generator state, so a resumed run is the
/// uninterrupted run, bit for bit.
public final class DreamBoothTrainer {
    public enum Phase: String, Sendable { case classImages = "class-images", training, validation, export }

    public struct Progress: Sendable {
        public let phase: Phase
        public let done: Int
        public let total: Int
        public let metrics: TrainingMetrics?
    }

    public let config: DreamBoothConfig
    public let model: StableDiffusionModel
    public let modelPath: String
    public private(set) var warnings: [String] = []
    let resolution: Int
    let cacheRoot: String

    /// Loads the base model and checks the config against it. `cacheRoot` holds shared class images.
    public init(config: DreamBoothConfig, bpeVocabulary: String?, cacheRoot: String = ModelStore.directory + "/../cache") throws(DiffusionError) {
        let problems = config.problems()
        guard problems.isEmpty else { throw .invalidRequest("invalid training config: " + problems.joined(separator: "; ")) }
        self.config = config
        modelPath = config.pretrainedModel ?? ShapesEvaluation.embeddedModel
        model = try StableDiffusionModel.load(modelPath, bpeVocabulary: bpeVocabulary)
        resolution = config.resolution ?? StableDiffusionPipeline(model: model).nativeSize
        guard resolution % model.vaeScale == 0 else {
            throw .invalidRequest("resolution \(resolution) is not a multiple of the VAE's factor \(model.vaeScale)")
        }
        self.cacheRoot = cacheRoot
        warnings += Self.identifierWarnings(config.identifier, tokenizer: model.tokenizer)
    }

    /// The paper's advice: an identifier should be one rare token with no meaning. "sks" is a rifle.
    static func identifierWarnings(_ identifier: String, tokenizer: CLIPTokenizer) -> [String] {
        let pieces = tokenizer.tokenize(identifier)
        var w: [String] = []
        if identifier.lowercased() == "sks" {
            w.append("identifier \"sks\" already means something to CLIP (a rifle) and drags that meaning into the subject; a rare token such as \"\(DreamBoothConfig.defaultIdentifier)\" is safer")
        } else if pieces.count == 1, let id = pieces.first, id < 20_000 {
            w.append("identifier \"\(identifier)\" is a common token (BPE rank \(id)); it likely has a meaning the model will mix into the subject")
        }
        if pieces.count > 1 { w.append("identifier \"\(identifier)\" is \(pieces.count) tokens; one rare token binds best") }
        return w
    }

    /// Settings that change what a step computes; resuming under different ones is refused.
    var configDigest: String {
        let c = config
        let parts: [String] = [modelPath, c.instanceDataDir, c.resolvedInstancePrompt, c.resolvedClassPrompts.joined(separator: "\n"), "\(c.withPriorPreservation)", "\(c.priorLossWeight)",
                               "\(c.numClassImages)", "\(resolution)", "\(c.centerCrop)", "\(c.randomFlip)", "\(c.learningRate)", "\(c.adamBeta1)",
                               "\(c.adamBeta2)", "\(c.adamWeightDecay)", "\(c.adamEpsilon)", c.lrScheduler, "\(c.lrWarmupSteps)", "\(c.trainBatchSize)",
                               "\(c.gradientAccumulationSteps)", "\(c.maxGradNorm)", "\(c.seed)", "\(c.offsetNoise)", "\(String(describing: c.snrGamma))",
                               "\(c.trainTextEncoder)", "\(c.useLora)", "\(c.loraRank)", "\(String(describing: c.loraAlpha))",
                               // A decaying schedule depends on the run's length; a constant one does not, so such a run may be extended.
                               ["linear", "cosine"].contains(c.lrScheduler) ? "\(c.maxTrainSteps)" : ""]
                               + (c.matmulPrecision == .bf16 ? ["bf16"] : [])   // fp32 runs keep their old digest
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in parts.joined(separator: "\u{1f}").utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }

    /// Trains. `resume`: "latest" or a checkpoint folder. `isCancelled` is polled between steps; a
    /// cancelled run writes a checkpoint and throws `.cancelled`.
    public func run(resume: String? = nil, progress: (Progress) -> Void = { _ in },
                    isCancelled: () -> Bool = { false }) throws(DiffusionError) -> DreamBoothSummary {
        let started = Date()
        let c = config
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: c.outputDir, withIntermediateDirectories: true) } catch {
            throw .io("cannot create output_dir '\(c.outputDir)': \(error.localizedDescription)")
        }
        try writeJSON(c, to: c.outputDir + "/config.json")
        let pipeline = StableDiffusionPipeline(model: model)
        let store = TrainingCheckpoint(outputDir: c.outputDir)

        // Data: instance photos; class images generated once and read back from disk.
        let instances = try TrainingImages(folder: c.instanceDataDir, resolution: resolution)
        let instancePrompts = instances.captions.map { $0 ?? c.resolvedInstancePrompt }
        if let unbound = instances.captions.firstIndex(where: { $0 != nil && !$0!.lowercased().contains(c.identifier.lowercased()) }) {
            warnings.append("the caption of '\(instances.files[unbound])' does not contain the identifier \"\(c.identifier)\"; that photo will not teach it")
        }
        var classImages: [Tensor] = []
        var classPrompts: [String] = []
        var generated = 0
        if c.withPriorPreservation {
            let joined = c.resolvedClassPrompts.joined(separator: "\n")
            let folder = c.classDataDir ?? ClassImageSet.defaultFolder(model: modelPath, prompt: joined, resolution: resolution, cacheRoot: cacheRoot)
            let set = ClassImageSet(folder: folder, prompts: c.resolvedClassPrompts, count: c.numClassImages)
            generated = try set.fill(pipeline: pipeline, resolution: resolution, steps: c.classImageSteps, guidance: c.classImageGuidance,
                                     seed: c.seed, progress: { progress(Progress(phase: .classImages, done: $0, total: $1, metrics: nil)) },
                                     isCancelled: isCancelled)
            classImages = try set.load(resolution: resolution)
            classPrompts = (0..<classImages.count).map(set.prompt)
        }

        // What trains.
        var rng = NumPyRandom(seed: c.seed)
        var trainable: [(String, Tensor)] = []
        if c.useLora {
            var loraRng = NumPyRandom(seed: c.seed &+ 0x10_4A)
            for (name, layer) in model.unet.attentionProjections {
                let lora = LoRA(inFeatures: layer.weight.shape[1], outFeatures: layer.weight.shape[0], rank: c.loraRank,
                                alpha: c.loraAlpha ?? Float(c.loraRank), rng: &loraRng)
                layer.lora = lora
                trainable += lora.namedParameters.map { ("unet.\(name).\($0.0)", $0.1) }
            }
        } else {
            model.unet.setFrozen(false)
            trainable += model.unet.namedParameters.map { ("unet." + $0.0, $0.1) }
        }
        if c.trainTextEncoder {
            model.textEncoder.setFrozen(false)
            trainable += model.textEncoder.namedParameters.map { ("text_encoder." + $0.0, $0.1) }
        }
        model.unet.gradientCheckpointing = c.gradientCheckpointing
        defer { model.unet.setFrozen(true); model.textEncoder.setFrozen(true); model.unet.gradientCheckpointing = false }
        let optimizer = AdamW(trainable.map(\.1), lr: c.learningRate, betas: (c.adamBeta1, c.adamBeta2), eps: c.adamEpsilon, weightDecay: c.adamWeightDecay)
        var objective = try NoisePredictionObjective(scheduler: model.schedulerConfig)
        objective.minSNRGamma = c.snrGamma
        objective.offsetNoise = c.offsetNoise

        var step = 0, cursor = 0
        var resumedFrom: String?
        if let resume {
            let path = resume == "latest" ? store.latest : resume
            guard let path else { throw .invalidRequest("no checkpoint to resume in '\(store.directory)'") }
            let saved = try TrainingCheckpoint.read(path)
            guard saved.state.configDigest == configDigest else {
                throw .invalidRequest("checkpoint '\(path)' belongs to a run with other settings; resume with the config it was made with")
            }
            try restore(trainable: trainable, optimizer: optimizer, from: saved)
            step = saved.state.step
            cursor = saved.state.dataCursor
            rng = saved.state.rng
            resumedFrom = path
        }

        // Frozen parts' outputs, computed once.
        let scale = model.vae.config.scalingFactor
        // Frozen text encoder: each distinct prompt's embedding, computed once.
        var frozenContext: [String: Tensor] = [:]
        if !c.trainTextEncoder {
            for prompt in Set(instancePrompts + classPrompts) {
                let ids = model.tokenizer.encode(prompt).ids
                frozenContext[prompt] = try Autograd.withoutGrad { () throws(DiffusionError) in try model.textEncoder([ids]) }
            }
        }
        var latentCache: [String: LatentDistribution] = [:]
        func posterior(_ image: Tensor, key: String?) throws(DiffusionError) -> LatentDistribution {
            if let key, let hit = latentCache[key] { return hit }
            let d = try neural { () throws(NeuralError) -> LatentDistribution in
                try Autograd.withoutGrad { () throws(NeuralError) -> LatentDistribution in
                    try model.vae.encode(Tensor(shape: [1] + image.shape, data: image.data.map { $0 * 2 - 1 }))
                }
            }
            if let key { latentCache[key] = d }
            return d
        }
        /// One example's latents: crop and flip drawn from the run's generator, posterior sampled.
        func latents(_ images: [Tensor], _ index: Int, kind: String) throws(DiffusionError) -> Tensor {
            let t = images[index]
            let square = t.shape[1] == resolution && t.shape[2] == resolution
            let flip = c.randomFlip && rng.nextDouble() < 0.5
            var offset: (Float, Float)? = nil
            if !c.centerCrop && !square { offset = (Float(rng.nextDouble()), Float(rng.nextDouble())) }
            let crop = TrainingImages.crop(t, resolution: resolution, at: offset, flip: flip)
            let d = try posterior(crop, key: offset == nil ? "\(kind)-\(index)-\(flip)" : nil)
            let eps = rng.normal(d.mean.shape)
            var z = [Float](repeating: 0, count: d.mean.count)
            let std = d.std
            for i in 0..<z.count { z[i] = (d.mean.data[i] + std.data[i] * eps.data[i]) * scale }
            return Tensor(shape: d.mean.shape, data: z)
        }
        /// The example at position `k` of the seeded order (a fresh permutation each epoch).
        func order(_ k: Int, count n: Int, salt: UInt32) -> Int {
            let epoch = k / n
            var r = NumPyRandom(seed: c.seed &+ salt &+ UInt32(truncatingIfNeeded: epoch) &* 7919)
            var perm = Array(0..<n)
            for i in stride(from: n - 1, to: 0, by: -1) { perm.swapAt(i, Int(r.nextDouble() * Double(i + 1)) % (i + 1)) }
            return perm[k % n]
        }

        let metricsURL = URL(fileURLWithPath: c.outputDir + "/metrics.jsonl")
        if resumedFrom == nil { try? fm.removeItem(at: metricsURL) }
        let events = try TensorBoardWriter(directory: c.outputDir + "/logs")
        var lastCheckpoint: String? = resumedFrom
        var lastLoss: Float?
        let schedule = c.schedule
        let b = c.trainBatchSize

        func checkpoint() throws(DiffusionError) {
            let moments = optimizer.state
            var opt: [String: Tensor] = [:]
            for ((name, p), mv) in Swift.zip(trainable, moments.moments) {
                guard let mv else { continue }
                opt["m." + name] = Tensor(shape: p.shape, data: mv.m)
                opt["v." + name] = Tensor(shape: p.shape, data: mv.v)
            }
            opt["step"] = Tensor(scalar: Float(moments.step))
            let state = TrainingState(step: step, rng: rng, dataCursor: cursor, configDigest: configDigest, lastLoss: lastLoss)
            lastCheckpoint = try store.write(trainable: Dictionary(uniqueKeysWithValues: trainable.map { ($0.0, $0.1) }), optimizer: opt,
                                             state: state, totalLimit: c.checkpointsTotalLimit)
            // The logs are as current as the checkpoint (a stopped run keeps its curves).
            try events.flush()
        }

        while step < c.maxTrainSteps {
            if isCancelled() {
                try checkpoint()
                throw .cancelled
            }
            let stepStart = Date()
            var instanceSum: Float = 0, priorSum: Float = 0
            for _ in 0..<c.gradientAccumulationSteps {
                var x: [Tensor] = [], prompts: [String] = []
                for j in 0..<b {
                    let k = order(cursor + j, count: instances.images.count, salt: 1)
                    x.append(try latents(instances.images, k, kind: "instance"))
                    prompts.append(instancePrompts[k])
                }
                if c.withPriorPreservation {
                    for j in 0..<b {
                        let k = order(cursor + j, count: classImages.count, salt: 2)
                        x.append(try latents(classImages, k, kind: "class"))
                        prompts.append(classPrompts[k])
                    }
                }
                cursor += b
                // bf16: the UNet's (and text encoder's) matrix products take bf16 operands, forward and
                // backward; weights, gradients and AdamW state stay fp32 (see MatmulPrecision).
                try MatmulPrecision.run(c.matmulPrecision) { () throws(DiffusionError) in
                let x0 = try neural { () throws(NeuralError) in try Tensor.concat(x, dim: 0) }
                let context: Tensor
                if c.trainTextEncoder {
                    context = try model.textEncoder(prompts.map { model.tokenizer.encode($0).ids })
                } else {
                    context = try neural { () throws(NeuralError) in try Tensor.concat(prompts.map { frozenContext[$0]! }, dim: 0) }
                }
                let draw = objective.draw(latentShape: x0.shape, rng: &rng)
                let (loss, instanceLoss, priorLoss) = try neural { () throws(NeuralError) -> (Tensor, Float, Float) in
                    let perSample = try objective.perSampleLoss(unet: model.unet, latents: x0, context: context, draw: draw)
                    let inst = try perSample.sliced(dim: 0, start: 0, length: b).mean()
                    guard c.withPriorPreservation else { return (inst, inst.item, 0) }
                    let prior = try perSample.sliced(dim: 0, start: b, length: b).mean()
                    return (try inst.add(prior.scaled(c.priorLossWeight)), inst.item, prior.item)
                }
                guard loss.item.isFinite else {
                    throw .training("the loss became \(loss.item) at step \(step + 1); nothing was updated and the last checkpoint (\(lastCheckpoint ?? "none")) is intact — lower learning_rate or check the images")
                }
                loss.scaled(1 / Float(c.gradientAccumulationSteps)).backward()
                instanceSum += instanceLoss
                priorSum += priorLoss
                }
            }
            let gradNorm = clipGradNorm(trainable.map(\.1), maxNorm: c.maxGradNorm)
            guard gradNorm.isFinite else {
                throw .training("the gradient became \(gradNorm) at step \(step + 1); nothing was updated and the last checkpoint (\(lastCheckpoint ?? "none")) is intact")
            }
            let lr = c.learningRate * schedule.factor(step: step)
            optimizer.update(lr: lr)
            for (_, p) in trainable { p.grad = nil }
            step += 1
            let n = Float(c.gradientAccumulationSteps)
            let metrics = TrainingMetrics(step: step, loss: (instanceSum + c.priorLossWeight * priorSum) / n, instanceLoss: instanceSum / n,
                                          priorLoss: c.withPriorPreservation ? priorSum / n : nil, learningRate: lr, gradNorm: gradNorm,
                                          stepTime: Date().timeIntervalSince(stepStart))
            lastLoss = metrics.loss
            try appendMetrics(metrics, to: metricsURL)
            events.scalars(step: step, ["loss": metrics.loss, "instance_loss": metrics.instanceLoss, "learning_rate": lr,
                                        "grad_norm": gradNorm, "step_time": Float(metrics.stepTime)].merging(metrics.priorLoss.map { ["prior_loss": $0] } ?? [:]) { a, _ in a })
            progress(Progress(phase: .training, done: step, total: c.maxTrainSteps, metrics: metrics))
            if step % c.checkpointingSteps == 0 || step == c.maxTrainSteps { try checkpoint() }
            if !c.validationPrompts.isEmpty, step % c.validationSteps == 0, step < c.maxTrainSteps {
                progress(Progress(phase: .validation, done: step, total: c.maxTrainSteps, metrics: nil))
                let grid = try sampleGrid(pipeline, prompts: c.validationPrompts, to: c.outputDir + "/samples/step-\(step).png")
                events.image(step: step, tag: "validation", grid)
            }
        }
        try events.flush()

        // Export: adapters folded into the weights, so the folder is a plain diffusers model.
        progress(Progress(phase: .export, done: step, total: c.maxTrainSteps, metrics: nil))
        if c.useLora {
            var adapters: [String: Tensor] = [:]
            for (name, layer) in model.unet.attentionProjections {
                if let l = layer.lora { for (k, t) in l.namedParameters { adapters["unet.\(name).\(k)"] = t } }
                layer.mergeLoRA()
            }
            do { try SafeTensors.write(adapters, to: c.outputDir + "/lora.safetensors") } catch { throw .io("cannot write the LoRA weights: \(error)") }
        }
        let modelDir = c.outputDir + "/model"
        try model.save(to: modelDir, dtype: .f32)
        let prompts = c.validationPrompts.isEmpty ? [c.resolvedInstancePrompt] : c.validationPrompts
        let gridPath = c.outputDir + "/samples/final.png"
        let grid = try sampleGrid(pipeline, prompts: prompts, to: gridPath)
        events.image(step: step, tag: "final", grid)
        try events.flush()
        let summary = DreamBoothSummary(
            outputDir: c.outputDir, modelDir: modelDir, sampleGrid: gridPath, steps: step, resumedFrom: resumedFrom,
            trainTextEncoder: c.trainTextEncoder, mixedPrecision: c.matmulPrecision == .bf16 ? "bf16" : "fp32",
            useLora: c.useLora, priorPreservation: c.withPriorPreservation,
            trainableParameters: trainable.reduce(0) { $0 + $1.1.count }, classImages: classImages.count, classImagesGenerated: generated,
            instanceImages: instances.images.count, finalLoss: lastLoss, lastCheckpoint: lastCheckpoint,
            seconds: Date().timeIntervalSince(started), warnings: warnings)
        try writeJSON(summary, to: c.outputDir + "/summary.json")
        return summary
    }

    func restore(trainable: [(String, Tensor)], optimizer: AdamW, from saved: (trainable: [String: Tensor], optimizer: [String: Tensor], state: TrainingState)) throws(DiffusionError) {
        var problems: [String] = []
        for (name, p) in trainable {
            guard let t = saved.trainable[name] else { problems.append("\(name) missing"); continue }
            guard t.shape == p.shape else { problems.append("\(name) has shape \(t.shape), expected \(p.shape)"); continue }
            p.data = t.data
        }
        guard problems.isEmpty else { throw .weights(problems) }
        let moments: [(m: [Float], v: [Float])?] = trainable.map { name, _ in
            guard let m = saved.optimizer["m." + name], let v = saved.optimizer["v." + name] else { return nil }
            return (m.data, v.data)
        }
        let optimizerStep = Int(saved.optimizer["step"]?.item ?? Float(saved.state.step))
        try neural { () throws(NeuralError) in try optimizer.restore(AdamW.State(step: optimizerStep, moments: moments)) }
    }

    /// One image per prompt (seeded by position), as a grid PNG; returns the grid.
    func sampleGrid(_ pipeline: StableDiffusionPipeline, prompts: [String], to path: String) throws(DiffusionError) -> PNGImage {
        var images: [Tensor] = []
        for (i, prompt) in prompts.enumerated() {
            var request = GenerationRequest(prompt: prompt)
            request.steps = config.validationInferenceSteps
            request.guidance = config.validationGuidance
            request.seed = config.seed &+ UInt32(i)
            let out = try pipeline.generate(request).images
            images.append(Tensor(shape: Array(out.shape.dropFirst()), data: out.data))
        }
        let grid = PNGImage.grid(images, columns: min(8, images.count))
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try grid.write(to: path)
        } catch { throw .io("cannot write '\(path)': \(error)") }
        return grid
    }

    func appendMetrics(_ m: TrainingMetrics, to url: URL) throws(DiffusionError) {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        do {
            var line = try encoder.encode(m)
            line.append(0x0a)
            if let h = try? FileHandle(forWritingTo: url) {
                defer { try? h.close() }
                try h.seekToEnd()
                try h.write(contentsOf: line)
            } else {
                try line.write(to: url)
            }
        } catch { throw .io("cannot append to '\(url.path)': \(error.localizedDescription)") }
    }

    func writeJSON<T: Encodable>(_ value: T, to path: String) throws(DiffusionError) {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(value).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .io("cannot write '\(path)': \(error.localizedDescription)")
        }
    }
}
