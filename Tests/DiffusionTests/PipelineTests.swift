import Diffusion
import Foundation
import Neural
import XCTest

/// The pipeline's contract beyond numeric parity: reproducible seeds, image-to-image, clear errors
/// before compute, cancellation, and files that hold everything needed to make an image again.
final class PipelineTests: XCTestCase {
    func pipeline() throws -> StableDiffusionPipeline {
        if ModelParityTests.cached == nil { ModelParityTests.cached = try StableDiffusionModel(folder: Fixtures.tinySD) }
        return StableDiffusionPipeline(model: ModelParityTests.cached!)
    }

    func request(_ prompt: String = "a photo of a red star", steps: Int = 3, seed: UInt32 = 7) -> GenerationRequest {
        var r = GenerationRequest(prompt: prompt)
        r.steps = steps
        r.seed = seed
        r.width = 32
        r.height = 32
        return r
    }

    func testTheSameSeedGivesTheSameImagesAndAnotherSeedDoesNot() throws {
        let p = try pipeline()
        let a = try p.generate(request()), b = try p.generate(request())
        XCTAssertEqual(a.images.data, b.images.data)
        let c = try p.generate(request(seed: 8))
        XCTAssertNotEqual(a.images.data, c.images.data)
        XCTAssertEqual(a.images.shape, [1, 3, 32, 32])
        XCTAssertTrue(a.images.data.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testEverySchedulerRunsAndNegativePromptChangesTheResult() throws {
        let p = try pipeline()
        for kind in SchedulerKind.allCases {
            var r = request()
            r.scheduler = kind
            let out = try p.generate(r)
            XCTAssertEqual(out.scheduler, kind)
            XCTAssertTrue(out.latents.data.allSatisfy(\.isFinite), "\(kind)")
        }
        var negative = request()
        negative.negativePrompt = "blue"
        XCTAssertNotEqual(try p.generate(negative).latents.data, try p.generate(request()).latents.data)
    }

    func testImageToImageStartsPartWayAndKeepsTheInitImagesLayout() throws {
        let p = try pipeline()
        var r = request(steps: 10)
        r.strength = 0.3
        let initImage = Tensor(shape: [1, 3, 32, 32], data: (0..<(3 * 32 * 32)).map { Float($0 % 32) / 31 })
        let out = try p.generate(r, initImage: initImage)
        XCTAssertEqual(out.timesteps.count, 3, "strength 0.3 of 10 steps runs the last 3")
        r.strength = 0
        XCTAssertThrowsError(try p.generate(r, initImage: initImage))
    }

    func testBadRequestsFailBeforeComputeWithClearMessages() throws {
        let p = try pipeline()
        var r = request()
        r.width = 30
        XCTAssertThrowsError(try p.generate(r)) { XCTAssertTrue("\($0)".contains("multiples of 8"), "\($0)") }
        r = request()
        r.steps = 0
        XCTAssertThrowsError(try p.generate(r)) { XCTAssertTrue("\($0)".contains("steps"), "\($0)") }
        r = request()
        r.width = 4096
        r.height = 4096
        r.numImages = 16
        p.memoryLimit = 1 << 30
        XCTAssertThrowsError(try p.generate(r)) { XCTAssertTrue("\($0)".contains("working memory"), "\($0)") }
        XCTAssertThrowsError(try StableDiffusionModel(folder: "/nonexistent/model")) { XCTAssertTrue("\($0)".contains("does not exist"), "\($0)") }
        let partial = FileManager.default.temporaryDirectory.appendingPathComponent("partial-model-\(getpid())")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: partial) }
        XCTAssertThrowsError(try StableDiffusionModel(folder: partial.path)) { XCTAssertTrue("\($0)".contains("no text_encoder/"), "\($0)") }
    }

