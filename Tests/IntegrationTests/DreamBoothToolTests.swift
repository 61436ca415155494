import Foundation
import JSONSchema
import TestSupport
import XCTest

/// `dreambooth_train` as a job over stdio: progress notifications per step, `jobs/cancel` stops it with
/// a resumable checkpoint, `resume: "latest"` finishes it, and `atelier train` / `atelier runs` work
/// from the command line — on a randomly initialised Shapes-architecture model made by
/// `atelier pretrain shapes` with no steps, and the Shapes subjects' photos.
final class DreamBoothToolTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-dreambooth-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let (s1, _, e1) = try runAtelier(["pretrain", "shapes", "--vae-steps", "0", "--unet-steps", "0", "--dataset-size", "4",
                                          "--output", dir.appendingPathComponent("base").path])
        XCTAssertEqual(s1, 0, e1)
        let (s2, _, e2) = try runAtelier(["demo", "subjects", "--out", dir.appendingPathComponent("subjects").path])
        XCTAssertEqual(s2, 0, e2)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func rpc(_ server: ServerProcess, _ id: Int, _ method: String, _ params: String) -> [JSONValue] {
        server.send(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"#)
        return server.read(until: .number(JSONNumber(id)))
    }

    func waitForJob(_ server: ServerProcess, _ job: String, id: inout Int, until done: (JSONValue) -> Bool) -> JSONValue? {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            id += 1
            if let rec = rpc(server, id, "jobs/get", #"{"id":"\#(job)"}"#).last?["result"], done(rec) { return rec }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return nil
    }

    func testTrainingAsAJobReportsProgressStopsResumablyAndResumes() throws {
        let config = dir.appendingPathComponent("atelier.json")
        try #"{"roots": ["\#(dir.path)"], "image": {"model": "base", "outputDirectory": "\#(dir.appendingPathComponent("images").path)"}}"#
            .write(to: config, atomically: true, encoding: .utf8)
        let server = try ServerProcess(["serve", "--stdio", "--config", config.path])
        defer { server.closeInput(); _ = server.waitForExit() }
        var id = 1
        _ = rpc(server, id, "initialize", #"{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"it","version":"1"}}"#)
        // No class_noun: the oracle reads "square" off the Shapes photos.
        let args = #"{"instance_data_dir": "subjects/split-square", "max_train_steps": 400, "settings": {"num_class_images": 2, "class_image_steps": 2, "checkpointing_steps": 2, "validation_inference_steps": 2, "train_batch_size": 1, "learning_rate": 0.001}}"#
        id += 1
        let started = rpc(server, id, "jobs/start", #"{"name":"dreambooth_train","arguments":\#(args),"_meta":{"progressToken":"t1"}}"#)
        let job = try XCTUnwrap(started.last?["result"]?["id"]?.stringValue, "\(started)")
        // Wait for a few training steps' progress, then cancel.
        var sawStep = false
        let deadline = Date().addingTimeInterval(120)
        while !sawStep && Date() < deadline {
            guard let m = server.readMessage() else { break }
            if m["method"] == "notifications/progress", m["params"]?["message"]?.stringValue?.hasPrefix("step 3 ") == true { sawStep = true }
        }
        XCTAssertTrue(sawStep, "progress notifications name the training step")
        id += 1
        let cancel = rpc(server, id, "jobs/cancel", #"{"id":"\#(job)"}"#)
        XCTAssertEqual(cancel.last?["result"]?["cancelled"], true, "\(cancel)")
        let stopped = waitForJob(server, job, id: &id) { $0["status"]?.stringValue != "running" }
        XCTAssertEqual(stopped?["status"], "cancelled")
        let run = dir.appendingPathComponent("images/runs/split-square")
        let latest = try String(contentsOf: run.appendingPathComponent("checkpoints/latest"), encoding: .utf8)
        XCTAssertTrue(latest.hasPrefix("checkpoint-"), latest)
        // With no class prompt given, Shapes photos get full captions of plain squares, which the model can draw.
        let saved = try JSONParser.parse(String(contentsOf: run.appendingPathComponent("config.json"), encoding: .utf8))
        let classPrompts = saved["class_prompts"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertEqual(classPrompts.count, 2, "\(saved)")
        XCTAssertTrue(classPrompts.allSatisfy { $0.hasPrefix("a photo of a ") && $0.contains(" square ") && $0.hasSuffix(" background") }, "\(classPrompts)")

        // Resume from `latest`; a constant learning rate lets the resumed run end sooner (3 more steps).
        let resumedStep = try XCTUnwrap(Int(latest.dropFirst("checkpoint-".count)))
        let resumeArgs = #"{"instance_data_dir": "subjects/split-square", "resume": "latest", "max_train_steps": \#(resumedStep + 3), "settings": {"num_class_images": 2, "class_image_steps": 2, "checkpointing_steps": 2, "validation_inference_steps": 2, "train_batch_size": 1, "learning_rate": 0.001}}"#
        id += 1
        let again = rpc(server, id, "jobs/start", #"{"name":"dreambooth_train","arguments":\#(resumeArgs)}"#)
        let job2 = try XCTUnwrap(again.last?["result"]?["id"]?.stringValue, "\(again)")
        let finished = waitForJob(server, job2, id: &id) { $0["status"]?.stringValue != "running" }
        XCTAssertEqual(finished?["status"], "succeeded", "\(String(describing: finished))")
        let result = finished?["result"]
        XCTAssertEqual(result?["steps"]?.intValue, resumedStep + 3)
        XCTAssertNotNil(result?["resumed_from"]?.stringValue)
        XCTAssertEqual(result?["class_images_generated"]?.intValue, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: (result?["model_dir"]?.stringValue ?? "") + "/model_index.json"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: result?["sample_grid"]?.stringValue ?? ""))
        let metrics = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let steps = metrics.compactMap { (try? JSONParser.parse(String($0)))?["step"]?.intValue }
        XCTAssertEqual(steps, Array(1...steps.count), "the resumed run continues the step count without a gap or a repeat")
    }

    func testTheToolKeepsEveryPathInsideTheRoots() throws {
        let config = dir.appendingPathComponent("atelier.json")
        try #"{"roots": ["\#(dir.path)"], "image": {"model": "base"}}"#.write(to: config, atomically: true, encoding: .utf8)
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString)").path
        for args in [#"{"instance_data_dir": "subjects/split-square", "settings": {"output_dir": "\#(outside)"}}"#,
                     #"{"instance_data_dir": "subjects/split-square", "output_dir": "../escape"}"#,
                     #"{"class_noun": "square", "settings": {"instance_data_dir": "/etc"}}"#] {
            let (status, _, err) = try runAtelier(["call", "dreambooth_train", "--args", args, "--config", config.path])
            XCTAssertNotEqual(status, 0, args)
            XCTAssertTrue(err.contains("outside the allowed roots"), err)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: outside), "nothing was written outside the roots")
    }

    func testPretrainConfigFileChangesOnlyWhatItNamesAndRejectsUnknownFields() throws {
        let file = dir.appendingPathComponent("pretrain.json")
        try #"{"vaeSteps": 0, "unetSteps": 0, "datasetSize": 4, "unetBatch": 2, "unet": {"layersPerBlock": 2}}"#
            .write(to: file, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("configured")
        let (status, stdout, stderr) = try runAtelier(["pretrain", "shapes", "--config", file.path, "--output", out.path])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(stdout.contains("\"unet_batch\" : 2"), stdout)
        let kept = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("pretrain_config.json"))) as? [String: Any])
        let unet = try XCTUnwrap(kept["unet"] as? [String: Any])
        XCTAssertEqual(unet["layersPerBlock"] as? Int, 2, "nested fields merge into the defaults")
        XCTAssertEqual(unet["blockOutChannels"] as? [Int], [32, 64, 64], "fields not named keep their defaults")
        let unetConfig = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("unet/config.json"))) as? [String: Any])
        XCTAssertEqual(unetConfig["layers_per_block"] as? Int, 2, "the model is built from the merged configuration")

        try #"{"unet": {"layersPerBlok": 2}}"#.write(to: file, atomically: true, encoding: .utf8)
        let (bad, _, message) = try runAtelier(["pretrain", "shapes", "--config", file.path, "--output", out.path + "-bad"])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(message.contains("unknown field unet.layersPerBlok"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path + "-bad"))
    }

    func testDemoVAEReportsWhatSurvivesTheRoundTrip() throws {
        let out = dir.appendingPathComponent("vae-check")
        let (status, stdout, stderr) = try runAtelier(["demo", "vae", "--model", dir.appendingPathComponent("base").path, "--samples", "4",
                                                       "--json", "--out", out.path])
        XCTAssertEqual(status, 0, stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["samples"] as? Int, 4)
        for key in ["shape_and_color_accuracy", "shape_accuracy", "color_accuracy", "background_accuracy", "mean_absolute_error"] {
            let value = try XCTUnwrap(report[key] as? Double, key)
            XCTAssert((0...1).contains(value), "\(key) = \(value)")
        }
        XCTAssertEqual((report["results"] as? [Any])?.count, 4)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("grid.png").path))
        let (missing, _, message) = try runAtelier(["demo", "vae", "--model", dir.appendingPathComponent("nothing-here").path])
        XCTAssertNotEqual(missing, 0)
        XCTAssertTrue(message.contains("nothing-here"), message)
    }

    func testTrainCommandWithOverridesAndRunsListing() throws {
        let yaml = dir.appendingPathComponent("train.yaml")
        try """
            pretrained_model: base
            instance_data_dir: subjects/striped-circle
            class_noun: circle
            num_class_images: 2
            class_image_steps: 2
            validation_inference_steps: 2
            max_train_steps: 100
            output_dir: runs/one
            """.write(to: yaml, atomically: true, encoding: .utf8)
        let models = dir.appendingPathComponent("models").path
        let (status, out, err) = try runAtelier(["train", "--config", yaml.path, "--set", "max_train_steps=3", "--set", "use_lora=true"],
                                               env: ["ATELIER_MODELS": models])
        XCTAssertEqual(status, 0, err)
        let summary = try JSONParser.parse(out)
        XCTAssertEqual(summary["steps"]?.intValue, 3)
        XCTAssertEqual(summary["use_lora"], true)
        XCTAssertEqual(summary["train_text_encoder"], false)
        XCTAssertTrue(FileManager.default.fileExists(atPath: summary["model_dir"]?.stringValue ?? "") )
        let (ls, listing, _) = try runAtelier(["runs", "list", "--json"], env: ["ATELIER_MODELS": models])
        XCTAssertEqual(ls, 0)
        XCTAssertTrue(listing.contains("runs/one"), listing)
        let (bad, _, badErr) = try runAtelier(["train", "--config", yaml.path, "--set", "learning_rat=1"], env: ["ATELIER_MODELS": models])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(badErr.contains("learning_rat"), badErr)
    }

    /// examples/dreambooth.yaml, as the README tells a user to run it, on the embedded model: its
    /// captioned photos and class prompts validate and train, and no caption lacks the identifier.
    func testTheBundledExampleTrainsOnTheEmbeddedModel() throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("subjects/split-square/0.txt").path),
                      "demo subjects writes each photo's caption")
        let run = dir.appendingPathComponent("example-run").path, classes = dir.appendingPathComponent("example-classes").path
        let (status, out, err) = try runAtelier(["train", "--config", "examples/dreambooth.yaml", "--set", "max_train_steps=2",
                                                 "--set", "num_class_images=6", "--set", "class_image_steps=2", "--set", "class_data_dir=" + classes,
                                                 "--set", "pretrained_model=" + Repository.models + "/shapes",
                                                 "--set", "validation_inference_steps=2", "--set", "output_dir=" + run],
                                                env: ["ATELIER_MODELS": dir.appendingPathComponent("models").path])
        XCTAssertEqual(status, 0, err)
        let summary = try JSONParser.parse(out)
        XCTAssertEqual(summary["steps"]?.intValue, 2)
        XCTAssertEqual(summary["prior_preservation"], true)
        XCTAssertEqual(summary["class_images_generated"]?.intValue, 6)
        guard case .array(let warnings)? = summary["warnings"] else { return XCTFail(out) }
        XCTAssertFalse(warnings.contains { $0.stringValue?.contains("caption") == true }, "every bundled caption names the subject: \(warnings)")
        let prompts = try String(contentsOfFile: classes + "/class_prompt.txt", encoding: .utf8)
        XCTAssertEqual(prompts.split(separator: "\n").count, 6, "one class image per listed prompt: \(prompts)")
    }
}
