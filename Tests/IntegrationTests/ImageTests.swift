import Foundation
import JSONSchema
import TestSupport
import XCTest

/// The image studio through its interfaces: `atelier sample` and the `image_generate` tool, on the
/// tiny diffusers-layout model of the parity fixtures.
final class ImageTests: XCTestCase {
    var dir: URL!
    let model = Repository.root.appendingPathComponent("Tests/DiffusionTests/Fixtures/tiny-sd").path

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-image-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testSampleWritesPNGsAndASidecarWithEveryParameter() throws {
        let out = dir.appendingPathComponent("out").path
        let (status, stdout, stderr) = try runAtelier(["sample", "--model", model, "--prompt", "a photo of a red star", "--negative-prompt", "blurry",
                                                      "--steps", "3", "--scheduler", "euler_a", "--seed", "42", "--num-images", "2",
                                                      "--height", "32", "--width", "32", "--out", out])
        XCTAssertEqual(status, 0, stderr)
        let report = try JSONParser.parse(stdout)
        let images = report["images"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertEqual(images.count, 2)
        for image in images {
            let png = try Data(contentsOf: URL(fileURLWithPath: image))
            XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        }
        let sidecar = try JSONParser.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: report["sidecar"]!.stringValue!)), as: UTF8.self))
        XCTAssertEqual(sidecar["seed"]?.intValue, 42)
        XCTAssertEqual(sidecar["scheduler"], "euler_a")
        XCTAssertEqual(sidecar["negative_prompt"], "blurry")
        XCTAssertEqual(sidecar["steps"]?.intValue, 3)
        XCTAssertEqual(sidecar["width"]?.intValue, 32)
        XCTAssertEqual(sidecar["timesteps"]?.arrayValue?.count, 3)
        // The same command again gives byte-identical images under new names.
        let (again, stdout2, _) = try runAtelier(["sample", "--model", model, "--prompt", "a photo of a red star", "--negative-prompt", "blurry",
                                                 "--steps", "3", "--scheduler", "euler_a", "--seed", "42", "--num-images", "2",
                                                 "--height", "32", "--width", "32", "--out", out])
        XCTAssertEqual(again, 0)
        let second = try JSONParser.parse(stdout2)["images"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertNotEqual(second, images)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: second[0])), try Data(contentsOf: URL(fileURLWithPath: images[0])))
    }

    func testSampleRefusesBadRequestsBeforeWork() throws {
        let (s1, _, e1) = try runAtelier(["sample", "--model", model, "--prompt", "x", "--width", "30", "--out", dir.path])
        XCTAssertNotEqual(s1, 0)
        XCTAssertTrue(e1.contains("multiples of 8"), e1)
        let (s2, _, e2) = try runAtelier(["sample", "--model", model, "--prompt", "x", "--scheduler", "plms", "--out", dir.path])
        XCTAssertNotEqual(s2, 0)
        XCTAssertTrue(e2.contains("scheduler"), e2)
        let (s3, _, e3) = try runAtelier(["sample", "--model", dir.path, "--prompt", "x", "--out", dir.path])
        XCTAssertNotEqual(s3, 0)
        XCTAssertTrue(e3.contains("not a complete diffusers model"), e3)
        XCTAssertTrue((try FileManager.default.contentsOfDirectory(atPath: dir.path)).isEmpty, "nothing written")
    }

    func testImageGenerateToolReturnsPathsAndTheSidecarAndListsResources() throws {
        let config = dir.appendingPathComponent("atelier.json")
        let images = dir.appendingPathComponent("images").path
        try #"{"roots": ["\#(Repository.root.path)"], "image": {"outputDirectory": "\#(images)"}}"#.write(to: config, atomically: true, encoding: .utf8)
        let args = #"{"prompt": "a small blue circle", "model": "Tests/DiffusionTests/Fixtures/tiny-sd", "steps": 2, "seed": 3, "width": 32, "height": 32, "scheduler": "dpmpp_2m"}"#
        let (status, out, err) = try runAtelier(["call", "image_generate", "--args", args, "--config", config.path])
        XCTAssertEqual(status, 0, err)
        let result = try JSONParser.parse(out)
        XCTAssertEqual(result["images"]?.arrayValue?.count, 1)
        XCTAssertEqual(result["scheduler"], "dpmpp_2m")
        XCTAssertTrue(result["resources"]?[0]?.stringValue?.hasPrefix("atelier://images/") ?? false)
        XCTAssertTrue(FileManager.default.fileExists(atPath: result["sidecar"]?.stringValue ?? ""))
        let (bad, _, badErr) = try runAtelier(["call", "image_generate", "--args", #"{"prompt": "x", "width": 30}"#, "--config", config.path])
        XCTAssertEqual(bad, 1)
        XCTAssertTrue(badErr.contains("multipleOf") || badErr.contains("multiple of 8"), badErr)
    }
}
