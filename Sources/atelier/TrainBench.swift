import ArgumentParser
import Diffusion
import Foundation
import JSONSchema
import Neural
#if canImport(Glibc)
import Glibc
#endif

/// `atelier bench train`: one DreamBooth training step with prior preservation (instance and class
/// examples in one batch, the UNet's forward and backward, gradient clipping, AdamW) on a random-weight
/// UNet; prints one JSON line {config, size, lora, stepSeconds, peakRSSMB, trainableParameters}.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time a DreamBooth training step (prior preservation, AdamW) with random weights.")

    enum Shape: String, ExpressibleByArgument { case shapes, sd15 }

    @Option(name: .long, help: "shapes: the embedded model's UNet; sd15: Stable Diffusion 1.5's UNet.") var config: Shape = .shapes
    @Option(name: .long, help: "Image size in pixels (latents are size/8 for sd15, size/2 for shapes).") var size: Int = 32
    @Option(name: .long, help: "Instance examples per step (as many class examples are added).") var batch: Int = 1
    @Option(name: .long, help: "Timed steps after one warm-up.") var `repeat`: Int = 3
    @Option(name: .long, help: "BLAS threads.") var threads: Int = 2
    @Flag(name: .long, help: "Train rank-4 LoRA adapters on the attention projections instead of the whole UNet.") var lora = false
    @Flag(name: .long, help: "Gradient checkpointing: recompute each UNet unit on the backward pass.") var gradientCheckpointing = false
    @Flag(name: .long, help: "bf16 mixed precision: bf16 operands in the matrix products, fp32 weights and state.") var bf16 = false

    func run() throws {
        BLASStartup.ensureKernelSelected(arguments: CommandLine.arguments)
        BLAS.threads = threads
        var initializer = ParameterInit.random(NumPyRandom(seed: 0))
        let unetConfig: UNet2DConditionConfig
        let factor: Int
        switch config {
        case .shapes:
            unetConfig = ShapesPretrainConfig().unet
            factor = ShapesPretrainConfig().vae.downsampling
        case .sd15:
            unetConfig = UNet2DConditionConfig(blockOutChannels: [320, 640, 1280, 1280],
                                               downBlockTypes: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                                               upBlockTypes: ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                                               crossAttentionDim: 768)
            factor = 8
        }
        let unet = try UNet2DConditionModel(config: unetConfig, initializer: &initializer)
        unet.gradientCheckpointing = gradientCheckpointing
        var rng = NumPyRandom(seed: 1)
        var trainable: [Tensor]
        if lora {
            unet.setFrozen(true)
            trainable = []
            for (_, layer) in unet.attentionProjections {
                let adapter = LoRA(inFeatures: layer.weight.shape[1], outFeatures: layer.weight.shape[0], rank: 4, alpha: 4, rng: &rng)
                layer.lora = adapter
                trainable += adapter.parameters
            }
        } else {
            trainable = unet.trainableParameters
        }
        let optimizer = AdamW(trainable, lr: 5e-6)
        let objective = try NoisePredictionObjective(scheduler: .stableDiffusion)
        let latent = size / factor
        let latents = rng.normal([2 * batch, unetConfig.inChannels, latent, latent])
        let context = rng.normal([2 * batch, 77, unetConfig.crossAttentionDim])
        var times: [Double] = []
        for _ in 0..<(`repeat` + 1) {
            let start = Date()
            let draw = objective.draw(latentShape: latents.shape, rng: &rng)
            try MatmulPrecision.run(bf16 ? .bf16 : .fp32) { () throws(NeuralError) in
                let perSample = try objective.perSampleLoss(unet: unet, latents: latents, context: context, draw: draw)
                let loss = try perSample.sliced(dim: 0, start: 0, length: batch).mean().add(perSample.sliced(dim: 0, start: batch, length: batch).mean())
                loss.backward()
            }
            clipGradNorm(trainable, maxNorm: 1)
            optimizer.update()
            for p in trainable { p.grad = nil }
            times.append(Date().timeIntervalSince(start))
        }
        times.removeFirst()
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print(JSONWriter.string(.object(JSONObject([
            ("config", .string(config.rawValue)), ("size", JSONValue(size)), ("lora", .bool(lora)), ("gradientCheckpointing", .bool(gradientCheckpointing)), ("bf16", .bool(bf16)), ("batch", JSONValue(batch)),
            ("stepSeconds", JSONValue(times.sorted()[times.count / 2])), ("peakRSSMB", JSONValue(Double(usage.ru_maxrss) / 1024)),
            ("trainableParameters", JSONValue(trainable.reduce(0) { $0 + $1.count })),
            ("backend", .string("\(BLAS.backendName), \(BLAS.threads) threads")),
        ]))))
    }
}
