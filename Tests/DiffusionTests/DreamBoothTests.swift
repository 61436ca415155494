import XCTest
import Neural
import Text
@testable import Diffusion

/// The DreamBooth trainer on a tiny randomly initialised Shapes-architecture model: a resumed run is the
/// uninterrupted run bit for bit, class images are made once and reused, LoRA checkpoints hold only the
/// adapters, and the exported model loads into the sampler.
final class DreamBoothTests: XCTestCase {
    static let root = FileManager.default.temporaryDirectory.appendingPathComponent("dreambooth-tests-\(getpid())").path
    static var baseModel: String { root + "/base" }
    static var instances: String { root + "/instances" }

    override class func setUp() {
        super.setUp()
        do {
            let fm = FileManager.default
            try? fm.removeItem(atPath: root)
            try fm.createDirectory(atPath: instances, withIntermediateDirectories: true)
            var c = ShapesPretrainConfig()
            c.vaeSteps = 0
            c.unetSteps = 0
            c.datasetSize = 4
            let tokenizer = try CLIPTokenizer(bpeFile: CLIPTokenizer.bootstrapVocabulary!)
            try ShapesPretrainer(config: c, tokenizer: tokenizer).run().save(to: baseModel, dtype: .f32)
            for (i, image) in ShapesSubject.all[0].trainingImages().prefix(3).enumerated() {
                try PNGImage(tensor: Tensor(shape: [1] + image.shape, data: image.data)).write(to: instances + "/\(i).png")
            }
        } catch { fatalError("cannot prepare the DreamBooth fixtures: \(error)") }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
        super.tearDown()
    }

    func config(_ name: String, steps: Int = 6) -> DreamBoothConfig {
        var c = DreamBoothConfig(instanceDataDir: Self.instances, classNoun: "square", outputDir: Self.root + "/" + name)
        c.pretrainedModel = Self.baseModel
        c.numClassImages = 2
        c.classImageSteps = 2
        c.classDataDir = Self.root + "/class-images"
        c.learningRate = 1e-3
        c.maxTrainSteps = steps
        c.trainBatchSize = 2
        c.randomFlip = true
        c.checkpointingSteps = 3
        c.validationInferenceSteps = 2
        return c
    }

    func file(_ path: String) throws -> Data { try XCTUnwrap(FileManager.default.contents(atPath: path), path) }

