import Foundation
import Neural

/// A diffusion sampler's step rule, driven by step index (0 = the noisiest step).
/// Stochastic rules draw their noise from `noise`, in the same order and number as diffusers draws it.
public protocol Scheduler: AnyObject {
    /// The timesteps given to the model, one per step.
    var timesteps: [Float] { get }
    /// What pure noise is multiplied by to start sampling.
    var initNoiseSigma: Float { get }
    /// The model input for a sample at step i (Euler-type rules rescale it).
    func scaleModelInput(_ sample: Tensor, step: Int) -> Tensor
    /// The sample of step i + 1 from the model's output at step i.
    func step(_ modelOutput: Tensor, step: Int, sample: Tensor, noise: ([Int]) -> Tensor) throws(DiffusionError) -> Tensor
    /// `original` noised to the level of step i (image-to-image starts there).
    func addNoise(_ original: Tensor, noise: Tensor, step: Int) -> Tensor
}

/// The sampling rules Atelier implements, by their CLI names.
public enum SchedulerKind: String, CaseIterable, Codable, Sendable {
    case ddim, ddpm, euler
    case eulerAncestral = "euler_a"
    case dpmSolverMultistep = "dpmpp_2m"

    /// The kind a diffusers `_class_name` stands for.
    public init?(className: String) {
        switch className {
        case "DDIMScheduler": self = .ddim
        case "DDPMScheduler": self = .ddpm
        case "EulerDiscreteScheduler": self = .euler
        case "EulerAncestralDiscreteScheduler": self = .eulerAncestral
        case "DPMSolverMultistepScheduler": self = .dpmSolverMultistep
        default: return nil
        }
    }

    public var className: String {
        switch self {
        case .ddim: return "DDIMScheduler"
        case .ddpm: return "DDPMScheduler"
        case .euler: return "EulerDiscreteScheduler"
        case .eulerAncestral: return "EulerAncestralDiscreteScheduler"
        case .dpmSolverMultistep: return "DPMSolverMultistepScheduler"
        }
    }

    /// diffusers' default spacing per class, used when the config does not say.
    var defaultSpacing: String {
        switch self {
        case .ddim, .ddpm: return "leading"
        case .euler, .eulerAncestral, .dpmSolverMultistep: return "linspace"
        }
    }

    /// Builds the rule from a scheduler config (any class's: shared keys carry over, as `from_config` does) for `steps` steps.
    public func make(config: SchedulerConfig, steps: Int) throws(DiffusionError) -> Scheduler {
        try config.checkSupported(for: self)
        guard steps >= 1, steps <= config.numTrainTimesteps else {
            throw .invalidRequest("steps must be between 1 and \(config.numTrainTimesteps), got \(steps)")
        }
        let schedule = try NoiseSchedule(config: config)
        let spacing = config.timestepSpacing ?? defaultSpacing
        switch self {
        case .ddim: return try DDIMScheduler(config: config, schedule: schedule, spacing: spacing, steps: steps)
        case .ddpm: return try DDPMScheduler(config: config, schedule: schedule, spacing: spacing, steps: steps)
        case .euler: return try EulerDiscreteScheduler(config: config, schedule: schedule, spacing: spacing, steps: steps, ancestral: false)
        case .eulerAncestral: return try EulerDiscreteScheduler(config: config, schedule: schedule, spacing: spacing, steps: steps, ancestral: true)
        case .dpmSolverMultistep: return try DPMSolverMultistepScheduler(config: config, schedule: schedule, spacing: spacing, steps: steps)
        }
    }
}

