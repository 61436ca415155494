import ArgumentParser
import Diffusion
import Foundation
import JSONSchema
import Neural
#if canImport(Glibc)
import Glibc
#endif

/// `atelier bench diffusion`: random-weight Stable Diffusion parts of a given shape, timed as the
/// sampler uses them; prints one JSON line {config, size, stepSeconds, decodeSeconds, textSeconds, peakRSSMB, parameters}.
struct DiffusionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diffusion",
        abstract: "Time a guided UNet step (batch 2), a VAE decode and a text encoding with random weights.")

    enum Shape: String, ExpressibleByArgument { case tiny, sd15 }

    @Option(name: .long, help: "tiny: the parity-test config; sd15: Stable Diffusion 1.5's UNet and VAE shapes.") var config: Shape = .tiny
    @Option(name: .long, help: "Image size in pixels (square).") var size: Int = 64
    @Option(name: .long, help: "Timed repetitions after one warm-up.") var `repeat`: Int = 3
    @Option(name: .long, help: "BLAS threads.") var threads: Int = 2
    @Flag(name: .long, help: "Skip the VAE decode.") var noDecode = false

    func run() throws {
        BLASStartup.ensureKernelSelected(arguments: CommandLine.arguments)
        BLAS.threads = threads
        var initializer = ParameterInit.random(NumPyRandom(seed: 0))
        let unetConfig: UNet2DConditionConfig, vaeConfig: AutoencoderKLConfig, textConfig: CLIPTextConfig
        switch config {
        case .tiny:
            unetConfig = UNet2DConditionConfig(blockOutChannels: [32, 64], downBlockTypes: ["DownBlock2D", "CrossAttnDownBlock2D"],
                                               upBlockTypes: ["CrossAttnUpBlock2D", "UpBlock2D"], crossAttentionDim: 32)
            vaeConfig = AutoencoderKLConfig(blockOutChannels: [32, 64])
            textConfig = CLIPTextConfig(hiddenSize: 32, intermediateSize: 37, numHiddenLayers: 5, numAttentionHeads: 4)
        case .sd15:
            unetConfig = UNet2DConditionConfig(blockOutChannels: [320, 640, 1280, 1280],
                                               downBlockTypes: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                                               upBlockTypes: ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                                               crossAttentionDim: 768)
            vaeConfig = AutoencoderKLConfig(blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2)
            textConfig = CLIPTextConfig(hiddenSize: 768, intermediateSize: 3072, numHiddenLayers: 12, numAttentionHeads: 12)
        }
        let unet = try UNet2DConditionModel(config: unetConfig, initializer: &initializer)
        let vae = try AutoencoderKL(config: vaeConfig, initializer: &initializer)
        let text = try CLIPTextModel(config: textConfig, initializer: &initializer)
        for m in [unet, vae, text] as [Module] { m.setFrozen(true) }
        var rng = NumPyRandom(seed: 1)
        let f = vaeConfig.downsampling, latent = size / f
        let ids = [[49406] + Array(repeating: 320, count: 8) + Array(repeating: 49407, count: 68)]
        func time(_ body: () throws -> Void) rethrows -> Double {
            var times: [Double] = []
            for _ in 0..<(`repeat` + 1) {
                let start = Date()
                try body()
                times.append(Date().timeIntervalSince(start))
            }
            times.removeFirst()
            return times.sorted()[times.count / 2]
        }
        let textSeconds = try time { _ = try text(ids + ids) }
        let context = rng.normal([2, 77, textConfig.hiddenSize])
        let sample = rng.normal([2, unetConfig.inChannels, latent, latent])
        let stepSeconds = try time { _ = try unet(sample, timesteps: [500, 500], context: context) }
        let z = rng.normal([1, vaeConfig.latentChannels, latent, latent])
        let decodeSeconds = noDecode ? 0 : try time { _ = try vae.decode(z) }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let parameters = ([unet, vae, text] as [Module]).reduce(0) { $0 + $1.parameters.reduce(0) { $0 + $1.count } }
        print(JSONWriter.string(.object(JSONObject([
            ("config", .string(config.rawValue)), ("size", JSONValue(size)), ("stepSeconds", JSONValue(stepSeconds)),
            ("decodeSeconds", JSONValue(decodeSeconds)), ("textSeconds", JSONValue(textSeconds)),
            ("peakRSSMB", JSONValue(Double(usage.ru_maxrss) / 1024)), ("parameters", JSONValue(parameters)),
            ("backend", .string("\(BLAS.backendName), \(BLAS.threads) threads")),
        ]))))
    }
}