    func testWeightsThatDoNotFitTheConfigAreNamedInOneError() throws {
        let fm = FileManager.default
        let copy = fm.temporaryDirectory.appendingPathComponent("mismatched-model-\(getpid())")
        try? fm.removeItem(at: copy)
        try fm.copyItem(at: URL(fileURLWithPath: Fixtures.tinySD), to: copy)
        defer { try? fm.removeItem(at: copy) }
        let config = copy.appendingPathComponent("unet/config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        json["cross_attention_dim"] = 16
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        XCTAssertThrowsError(try StableDiffusionModel(folder: copy.path)) { e in
            let message = "\(e)"
            XCTAssertTrue(message.contains("attn2.to_k.weight' has shape [64, 32], the config needs [64, 16]"), message)
            XCTAssertTrue(message.contains("more"), "every mismatch is counted: \(message)")
        }
    }

    func testLongPromptsAreTruncatedWithAWarning() throws {
        let out = try pipeline().generate(request(Array(repeating: "red star", count: 50).joined(separator: " "), steps: 1))
        XCTAssertEqual(out.warnings.count, 1)
        XCTAssertTrue(out.warnings[0].contains("only the first 75"), out.warnings[0])
    }

    func testCancellationStopsBetweenSteps() throws {
        var steps = 0
        XCTAssertThrowsError(try pipeline().generate(request(steps: 10), progress: { done, _ in steps = done }, isCancelled: { steps >= 2 })) { e in
            guard case DiffusionError.cancelled = e else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(steps, 2)
    }

    func testSampleRunWritesPNGsAndASidecarThatReproducesThem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sample-run-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        var run = SampleRun(request: request(), outputDirectory: dir.path)
        run.request.numImages = 2
        run.latentsOut = dir.appendingPathComponent("latents.safetensors").path
        let report = try run.run(pipeline: pipeline())
        XCTAssertEqual(report.images.count, 2)
        let png = try PNGImage(contentsOf: report.images[0])
        XCTAssertEqual(png.width, 32)
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report.sidecar))) as! [String: Any]
        XCTAssertEqual(sidecar["seed"] as? Int, 7)
        XCTAssertEqual(sidecar["prompt"] as? String, "a photo of a red star")
        XCTAssertEqual(sidecar["scheduler"] as? String, "ddim")
        XCTAssertEqual(try SafeTensors(path: run.latentsOut!).tensor("latents").shape, [2, 4, 16, 16])
        // A second run reads the saved latents as its starting point and never overwrites the first run's files.
        var again = SampleRun(request: request(), outputDirectory: dir.path)
        again.request.numImages = 2
        again.latentsIn = run.latentsOut
        let second = try again.run(pipeline: pipeline())
        XCTAssertNotEqual(second.images[0], report.images[0])
        XCTAssertEqual(second.latentsIn, run.latentsOut)
        again.request.numImages = 1
        XCTAssertThrowsError(try again.run(pipeline: pipeline())) { XCTAssertTrue("\($0)".contains("[1, 4, 16, 16]"), "\($0)") }
    }

    func testPNGRoundTrip() throws {
        let pixels = (0..<(5 * 3 * 3)).map { UInt8(($0 * 37) % 256) }
        let image = PNGImage(width: 5, height: 3, pixels: pixels)
        XCTAssertEqual(try PNGImage(data: image.pngData()), image)
        XCTAssertThrowsError(try PNGImage(data: Data("not a png".utf8))) { XCTAssertTrue("\($0)".contains("not a PNG"), "\($0)") }
        var truncated = image.pngData()
        truncated.removeLast(20)
        XCTAssertThrowsError(try PNGImage(data: truncated))
        // A header claiming 2×2 over a megapixel of compressed data is refused, not inflated.
        var bomb = PNGImage(width: 1000, height: 1000, pixels: [UInt8](repeating: 0, count: 3_000_000)).pngData()
        bomb.replaceSubrange(16..<24, with: [0, 0, 0, 2, 0, 0, 0, 2])
        XCTAssertThrowsError(try PNGImage(data: bomb)) { XCTAssertTrue("\($0)".contains("more than the expected"), "\($0)") }
    }
}