/// diffusers' scheduler `scheduler_config.json`: the union of the keys the implemented rules read.
public struct SchedulerConfig: Codable, Sendable, Equatable {
    public var className: String?
    public var numTrainTimesteps: Int
    public var betaStart: Double
    public var betaEnd: Double
    public var betaSchedule: String
    public var trainedBetas: [Double]?
    public var predictionType: String
    public var timestepSpacing: String?
    public var stepsOffset: Int
    public var setAlphaToOne: Bool
    public var clipSample: Bool?
    public var clipSampleRange: Double
    public var thresholding: Bool
    public var varianceType: String
    public var solverOrder: Int
    public var algorithmType: String
    public var solverType: String
    public var lowerOrderFinal: Bool
    public var eulerAtFinal: Bool
    public var finalSigmasType: String?
    public var useKarrasSigmas: Bool
    public var interpolationType: String
    public var rescaleBetasZeroSnr: Bool

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end", betaSchedule = "beta_schedule"
        case trainedBetas = "trained_betas", predictionType = "prediction_type", timestepSpacing = "timestep_spacing"
        case stepsOffset = "steps_offset", setAlphaToOne = "set_alpha_to_one", clipSample = "clip_sample", clipSampleRange = "clip_sample_range"
        case thresholding, varianceType = "variance_type", solverOrder = "solver_order", algorithmType = "algorithm_type"
        case solverType = "solver_type", lowerOrderFinal = "lower_order_final", eulerAtFinal = "euler_at_final"
        case finalSigmasType = "final_sigmas_type", useKarrasSigmas = "use_karras_sigmas", interpolationType = "interpolation_type"
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr"
    }

    /// Stable Diffusion 1.x/2.x's training schedule (scaled-linear betas 0.00085…0.012, offset 1).
    public static let stableDiffusion = SchedulerConfig(className: "DDIMScheduler", stepsOffset: 1, setAlphaToOne: false, clipSample: false)

    public init(className: String? = nil, numTrainTimesteps: Int = 1000, betaStart: Double = 0.00085, betaEnd: Double = 0.012,
                betaSchedule: String = "scaled_linear", predictionType: String = "epsilon", timestepSpacing: String? = nil,
                stepsOffset: Int = 0, setAlphaToOne: Bool = true, clipSample: Bool? = nil) {
        self.className = className
        self.numTrainTimesteps = numTrainTimesteps
        self.betaStart = betaStart
        self.betaEnd = betaEnd
        self.betaSchedule = betaSchedule
        trainedBetas = nil
        self.predictionType = predictionType
        self.timestepSpacing = timestepSpacing
        self.stepsOffset = stepsOffset
        self.setAlphaToOne = setAlphaToOne
        self.clipSample = clipSample
        clipSampleRange = 1
        thresholding = false
        varianceType = "fixed_small"
        solverOrder = 2
        algorithmType = "dpmsolver++"
        solverType = "midpoint"
        lowerOrderFinal = true
        eulerAtFinal = false
        finalSigmasType = nil
        useKarrasSigmas = false
        interpolationType = "linear"
        rescaleBetasZeroSnr = false
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        className = try c.decodeIfPresent(String.self, forKey: .className)
        numTrainTimesteps = try c.value(.numTrainTimesteps, 1000)
        betaStart = try c.value(.betaStart, 0.0001)
        betaEnd = try c.value(.betaEnd, 0.02)
        betaSchedule = try c.value(.betaSchedule, "linear")
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        predictionType = try c.value(.predictionType, "epsilon")
        timestepSpacing = try c.decodeIfPresent(String.self, forKey: .timestepSpacing)
        stepsOffset = try c.value(.stepsOffset, 0)
        setAlphaToOne = try c.value(.setAlphaToOne, true)
        clipSample = try c.decodeIfPresent(Bool.self, forKey: .clipSample)
        clipSampleRange = try c.value(.clipSampleRange, 1)
        thresholding = try c.value(.thresholding, false)
        varianceType = try c.value(.varianceType, "fixed_small")
        solverOrder = try c.value(.solverOrder, 2)
        algorithmType = try c.value(.algorithmType, "dpmsolver++")
        solverType = try c.value(.solverType, "midpoint")
        lowerOrderFinal = try c.value(.lowerOrderFinal, true)
        eulerAtFinal = try c.value(.eulerAtFinal, false)
        finalSigmasType = try c.decodeIfPresent(String.self, forKey: .finalSigmasType)
        useKarrasSigmas = try c.value(.useKarrasSigmas, false)
        interpolationType = try c.value(.interpolationType, "linear")
        rescaleBetasZeroSnr = try c.value(.rescaleBetasZeroSnr, false)
    }

    /// Whether predicted clean samples are clipped (diffusers' DDIM and DDPM default to yes).
    var clipsSample: Bool { clipSample ?? true }

    func checkSupported(for kind: SchedulerKind) throws(DiffusionError) {
        var unsupported: [String] = []
        if !["epsilon", "v_prediction", "sample"].contains(predictionType) { unsupported.append("prediction_type \(predictionType)") }
        if let s = timestepSpacing, !["leading", "trailing", "linspace"].contains(s) { unsupported.append("timestep_spacing \(s)") }
        if thresholding { unsupported.append("thresholding") }
        if rescaleBetasZeroSnr { unsupported.append("rescale_betas_zero_snr") }
        if useKarrasSigmas && (kind == .euler || kind == .dpmSolverMultistep) { unsupported.append("use_karras_sigmas") }
        if kind == .euler && interpolationType != "linear" { unsupported.append("interpolation_type \(interpolationType)") }
        if kind == .ddpm && !["fixed_small", "fixed_large"].contains(varianceType) { unsupported.append("variance_type \(varianceType)") }
        if kind == .dpmSolverMultistep {
            if algorithmType != "dpmsolver++" { unsupported.append("algorithm_type \(algorithmType)") }
            if solverType != "midpoint" { unsupported.append("solver_type \(solverType)") }
            if !(1...2).contains(solverOrder) { unsupported.append("solver_order \(solverOrder)") }
            if let f = finalSigmasType, f != "zero" { unsupported.append("final_sigmas_type \(f)") }
        }
        if !unsupported.isEmpty {
            throw .unsupported("the \(kind.rawValue) sampler does not implement \(unsupported.joined(separator: ", ")) from this scheduler config")
        }
    }
}

/// The training noise schedule: betas and the cumulative products of 1 − β, in float32 as the reference keeps them.
struct NoiseSchedule {
    let alphasCumprod: [Float]

