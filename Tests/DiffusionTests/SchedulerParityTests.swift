import Diffusion
import Foundation
import Neural
import XCTest

/// Scheduler trajectories under a toy model (`eps = 0.5·tanh(x_in) + 0.001·t`) match diffusers step
/// for step, stochastic ones fed the noise diffusers drew.
final class SchedulerParityTests: XCTestCase {
    func run(_ name: String, _ info: [String: Any], _ ref: SafeTensors) throws -> Tensor {
        let configData = try JSONSerialization.data(withJSONObject: info["config"]!)
        let config = try JSONDecoder().decode(SchedulerConfig.self, from: configData)
        let kind = SchedulerKind(className: info["class"] as! String)!
        let steps = info["num_inference_steps"] as! Int
        let scheduler = try kind.make(config: config, steps: steps)
        if let ddim = scheduler as? DDIMScheduler { ddim.eta = Float(info["eta"] as? Double ?? 0) }
        let expectedTimesteps = try ref.tensor("\(name).timesteps").data
        XCTAssertEqual(scheduler.timesteps.count, expectedTimesteps.count, name)
        for (a, b) in zip(scheduler.timesteps, expectedTimesteps) { XCTAssertEqual(a, b, accuracy: 1e-3, "\(name) timesteps") }
        XCTAssertEqual(scheduler.initNoiseSigma, Float(info["init_noise_sigma"] as! Double), accuracy: 1e-4, "\(name) init sigma")
        let noise = ref.entries["\(name).noise"] != nil ? try ref.tensor("\(name).noise") : nil
        var draws = 0
        var x = try ref.tensor("\(name).x0")
        for i in 0..<scheduler.timesteps.count {
            let t = scheduler.timesteps[i]
            let input = scheduler.scaleModelInput(x, step: i)
            let eps = Tensor(shape: x.shape, data: input.data.map { 0.5 * tanh($0) + 0.001 * t })
            x = try scheduler.step(eps, step: i, sample: x) { shape in
                let n = shape.reduce(1, *)
                defer { draws += 1 }
                return Tensor(shape: shape, data: Array(noise!.data[(draws * n)..<((draws + 1) * n)]))
            }
        }
        if let noise { XCTAssertEqual(draws, noise.shape[0], "\(name) draws as many noises as diffusers") }
        return x
    }

    func testEveryCaseMatchesDiffusers() throws {
        let ref = try Fixtures.tensors("schedulers.safetensors")
        let cases = try Fixtures.json("schedulers.json") as! [String: Any]
        let names = cases.keys.filter { cases[$0] is [String: Any] && ref.entries["\($0).final"] != nil }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 10)
        for name in names {
            let x = try run(name, cases[name] as! [String: Any], ref)
            XCTAssertLessThan(maxAbsDifference(x, try ref.tensor("\(name).final")), 1e-3, name)
        }
    }

    func testAddNoiseForImageToImage() throws {
        let ref = try Fixtures.tensors("schedulers.safetensors")
        let cases = try Fixtures.json("schedulers.json") as! [String: Any]
        for name in ["ddim_leading", "euler_linspace"] {
            let info = cases[name] as! [String: Any]
            let config = try JSONDecoder().decode(SchedulerConfig.self, from: JSONSerialization.data(withJSONObject: info["config"]!))
            let scheduler = try SchedulerKind(className: info["class"] as! String)!.make(config: config, steps: info["num_inference_steps"] as! Int)
            let noisy = scheduler.addNoise(try ref.tensor("add_noise.original"), noise: try ref.tensor("add_noise.noise"), step: 1)
            XCTAssertLessThan(maxAbsDifference(noisy, try ref.tensor("\(name).add_noise")), 1e-4, name)
        }
    }

    func testUnknownSettingsAreRefusedByName() throws {
        var config = SchedulerConfig.stableDiffusion
        config.timestepSpacing = "karras"
        XCTAssertThrowsError(try SchedulerKind.euler.make(config: config, steps: 10)) { e in
            XCTAssertTrue("\(e)".contains("timestep_spacing karras"), "\(e)")
        }
        XCTAssertThrowsError(try SchedulerKind.ddim.make(config: .stableDiffusion, steps: 0))
    }
}
