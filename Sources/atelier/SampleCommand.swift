import ArgumentParser
import Diffusion
import Foundation
import Text

extension SchedulerKind: ExpressibleByArgument {}

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate images from text with a Stable Diffusion model (diffusers folder), on the CPU.",
        discussion: "Writes NNNNN-SEED-I.png and NNNNN-SEED.json (every parameter, enough to make the images again) into --out; prints the JSON report on stdout.")

    @Option(name: .long, help: "A diffusers-layout model folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/) or an SD 1.x single-file .safetensors checkpoint.") var model: String
    @Option(name: .long, help: "What to draw.") var prompt: String
    @Option(name: .long, help: "What to steer away from.") var negativePrompt: String = ""
    @Option(name: .long, help: "Denoising steps.") var steps: Int = 30
    @Option(name: .long, help: "Classifier-free guidance scale (1 turns guidance off).") var guidance: Float = 7.5
    @Option(name: .long, help: "ddim, ddpm, euler, euler_a or dpmpp_2m (default: the model's own).") var scheduler: SchedulerKind?
    @Option(name: .long, help: "Random seed; the same seed and parameters give the same images.") var seed: UInt32 = 0
    @Option(name: .long, help: "Images to generate.") var numImages: Int = 1
    @Option(name: .long, help: "Height in pixels (multiple of 8; default: the model's native size).") var height: Int?
    @Option(name: .long, help: "Width in pixels (multiple of 8; default: the model's native size).") var width: Int?
    @Option(name: .long, help: "DDIM eta (0 = deterministic).") var eta: Float = 0
    @Option(name: .long, help: "Text-encoder layers to skip from the end (1 = penultimate layer).") var clipSkip: Int = 0
    @Option(name: .long, help: "Image-to-image: a PNG to start from.") var initImage: String?
    @Option(name: .long, help: "Image-to-image: how much to change the init image, 0–1.") var strength: Float = 0.8
    @Option(name: .long, help: "Start from these latents (safetensors, tensor 'latents') instead of seeded noise.") var latentsIn: String?
    @Option(name: .long, help: "Also save the final latents (safetensors).") var latentsOut: String?
    @Option(name: .long, help: "Output folder.") var out: String
    @Option(name: .long, help: "CLIP BPE vocabulary for models without tokenizer/ (default: the bootstrap's copy).") var vocabulary: String?
    @Option(name: .long, help: "Log level on stderr: error, warning, info, debug.") var logLevel: LogLevel = .info

    func run() throws {
        Log.level = logLevel
        var request = GenerationRequest(prompt: prompt)
        request.negativePrompt = negativePrompt
        request.steps = steps
        request.guidance = guidance
        request.scheduler = scheduler
        request.seed = seed
        request.numImages = numImages
        request.height = height
        request.width = width
        request.eta = eta
        request.clipSkip = clipSkip
        request.strength = strength
        var run = SampleRun(request: request, outputDirectory: out)
        run.initImage = initImage
        run.latentsIn = latentsIn
        run.latentsOut = latentsOut
        let report: SampleRun.Report
        do {
            let started = Date()
            let model = try StableDiffusionModel.load(self.model, bpeVocabulary: vocabulary ?? CLIPTokenizer.bootstrapVocabulary)
            Log.info(String(format: "loaded %@ in %.1f s", self.model, Date().timeIntervalSince(started)))
            let bar = ProgressBar(label: "sampling")
            report = try run.run(pipeline: StableDiffusionPipeline(model: model), progress: bar.update)
            bar.finish()
        } catch {
            throw ValidationError("\(error)")
        }
        for w in report.warnings { Log.warning(w) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }
}

/// A one-line progress bar on stderr when it is a terminal; silent otherwise (logs and pipes stay clean).
final class ProgressBar {
    let label: String
    let enabled = isatty(STDERR_FILENO) == 1
    let started = Date()

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) { update(done, total, detail: nil) }

    /// `detail` (a loss, say) is shown after the counts, with the rate per second.
    func update(_ done: Int, _ total: Int, detail: String?) {
        guard enabled, total > 0 else { return }
        let width = 30, filled = width * min(done, total) / total
        let elapsed = Date().timeIntervalSince(started)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let extra = detail.map { "  \($0)" } ?? ""
        FileHandle.standardError.write(Data(String(format: "\r%@ %@ %d/%d%@  %.2f/s  %.1fs elapsed, ~%.1fs left ", label, bar, done, total, extra, rate, elapsed, eta).utf8))
    }

    func finish() { if enabled { FileHandle.standardError.write(Data("\n".utf8)) } }
}