    init(config: SchedulerConfig) throws(DiffusionError) {
        let n = config.numTrainTimesteps
        var betas: [Float]
        if let trained = config.trainedBetas {
            guard trained.count == n else { throw .model("trained_betas has \(trained.count) values for \(n) timesteps") }
            betas = trained.map(Float.init)
        } else {
            switch config.betaSchedule {
            case "linear": betas = Self.linspace(config.betaStart, config.betaEnd, n).map(Float.init)
            case "scaled_linear":
                betas = Self.linspace(config.betaStart.squareRoot(), config.betaEnd.squareRoot(), n).map { Float($0) * Float($0) }
            case "squaredcos_cap_v2":
                func alphaBar(_ t: Double) -> Double { let c = cos((t + 0.008) / 1.008 * Double.pi / 2); return c * c }
                betas = (0..<n).map { i in Float(min(1 - alphaBar(Double(i + 1) / Double(n)) / alphaBar(Double(i) / Double(n)), 0.999)) }
            default:
                throw .unsupported("beta_schedule '\(config.betaSchedule)' is not supported (linear, scaled_linear, squaredcos_cap_v2)")
            }
        }
        var acc: Float = 1
        alphasCumprod = betas.map { acc *= (1 - $0); return acc }
    }

    /// torch.linspace's values (float32 there; the difference is below float32 resolution after rounding).
    static func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Double] {
        guard n > 1 else { return [a] }
        let step = (b - a) / Double(n - 1)
        return (0..<n).map { i in i < n / 2 ? a + step * Double(i) : b - step * Double(n - 1 - i) }
    }

    /// σ of each training timestep: √((1 − ᾱ) / ᾱ).
    var sigmas: [Double] { alphasCumprod.map { ((1 - Double($0)) / Double($0)).squareRoot() } }

    /// diffusers' timestep spacings for `steps` of `train` training steps, noisiest first.
    static func spacedTimesteps(_ spacing: String, steps: Int, train: Int, offset: Int) throws(DiffusionError) -> [Double] {
        switch spacing {
        case "leading":
            let ratio = train / steps
            return (0..<steps).reversed().map { Double($0 * ratio + offset) }
        case "trailing":
            let ratio = Double(train) / Double(steps)
            return stride(from: Double(train), to: 0, by: -ratio).map { roundHalfEven($0) - 1 }
        case "linspace":
            return linspace(0, Double(train - 1), steps).reversed().map(roundHalfEven)
        default:
            throw .unsupported("timestep_spacing '\(spacing)' is not supported (leading, trailing, linspace)")
        }
    }

    /// DDIM's and DDPM's integer timesteps: the spacing, with `steps_offset` added under "leading".
    static func discreteTimesteps(config: SchedulerConfig, spacing: String, steps: Int) throws(DiffusionError) -> [Float] {
        let offset = spacing == "leading" ? config.stepsOffset : 0
        let ts = try spacedTimesteps(spacing, steps: steps, train: config.numTrainTimesteps, offset: offset)
        try checkWithinTraining(ts, config: config, steps: steps)
        return ts.map(Float.init)
    }

    /// An offset can push the first timestep past the schedule: say so instead of indexing out of it.
    static func checkWithinTraining(_ timesteps: [Double], config: SchedulerConfig, steps: Int) throws(DiffusionError) {
        let train = config.numTrainTimesteps
        if let bad = timesteps.first(where: { $0 > Double(train - 1) }) {
            throw .invalidRequest("timestep \(Int(bad)) is past the \(train) training steps (steps_offset \(config.stepsOffset) with \(steps) steps)")
        }
    }

    /// NumPy's round (half to even).
    static func roundHalfEven(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }
}

/// Element-wise a·x + b·y over two tensors of one shape.
func combine(_ a: Float, _ x: Tensor, _ b: Float, _ y: Tensor) -> Tensor {
    var out = [Float](repeating: 0, count: x.count)
    x.data.withUnsafeBufferPointer { px in
        y.data.withUnsafeBufferPointer { py in
            for i in 0..<out.count { out[i] = a * px[i] + b * py[i] }
        }
    }
    return Tensor(shape: x.shape, data: out)
}

/// The clean sample and noise a model output stands for, by prediction type, at cumulative alpha ᾱ.
func predictedOriginal(_ output: Tensor, sample: Tensor, alphaProd: Float, predictionType: String) -> (x0: Tensor, eps: Tensor) {
    let a = alphaProd.squareRoot(), b = (1 - alphaProd).squareRoot()
    switch predictionType {
    case "v_prediction":
        return (combine(a, sample, -b, output), combine(a, output, b, sample))
    case "sample":
        return (output, combine(1 / b, sample, -a / b, output))
    default:
        return (combine(1 / a, sample, -b / a, output), output)
    }
}

func clipped(_ t: Tensor, _ range: Float) -> Tensor {
    Tensor(shape: t.shape, data: t.data.map { Swift.min(Swift.max($0, -range), range) })
}
