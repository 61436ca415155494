import Foundation
import Neural
import Text

/// How well a model draws what a Shapes caption asks for, read by the oracle.
public struct ShapesBaseReport: Codable, Sendable {
    public struct Sample: Codable, Sendable {
        public let prompt: String
        public let wanted: ShapesScene
        /// nil when the oracle found no object.
        public let read: ShapesReading?
        public var shapeAndColorRight: Bool { read.map { $0.shape == wanted.shape && $0.color == wanted.color } ?? false }
    }

    public let model: String
    public let samples: Int
    /// The target: prompted shape and colour both recovered.
    public let shapeAndColorAccuracy: Double
    public let shapeAccuracy: Double
    public let colorAccuracy: Double
    public let sizeAccuracy: Double
    public let positionAccuracy: Double
    public let backgroundAccuracy: Double
    public let noObject: Int
    public let steps: Int
    public let guidance: Float
    public let scheduler: String
    public let seed: UInt32
    public let seconds: Double
    public let results: [Sample]
}

/// The Shapes world's measurements of a model.
public enum ShapesEvaluation {
    /// Where the bootstrap installs the embedded Shapes model.
    public static var embeddedModel: String { ModelStore.directory + "/shapes" }

    /// `count` held-out combinations (never seen in training), spread evenly over all of them.
    public static func heldOutScenes(count: Int) -> [ShapesScene] {
        let held = ShapesScene.all.filter(\.isHeldOut)
        guard count < held.count else { return held }
        return (0..<count).map { held[$0 * held.count / count] }
    }

    /// Generates one image per scene from its caption and reads it back. Returns the report and the
    /// images [3, H, W] in 0…1, in scene order.
    public static func evaluateBase(pipeline: StableDiffusionPipeline, scenes: [ShapesScene], steps: Int = 25, guidance: Float = 5,
                                    scheduler: SchedulerKind? = nil, seed: UInt32 = 0,
                                    progress: (Int, Int) -> Void = { _, _ in }) throws(DiffusionError) -> (ShapesBaseReport, [Tensor]) {
        let started = Date()
        let oracle = ShapesOracle(world: ShapesWorld(imageSize: pipeline.nativeSize))
        var samples: [ShapesBaseReport.Sample] = []
        var images: [Tensor] = []
        for (i, scene) in scenes.enumerated() {
            var request = GenerationRequest(prompt: scene.caption())
            request.steps = steps
            request.guidance = guidance
            request.scheduler = scheduler
            request.seed = seed &+ UInt32(i)
            let image = try pipeline.generate(request).images
            let one = try neural { () throws(NeuralError) -> Tensor in try image.reshaped(Array(image.shape.dropFirst())) }
            images.append(one)
            samples.append(.init(prompt: request.prompt, wanted: scene, read: oracle.read(one)))
            progress(i + 1, scenes.count)
        }
        let rates = AttributeRates(samples)
        let report = ShapesBaseReport(
            model: pipeline.model.folder, samples: samples.count,
            shapeAndColorAccuracy: rates.shapeAndColor, shapeAccuracy: rates.shape, colorAccuracy: rates.color,
            sizeAccuracy: rates.size, positionAccuracy: rates.position, backgroundAccuracy: rates.background,
            noObject: rates.noObject, steps: steps, guidance: guidance,
            scheduler: (scheduler ?? pipeline.model.defaultScheduler).rawValue, seed: seed,
            seconds: Date().timeIntervalSince(started), results: samples)
        return (report, images)
    }

    /// The ceiling a VAE puts on any sampler: renders `scenes`, encodes and decodes them (posterior
    /// means) and reads the reconstructions back. Returns the report and, per scene, the original
    /// and its reconstruction ([3, H, W] in 0…1).
    public static func evaluateAutoencoder(_ vae: AutoencoderKL, model: String, world: ShapesWorld, scenes: [ShapesScene],
                                           seed: UInt32 = 0) throws(NeuralError) -> (ShapesAutoencoderReport, [(Tensor, Tensor)]) {
        let oracle = ShapesOracle(world: world)
        var rng = NumPyRandom(seed: seed)
        var samples: [ShapesBaseReport.Sample] = []
        var pairs: [(Tensor, Tensor)] = []
        var error: Double = 0
        let n = world.imageSize, plane = 3 * n * n
        for start in stride(from: 0, to: scenes.count, by: 32) {
            let chunk = Array(scenes[start..<Swift.min(start + 32, scenes.count)])
            let originals = chunk.map { world.render($0, rng: &rng) }
            let input = Tensor(shape: [chunk.count, 3, n, n], data: originals.flatMap { $0.data.map { $0 * 2 - 1 } })
            let decoded = try Autograd.withoutGrad { () throws(NeuralError) -> Tensor in try vae.decode(vae.encode(input).mean) }
            for (i, scene) in chunk.enumerated() {
                let image = Tensor(shape: [3, n, n], data: decoded.data[i * plane..<(i + 1) * plane].map { Swift.min(Swift.max(($0 + 1) / 2, 0), 1) })
                error += Swift.zip(image.data, originals[i].data).reduce(0) { $0 + Double(abs($1.0 - $1.1)) }
                samples.append(.init(prompt: scene.caption(), wanted: scene, read: oracle.read(image)))
                pairs.append((originals[i], image))
            }
        }
        let rates = AttributeRates(samples)
        let report = ShapesAutoencoderReport(
            model: model, samples: samples.count, shapeAndColorAccuracy: rates.shapeAndColor, shapeAccuracy: rates.shape,
            colorAccuracy: rates.color, sizeAccuracy: rates.size, positionAccuracy: rates.position, backgroundAccuracy: rates.background,
            noObject: rates.noObject, meanAbsoluteError: samples.isEmpty ? 0 : error / Double(samples.count * plane), results: samples)
        return (report, pairs)
    }
}

/// How well a VAE keeps what the oracle reads: `ShapesEvaluation.evaluateAutoencoder`.
public struct ShapesAutoencoderReport: Codable, Sendable {
    public let model: String
    public let samples: Int
    public let shapeAndColorAccuracy: Double
    public let shapeAccuracy: Double
    public let colorAccuracy: Double
    public let sizeAccuracy: Double
    public let positionAccuracy: Double
    public let backgroundAccuracy: Double
    public let noObject: Int
    /// Per pixel and channel, in 0…1.
    public let meanAbsoluteError: Double
    public let results: [ShapesBaseReport.Sample]
}

/// The share of samples whose reading matches each wanted attribute (no reading counts as wrong).
struct AttributeRates {
    let shapeAndColor, shape, color, size, position, background: Double
    let noObject: Int

    init(_ samples: [ShapesBaseReport.Sample]) {
        func rate(_ right: (ShapesReading, ShapesScene) -> Bool) -> Double {
            guard !samples.isEmpty else { return 0 }
            return Double(samples.filter { s in s.read.map { right($0, s.wanted) } ?? false }.count) / Double(samples.count)
        }
        shapeAndColor = rate { $0.shape == $1.shape && $0.color == $1.color }
        shape = rate { $0.shape == $1.shape }
        color = rate { $0.color == $1.color }
        size = rate { $0.size == $1.size }
        position = rate { $0.position == $1.position }
        background = rate { $0.background == $1.background }
        noObject = samples.filter { $0.read == nil }.count
    }
}