    func testAResumedRunEqualsTheUninterruptedRunBitForBit() throws {
        let straight = try DreamBoothTrainer(config: config("straight"), bpeVocabulary: nil).run()
        XCTAssertEqual(straight.steps, 6)
        XCTAssertEqual(straight.classImages, 2)
        XCTAssertTrue(straight.priorPreservation)
        XCTAssertFalse(straight.trainTextEncoder, "the summary says the text encoder was not trained")

        // 3 steps, stopped (as `jobs/cancel` stops it), then resumed from `latest` for the other 3.
        var seen = 0
        XCTAssertThrowsError(try DreamBoothTrainer(config: config("resumed"), bpeVocabulary: nil).run(progress: { p in
            if p.phase == .training { seen = p.done }
        }, isCancelled: { seen >= 3 })) { error in
            guard case DiffusionError.cancelled = error else { return XCTFail("\(error)") }
        }
        let store = TrainingCheckpoint(outputDir: Self.root + "/resumed")
        XCTAssertEqual(store.latest.map { URL(fileURLWithPath: $0).lastPathComponent }, "checkpoint-3")
        let resumed = try DreamBoothTrainer(config: config("resumed"), bpeVocabulary: nil).run(resume: "latest")
        XCTAssertEqual(resumed.classImagesGenerated, 0, "class images are reused, not made again")
        XCTAssertNotNil(resumed.resumedFrom)
        for name in ["trainable.safetensors", "optimizer.safetensors"] {
            XCTAssertEqual(try file(Self.root + "/straight/checkpoints/checkpoint-6/" + name),
                           try file(Self.root + "/resumed/checkpoints/checkpoint-6/" + name), "\(name) differs after resuming")
        }
        let a = try TrainingCheckpoint.read(Self.root + "/straight/checkpoints/checkpoint-6").state
        let b = try TrainingCheckpoint.read(Self.root + "/resumed/checkpoints/checkpoint-6").state
        XCTAssertEqual(a, b)

        // The run's records: metrics per step, TensorBoard events, the exported model.
        let metrics = String(decoding: try file(Self.root + "/resumed/metrics.jsonl"), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(metrics.count, 6)
        XCTAssertTrue(metrics[0].contains("\"prior_loss\""))
        try assertTensorBoardReadsBack(Self.root + "/straight/logs", steps: 6)
        let exported = try StableDiffusionModel(folder: try XCTUnwrap(straight.modelDir))
        var request = GenerationRequest(prompt: "a photo of zwx square")
        request.steps = 2
        XCTAssertEqual(try StableDiffusionPipeline(model: exported).generate(request).images.shape, [1, 3, 32, 32])

        // A checkpoint of another run's settings is refused.
        var other = config("resumed")
        other.learningRate = 5e-4
        XCTAssertThrowsError(try DreamBoothTrainer(config: other, bpeVocabulary: nil).run(resume: "latest")) { e in
            XCTAssertTrue("\(e)".contains("other settings"), "\(e)")
        }
    }

    /// PyPI's `tensorboard` reads the event files: every scalar at every step, and the sample grid.
    func assertTensorBoardReadsBack(_ logs: String, steps: Int) throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = Process()
        p.executableURL = repo.appendingPathComponent(".venv/bin/python")
        p.arguments = [repo.appendingPathComponent("tools/tensorboard_readback.py").path, logs]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "tools/tensorboard_readback.py failed (run `make bootstrap`)")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let scalars = try XCTUnwrap(json["scalars"] as? [String: [[Double]]])
        for tag in ["loss", "instance_loss", "prior_loss", "learning_rate", "grad_norm", "step_time"] {
            XCTAssertEqual(scalars[tag]?.map { Int($0[0]) }, Array(1...steps), "scalar \(tag)")
        }
        let images = try XCTUnwrap(json["images"] as? [String: [[Double]]])
        XCTAssertEqual(images["final"]?.first?[1], 36, "the final grid (one 32-pixel sample and its gutters)")
    }

    func testCaptionFilesAndSeveralClassPromptsGiveEachImageItsOwnPrompt() throws {
        let fm = FileManager.default
        let photos = Self.root + "/captioned-photos"
        try fm.createDirectory(atPath: photos, withIntermediateDirectories: true)
        for i in 0..<3 { try fm.copyItem(atPath: Self.instances + "/\(i).png", toPath: photos + "/\(i).png") }
        try Data("a photo of a large zwx square in the center on a gray background\n".utf8).write(to: URL(fileURLWithPath: photos + "/0.txt"))
        try Data("a photo of a medium square on the left".utf8).write(to: URL(fileURLWithPath: photos + "/1.txt"))
        let read = try TrainingImages(folder: photos, resolution: 32)
        XCTAssertEqual(read.captions, ["a photo of a large zwx square in the center on a gray background", "a photo of a medium square on the left", nil],
                       "a caption file beside a photo is its prompt; a photo without one takes the instance prompt")

        var c = config("captioned", steps: 2)
        c.instanceDataDir = photos
        c.classDataDir = Self.root + "/class-images-varied"
        c.numClassImages = 3
        c.classPrompts = ["a photo of a red square", "a photo of a blue square"]
        let summary = try DreamBoothTrainer(config: c, bpeVocabulary: nil).run()
        XCTAssertEqual(summary.classImagesGenerated, 3)
        XCTAssertTrue(summary.warnings.contains { $0.contains("1.png") && $0.contains("does not contain the identifier") }, "\(summary.warnings)")
        let set = ClassImageSet(folder: try XCTUnwrap(c.classDataDir), prompts: c.resolvedClassPrompts, count: 3)
        XCTAssertEqual((0..<3).map(set.prompt), ["a photo of a red square", "a photo of a blue square", "a photo of a red square"], "prompts are cycled")
        XCTAssertEqual(String(decoding: try file(c.classDataDir! + "/class_prompt.txt"), as: UTF8.self), "a photo of a red square\na photo of a blue square")

        // Class images made with other prompts are not mistaken for these.
        var other = c
        other.outputDir = Self.root + "/captioned-other"
        other.classPrompts = ["a photo of a green square"]
        XCTAssertThrowsError(try DreamBoothTrainer(config: other, bpeVocabulary: nil).run()) { e in
            XCTAssertTrue("\(e)".contains("a photo of a red square\" | \"a photo of a blue square") && "\(e)".contains("class_data_dir"), "\(e)")
        }
        var empty = c
        empty.classPrompts = []
        XCTAssertTrue(empty.problems().contains { $0.contains("class_prompts") })
    }

    func testLoRACheckpointsHoldOnlyTheAdaptersAndTheExportMergesThem() throws {
        var c = config("lora", steps: 3)
        c.useLora = true
        c.loraRank = 2
        c.checkpointsTotalLimit = 1
        let summary = try DreamBoothTrainer(config: c, bpeVocabulary: nil).run()
        let saved = try TrainingCheckpoint.read(Self.root + "/lora/checkpoints/checkpoint-3")
        XCTAssertFalse(saved.trainable.isEmpty)
        XCTAssertTrue(saved.trainable.keys.allSatisfy { $0.contains("lora_") }, "only adapters are saved")
        XCTAssertEqual(TrainingCheckpoint(outputDir: Self.root + "/lora").steps, [3], "the total limit prunes older checkpoints")
        let base = try StableDiffusionModel(folder: Self.baseModel)
        let tuned = try StableDiffusionModel(folder: try XCTUnwrap(summary.modelDir))
        let q = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight"
        let before = try XCTUnwrap(base.unet.namedParameters.first { $0.0 == q }?.1)
        let after = try XCTUnwrap(tuned.unet.namedParameters.first { $0.0 == q }?.1)
        XCTAssertNotEqual(before.data, after.data, "the adapters are folded into the exported weights")
        let conv = "conv_in.weight"
        XCTAssertEqual(base.unet.namedParameters.first { $0.0 == conv }?.1.data, tuned.unet.namedParameters.first { $0.0 == conv }?.1.data,
                       "LoRA leaves everything else as it was")
    }

    func testCancellingBeforeTheFirstStepLeavesAResumableCheckpoint() throws {
        XCTAssertThrowsError(try DreamBoothTrainer(config: config("early"), bpeVocabulary: nil).run(isCancelled: { true }))
        let latest = try XCTUnwrap(TrainingCheckpoint(outputDir: Self.root + "/early").latest)
        XCTAssertEqual(try TrainingCheckpoint.read(latest).state.step, 0)
        XCTAssertEqual(try DreamBoothTrainer(config: config("early", steps: 1), bpeVocabulary: nil).run(resume: "latest").steps, 1)
    }

    func testADivergingRunStopsWithAClearMessageAndKeepsTheLastGoodCheckpoint() throws {
        var c = config("diverge", steps: 30)
        c.learningRate = 1e12
        c.checkpointingSteps = 1
        c.withPriorPreservation = false
        XCTAssertThrowsError(try DreamBoothTrainer(config: c, bpeVocabulary: nil).run()) { e in
            XCTAssertTrue("\(e)".contains("became"), "\(e)")
            XCTAssertTrue("\(e)".contains("intact"), "\(e)")
        }
        let latest = try XCTUnwrap(TrainingCheckpoint(outputDir: Self.root + "/diverge").latest)
        let saved = try TrainingCheckpoint.read(latest)
        XCTAssertTrue(saved.trainable.values.allSatisfy { $0.data.allSatisfy(\.isFinite) }, "the kept checkpoint holds finite weights")
    }

    func testGradientCheckpointingGivesTheSameGradients() throws {
        let model = try StableDiffusionModel(folder: Self.baseModel)
        let unet = model.unet
        unet.setFrozen(false)
        defer { unet.setFrozen(true) }
        var rng = NumPyRandom(seed: 4)
        let x = rng.normal([2, unet.config.inChannels, 8, 8]), context = rng.normal([2, 77, unet.config.crossAttentionDim])
        func gradients(_ on: Bool) throws -> [[Float]] {
            unet.gradientCheckpointing = on
            unet.zeroGrad()
            try unet(x, timesteps: [10, 700], context: context).square().mean().backward()
            return unet.parameters.map { $0.grad?.data ?? [] }
        }
        let plain = try gradients(false), recomputed = try gradients(true)
        unet.gradientCheckpointing = false
        XCTAssertEqual(plain.count, recomputed.count)
        for (a, b) in zip(plain, recomputed) {
            XCTAssertEqual(a.count, b.count)
            for (u, v) in zip(a, b) where abs(u - v) > 1e-5 * max(1, abs(u)) { XCTFail("\(u) vs \(v)"); break }
        }
    }

    func testBF16MixedPrecisionTrainsCloseToFP32AndSaysSo() throws {
        let full = try DreamBoothTrainer(config: config("fp32-ref", steps: 3), bpeVocabulary: nil).run()
        var c = config("bf16", steps: 3)
        c.mixedPrecision = "bf16"
        let low = try DreamBoothTrainer(config: c, bpeVocabulary: nil).run()
        XCTAssertEqual(low.mixedPrecision, "bf16")
        XCTAssertEqual(full.mixedPrecision, "fp32")
        let a = try XCTUnwrap(low.finalLoss), b = try XCTUnwrap(full.finalLoss)
        XCTAssertTrue(a.isFinite)
        XCTAssertNotEqual(a, b, "bf16 operands change the arithmetic")
        XCTAssertEqual(a, b, accuracy: 0.05 * max(b, 0.01), "but not the training")
        XCTAssertNotNil(low.modelDir)
    }

    func testBadInputGetsClearErrors() throws {
        var empty = config("empty")
        empty.instanceDataDir = Self.root + "/no-such-folder"
        XCTAssertThrowsError(try DreamBoothTrainer(config: empty, bpeVocabulary: nil).run()) { e in
            XCTAssertTrue("\(e)".contains("does not exist"), "\(e)")
        }
        let junk = Self.root + "/junk"
        try FileManager.default.createDirectory(atPath: junk, withIntermediateDirectories: true)
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: junk + "/a.png"))
        var corrupt = config("corrupt")
        corrupt.instanceDataDir = junk
        XCTAssertThrowsError(try DreamBoothTrainer(config: corrupt, bpeVocabulary: nil).run()) { e in
            XCTAssertTrue("\(e)".contains("a.png"), "\(e)")
        }
        var steps = config("steps")
        steps.maxTrainSteps = 0
        XCTAssertThrowsError(try DreamBoothTrainer(config: steps, bpeVocabulary: nil)) { e in
            XCTAssertTrue("\(e)".contains("max_train_steps"), "\(e)")
        }
        var sks = config("sks")
        sks.identifier = "sks"
        XCTAssertTrue(try DreamBoothTrainer(config: sks, bpeVocabulary: nil).warnings.contains { $0.contains("sks") })
    }
}
