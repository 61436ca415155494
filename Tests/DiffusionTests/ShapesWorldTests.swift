import XCTest
import Neural
@testable import Diffusion

/// The Shapes world renders captioned scenes deterministically, and its oracle reads every attribute
/// back from the pixels alone.
final class ShapesWorldTests: XCTestCase {
    let world = ShapesWorld()

    func testCaptionNamesEveryAttribute() {
        let scene = ShapesScene(shape: .star, color: .red, size: .small, position: .left, background: .gray)
        XCTAssertEqual(scene.caption(), "a photo of a small red star on the left on a gray background")
        XCTAssertEqual(scene.caption(object: "sks square"), "a photo of a small sks square on the left on a gray background")
    }

    func testSameSeedSameImage() {
        var a = NumPyRandom(seed: 7), b = NumPyRandom(seed: 7)
        let scene = world.randomScene(&a)
        XCTAssertEqual(scene, world.randomScene(&b))
        XCTAssertEqual(world.render(scene, rng: &a).data, world.render(scene, rng: &b).data)
        let image = world.render(scene, rng: &a)
        XCTAssertEqual(image.shape, [3, 32, 32])
        XCTAssertTrue(image.data.allSatisfy { (0...1).contains($0) })
    }

    func testAboutOneCombinationInTenIsHeldOutAndEveryShapeColorPairIsTrained() {
        let all = ShapesScene.all
        let held = all.filter(\.isHeldOut)
        XCTAssertEqual(Double(held.count) / Double(all.count), 0.1, accuracy: 0.02)
        for s in ShapeKind.allCases {
            for c in ShapeColor.allCases {
                XCTAssertTrue(all.contains { $0.shape == s && $0.color == c && !$0.isHeldOut }, "\(c) \(s) never trained")
                XCTAssertTrue(held.contains { $0.shape == s && $0.color == c }, "\(c) \(s) never held out")
            }
        }
        var rng = NumPyRandom(seed: 1)
        for _ in 0..<200 { XCTAssertFalse(world.randomScene(&rng).isHeldOut) }
    }

    func testOracleReadsEveryAttributeOfRenderedScenes() throws {
        let oracle = ShapesOracle(world: world)
        var rng = NumPyRandom(seed: 3)
        var wrong: [String] = []
        for _ in 0..<300 {
            let scene = world.randomScene(&rng, includeHeldOut: true)
            let reading = try XCTUnwrap(oracle.read(world.render(scene, rng: &rng)))
            let m = reading.matches(scene)
            if !(m.shape && m.color && m.size && m.position && m.background) { wrong.append("\(scene.caption()) read as \(reading)") }
        }
        XCTAssertTrue(wrong.isEmpty, wrong.joined(separator: "\n"))
    }

    func testOracleToleratesNoiseLikeASamplersOutput() throws {
        let oracle = ShapesOracle(world: world)
        var rng = NumPyRandom(seed: 5)
        var shapeAndColorRight = 0
        for _ in 0..<200 {
            let scene = world.randomScene(&rng, includeHeldOut: true)
            let clean = world.render(scene, rng: &rng)
            let noisy = Tensor(shape: clean.shape, data: clean.data.map { Swift.min(1, Swift.max(0, $0 + Float(rng.nextGaussian()) * 0.04)) })
            let reading = try XCTUnwrap(oracle.read(noisy))
            if reading.shape == scene.shape && reading.color == scene.color { shapeAndColorRight += 1 }
        }
        XCTAssertGreaterThanOrEqual(shapeAndColorRight, 196)
    }

    func testOracleFindsNothingOnAPlainImage() {
        let plain = Tensor(shape: [3, 32, 32], data: [Float](repeating: 0.5, count: 3 * 32 * 32))
        XCTAssertNil(ShapesOracle().read(plain))
    }

    func testRandomPatternsAlwaysUseASecondColour() {
        var rng = NumPyRandom(seed: 9)
        var kinds = Set<String>()
        for color in ShapeColor.allCases {
            for _ in 0..<20 {
                let p = ShapesWorld.randomPattern(excluding: color, &rng)
                switch p {
                case .split(let c): XCTAssertNotEqual(c, color); kinds.insert("split")
                case .stripes(let c, let n): XCTAssertNotEqual(c, color); XCTAssertTrue((3...5).contains(n)); kinds.insert("stripes")
                case .dot(let c): XCTAssertNotEqual(c, color); kinds.insert("dot")
                case .solid: XCTFail("a pattern has two colours")
                }
            }
        }
        XCTAssertEqual(kinds, ["split", "stripes", "dot"])
    }

    func testSubjectPatternsUseTwoColours() {
        let scene = ShapesScene(shape: .square, color: .red, size: .large, position: .center, background: .white, pattern: .split(.blue))
        let image = world.render(scene, center: [16, 16], radius: 8)
        func rgb(_ x: Int, _ y: Int) -> [Float] { (0..<3).map { image.data[$0 * 1024 + y * 32 + x] } }
        for (got, want) in zip(rgb(12, 16) + rgb(20, 16), [0.86, 0.14, 0.14, 0.15, 0.30, 0.90] as [Float]) {
            XCTAssertEqual(got, want, accuracy: 1e-5)
        }
    }
}
