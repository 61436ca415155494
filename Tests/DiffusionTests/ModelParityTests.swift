import Diffusion
import Foundation
import Neural
import Text
import XCTest

/// Each model, loaded from the f16 diffusers folder, matches diffusers/transformers in f32 within 1e-3.
final class ModelParityTests: XCTestCase {
    static let tolerance: Float = 1e-3
    nonisolated(unsafe) static var cached: StableDiffusionModel?

    func model() throws -> StableDiffusionModel {
        if let m = Self.cached { return m }
        let m = try StableDiffusionModel(folder: Fixtures.tinySD)
        Self.cached = m
        return m
    }

    func testTextEncoderLastAndPenultimateLayers() throws {
        let m = try model()
        let ref = try Fixtures.tensors("reference.safetensors")
        let prompts = (try Fixtures.json("reference.json") as! [String: Any])["text_prompts"] as? [String] ?? ["a photo of a red star", ""]
        let ids = prompts.map { m.tokenizer.encode($0).ids }
        let last = try m.textEncoder(ids)
        XCTAssertLessThan(maxAbsDifference(last, try ref.tensor("text.last_hidden_state")), Self.tolerance)
        let penultimate = try m.textEncoder(ids, skipLayers: 1)
        XCTAssertLessThan(maxAbsDifference(penultimate, try ref.tensor("text.penultimate")), Self.tolerance)
    }

    func testUNetForwardSD1() throws {
        let m = try model()
        let ref = try Fixtures.tensors("reference.safetensors")
        let t = Float((try Fixtures.json("reference.json") as! [String: Any])["unet_timestep"] as? Double ?? 500)
        let sample = try ref.tensor("unet.sample"), context = try ref.tensor("unet.encoder_hidden_states")
        let out = try m.unet(sample, timesteps: Array(repeating: t, count: sample.shape[0]), context: context)
        XCTAssertLessThan(maxAbsDifference(out, try ref.tensor("unet.out")), Self.tolerance)
    }

    func testUNetForwardSD2LinearProjectionAndPerBlockHeads() throws {
        let dir = Fixtures.root.appendingPathComponent("unet-sd2").path
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let config = try decoder.decode(UNet2DConditionConfig.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json")))
        XCTAssertTrue(config.useLinearProjection)
        var zeros = ParameterInit.zeros
        let unet = try UNet2DConditionModel(config: config, initializer: &zeros)
        try unet.load(try SafeTensors(path: dir + "/diffusion_pytorch_model.safetensors").tensors())
        let ref = try Fixtures.tensors("reference.safetensors")
        let t = Float((try Fixtures.json("reference.json") as! [String: Any])["unet_timestep"] as? Double ?? 500)
        let sample = try ref.tensor("unet.sample"), context = try ref.tensor("unet.encoder_hidden_states")
        let out = try unet(sample, timesteps: Array(repeating: t, count: sample.shape[0]), context: context)
        XCTAssertLessThan(maxAbsDifference(out, try ref.tensor("unet_sd2.out")), Self.tolerance)
    }

    func testVAEEncodeDistributionAndDecode() throws {
        let m = try model()
        let ref = try Fixtures.tensors("reference.safetensors")
        let dist = try m.vae.encode(try ref.tensor("vae.image"))
        XCTAssertLessThan(maxAbsDifference(dist.mean, try ref.tensor("vae.mean")), Self.tolerance)
        XCTAssertLessThan(maxAbsDifference(dist.logVariance, try ref.tensor("vae.logvar")), Self.tolerance)
        let decoded = try m.vae.decode(try ref.tensor("vae.latents"))
        XCTAssertLessThan(maxAbsDifference(decoded, try ref.tensor("vae.decoded")), Self.tolerance)
    }

    func testWholePipelinesWithGuidanceMatchDiffusers() throws {
        let m = try model()
        let ref = try Fixtures.tensors("reference.safetensors")
        let info = try Fixtures.json("reference.json") as! [String: Any]
        let p = info["pipeline"] as? [String: Any] ?? [:]
        for (name, kind) in [("ddim", SchedulerKind.ddim), ("euler", .euler)] {
            var request = GenerationRequest(prompt: p["prompt"] as? String ?? "a photo of a red star")
            request.negativePrompt = p["negative_prompt"] as? String ?? "blurry"
            request.steps = p["num_inference_steps"] as? Int ?? 4
            request.guidance = Float(p["guidance_scale"] as? Double ?? 7.5)
            request.height = p["height"] as? Int ?? 32
            request.width = p["width"] as? Int ?? 32
            request.scheduler = kind
            let result = try StableDiffusionPipeline(model: m).generate(request, latents: try ref.tensor("pipeline.latents"))
            XCTAssertLessThan(maxAbsDifference(result.latents, try ref.tensor("pipeline.\(name).latents")), Self.tolerance, name)
            let image = try ref.tensor("pipeline.\(name).image").permuted([0, 3, 1, 2])
            XCTAssertLessThan(maxAbsDifference(result.images, image), Self.tolerance, name)
        }
    }
}

/// An original CompVis single-file checkpoint (keys validated against diffusers' converters) loads
/// into the same model as the diffusers folder.
final class SingleFileTests: XCTestCase {
    func testCompVisCheckpointLoadsTheSameWeightsAsTheFolder() throws {
        let file = Fixtures.root.appendingPathComponent("tiny-sd-single-file.safetensors").path
        let single = try StableDiffusionModel(checkpoint: file, configFolder: Fixtures.tinySD)
        let folder = try StableDiffusionModel(folder: Fixtures.tinySD)
        for (a, b) in zip([single.unet, single.vae, single.textEncoder] as [Module], [folder.unet, folder.vae, folder.textEncoder] as [Module]) {
            let pa = a.namedParameters, pb = b.namedParameters
            XCTAssertEqual(pa.map(\.0), pb.map(\.0))
            for (x, y) in zip(pa, pb) { XCTAssertEqual(x.1.data, y.1.data, x.0) }
        }
        let ref = try Fixtures.tensors("reference.safetensors")
        let out = try single.unet(try ref.tensor("unet.sample"), timesteps: [500, 500], context: try ref.tensor("unet.encoder_hidden_states"))
        XCTAssertLessThan(maxAbsDifference(out, try ref.tensor("unet.out")), 1e-3)
    }

    func testOtherFilesAreRefusedWithTheReason() throws {
        let file = Fixtures.root.appendingPathComponent("unet-sd2/diffusion_pytorch_model.safetensors").path
        XCTAssertThrowsError(try StableDiffusionModel(checkpoint: file)) { XCTAssertTrue("\($0)".contains("not a Stable Diffusion 1.x single-file checkpoint"), "\($0)") }
    }
}
