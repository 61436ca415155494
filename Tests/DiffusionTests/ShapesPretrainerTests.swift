import XCTest
import Neural
import Text
@testable import Diffusion

/// `atelier pretrain shapes` in miniature: both stages learn, the run is reproducible by seed, and the
/// export is a diffusers folder that the sampler loads back.
final class ShapesPretrainerTests: XCTestCase {
    func tokenizer() throws -> CLIPTokenizer {
        try CLIPTokenizer(bpeFile: XCTUnwrap(CLIPTokenizer.bootstrapVocabulary, "the bootstrap installs the CLIP vocabulary"))
    }

    func smallConfig() -> ShapesPretrainConfig {
        var c = ShapesPretrainConfig()
        c.vaeSteps = 40
        c.vaeBatch = 4
        c.datasetSize = 32
        c.unetSteps = 6
        c.unetBatch = 4
        c.warmupSteps = 2
        return c
    }

    func testTrainingLearnsIsReproducibleAndExportsALoadableModel() throws {
        let tokenizer = try tokenizer()
        var vaeLosses: [Float] = [], unetLosses: [Float] = []
        let pretrainer = ShapesPretrainer(config: smallConfig(), tokenizer: tokenizer)
        let model = try pretrainer.run { p in
            if p.stage == "vae" { vaeLosses.append(p.loss) }
            if p.stage == "unet" { unetLosses.append(p.loss) }
        }
        XCTAssertEqual(vaeLosses.count, 40)
        XCTAssertEqual(unetLosses.count, 6)
        XCTAssertLessThan(vaeLosses.suffix(5).reduce(0, +), vaeLosses.prefix(5).reduce(0, +) * 0.8, "the VAE's reconstruction improves")
        XCTAssertTrue(unetLosses.allSatisfy(\.isFinite))
        XCTAssertNotEqual(model.vae.config.scalingFactor, 1, "the latent scale is measured, as Stable Diffusion's was")
        let ceiling = try XCTUnwrap(pretrainer.autoencoderAccuracy, "a run that trains the VAE measures its round trip")
        XCTAssert((0...1).contains(ceiling))

        // Same seed, same weights.
        let again = try ShapesPretrainer(config: smallConfig(), tokenizer: tokenizer).run()
        XCTAssertEqual(again.unet.namedParameters.map(\.1.data), model.unet.namedParameters.map(\.1.data))

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shapes-export-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try model.save(to: folder)
        try model.save(to: folder)  // over an existing export
        let loaded = try StableDiffusionModel(folder: folder)
        XCTAssertEqual(loaded.vae.config, model.vae.config)
        XCTAssertEqual(loaded.unet.config, model.unet.config)
        XCTAssertEqual(loaded.textEncoder.config, model.textEncoder.config)
        for (name, p) in model.unet.namedParameters + model.vae.namedParameters + model.textEncoder.namedParameters {
            let q = try XCTUnwrap((loaded.unet.namedParameters + loaded.vae.namedParameters + loaded.textEncoder.namedParameters).first { $0.0 == name }?.1)
            for (a, b) in zip(p.data, q.data) where abs(a - b) > 1e-3 * max(1, abs(a)) {
                XCTFail("\(name): \(a) saved as \(b)")
                break
            }
        }
        let caption = "a photo of a small red star on the left on a gray background"
        XCTAssertEqual(loaded.tokenizer.encode(caption), tokenizer.encode(caption), "the exported tokenizer/ tokenizes alike")
        var request = GenerationRequest(prompt: caption)
        request.steps = 2
        let image = try StableDiffusionPipeline(model: loaded).generate(request).images
        XCTAssertEqual(image.shape, [1, 3, 32, 32])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)
            .filter { $0.hasPrefix(".shapes-export-\(getpid())") }
        XCTAssertEqual(leftovers, [], "no staging or previous folders are left behind")
    }

    func testTheUNetLossWeighsTheLatentPixelsUnderTheObject() throws {
        let pretrainer = ShapesPretrainer(config: ShapesPretrainConfig(), tokenizer: try tokenizer())
        let scene = ShapesScene(shape: .star, color: .red, size: .small, position: .left, background: .gray)
        var rng = NumPyRandom(seed: 1)
        let image = pretrainer.batch([scene], rng: &rng)
        let mask = pretrainer.latentObjectMask(image, scenes: [scene])
        XCTAssertEqual(mask.count, 16 * 16, "one flag per pixel of the 16×16 latent")
        let covered = mask.filter { $0 }.count
        XCTAssert((6...40).contains(covered), "a small star covers a few latent pixels, not \(covered)")
        XCTAssertEqual(mask.firstIndex(of: true).map { $0 % 16 < 8 }, true, "on the left half")

        let table = LatentTable(shape: [4, 16, 16], means: [Float](repeating: 0, count: 4 * 256), stds: [Float](repeating: 0, count: 4 * 256),
                                objectMasks: mask)
        let weights = table.objectWeights([0], extra: 4, balanced: false)
        XCTAssertEqual(weights.shape, [1, 4, 16, 16])
        XCTAssertEqual(weights.data.reduce(0, +) / Float(weights.count), 1, accuracy: 1e-4, "normalised: the loss keeps its scale")
        let on = mask.firstIndex(of: true)!, off = mask.firstIndex(of: false)!
        for c in 0..<4 { XCTAssertEqual(weights.data[c * 256 + on] / weights.data[c * 256 + off], 5, accuracy: 1e-4, "every channel, 1 + 4 under the object") }
    }

    func testAreaBalanceGivesASmallObjectAsMuchWeightInAllAsALargeOne() throws {
        let pretrainer = ShapesPretrainer(config: ShapesPretrainConfig(), tokenizer: try tokenizer())
        let small = ShapesScene(shape: .star, color: .red, size: .small, position: .left, background: .gray)
        let large = ShapesScene(shape: .star, color: .red, size: .large, position: .right, background: .gray)
        var rng = NumPyRandom(seed: 1)
        let images = pretrainer.batch([small, large], rng: &rng)
        let mask = pretrainer.objectMask(images, scenes: [small, large])
        let plane = 32 * 32
        let areas = (0..<2).map { b in Float(mask[b * plane..<(b + 1) * plane].filter { $0 }.count) }
        XCTAssertLessThan(areas[0] * 2, areas[1], "the large star covers over twice the pixels")

        let extras = ShapesPretrainer.objectExtras(mask, images: 2, plane: plane, weight: 10, balanced: true)
        XCTAssertEqual(extras[0] * areas[0], extras[1] * areas[1], accuracy: 1e-2 * extras[1] * areas[1], "equal extra weight in all")
        XCTAssertEqual(ShapesPretrainer.objectExtras(mask, images: 2, plane: plane, weight: 10, balanced: false), [10, 10], "unbalanced: the same extra for all")

        let weights = pretrainer.objectWeights(images, scenes: [small, large])
        XCTAssertEqual(weights.data.reduce(0, +) / Float(weights.count), 1, accuracy: 1e-4, "still normalised to mean 1")
        let onSmall = mask.firstIndex(of: true)!, onLarge = mask[plane...].firstIndex(of: true)! - plane  // pixel index in image 1
        XCTAssertGreaterThan(weights.data[onSmall], weights.data[3 * plane + onLarge], "a small object's pixels weigh more each")
    }
}
