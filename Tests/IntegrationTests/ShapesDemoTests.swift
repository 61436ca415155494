import Foundation
import JSONSchema
import TestSupport
import XCTest

/// The reduced Shapes checks CI runs on the embedded model (installed by the bootstrap): the base model
/// draws held-out captions, and DreamBooth with prior preservation keeps the class from turning into the
/// subject while still learning the subject — the directions of the paper's Table 3.
final class ShapesDemoTests: XCTestCase {
    /// Stated targets for the reduced runs (the full demo's figures are in BENCHMARKS.md).
    static let baseAccuracyFloor = 0.85
    static let subjectFidelityFloor: Float = 0.80

    func testTheBaseModelDrawsHeldOutCaptions() throws {
        let (status, out, err) = try runAtelier(["demo", "base", "--json", "--samples", "24", "--steps", "20"])
        XCTAssertEqual(status, 0, err)
        let report = try JSONParser.parse(out)
        let accuracy = try XCTUnwrap(report["shape_and_color_accuracy"]?.doubleValue)
        XCTAssertGreaterThanOrEqual(accuracy, Self.baseAccuracyFloor, "prompted shape and colour recovered on held-out captions")
        XCTAssertEqual(report["samples"]?.intValue, 24)
    }

    func testPriorPreservationLowersPRESAndKeepsTheSubject() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("shapes-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let (status, stdout, err) = try runAtelier(["demo", "personalize", "--subject", "split-square", "--quick", "--json", "--out", out.path])
        XCTAssertEqual(status, 0, err)
        let report = try JSONParser.parse(stdout)
        let rows = try XCTUnwrap(report["rows"]?.arrayValue)
        func metrics(_ setting: String) throws -> JSONValue {
            try XCTUnwrap(rows.first { $0["setting"]?.stringValue == setting }?["metrics"], setting)
        }
        let prior = try metrics("prior"), noPrior = try metrics("no-prior")
        let presPrior = try XCTUnwrap(prior["pres"]?.doubleValue), presNoPrior = try XCTUnwrap(noPrior["pres"]?.doubleValue)
        XCTAssertLessThan(presPrior, presNoPrior, "prior preservation lowers PRES")
        XCTAssertGreaterThanOrEqual(Float(try XCTUnwrap(prior["subject_fidelity"]?.doubleValue)), Self.subjectFidelityFloor)
        for name in ["personalize.json", "personalize.md", "grid-split-square.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
    }
}
