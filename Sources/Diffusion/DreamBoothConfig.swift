import Foundation
import Neural

/// A DreamBooth run's settings: the `Codable` mirror of the YAML file that `atelier train --config`
/// reads (keys in snake_case, as diffusers' `train_dreambooth.py` flags). Every key has a default
/// except where the data and the output go.
public struct DreamBoothConfig: Codable, Sendable, Equatable {
    /// A diffusers folder or single-file checkpoint; nil: the embedded Shapes model.
    public var pretrainedModel: String?
    public var instanceDataDir: String
    /// The unique identifier bound to the subject.
    public var identifier: String = DreamBoothConfig.defaultIdentifier
    /// The subject's class ("dog", "square").
    public var classNoun: String
    /// Default "a photo of {identifier} {class_noun}".
    public var instancePrompt: String?
    /// Default "a photo of a {class_noun}".
    public var classPrompt: String?
    /// Several class prompts, cycled through as class images are generated (each image trains with the
    /// prompt that made it). For a base model that only knows full captions, varied ones keep the
    /// class images in what it can draw. Overrides `classPrompt`.
    public var classPrompts: [String]?
    public var withPriorPreservation: Bool = true
    public var priorLossWeight: Float = 1
    public var numClassImages: Int = 100
    /// Default: a cache folder per base model and class prompt, shared by runs.
    public var classDataDir: String?
    public var classImageSteps: Int = 25
    public var classImageGuidance: Float = 7.5
    /// Default: the model's native size.
    public var resolution: Int?
    public var centerCrop: Bool = false
    public var randomFlip: Bool = false
    public var learningRate: Float = 5e-6
    public var adamBeta1: Float = 0.9
    public var adamBeta2: Float = 0.999
    public var adamWeightDecay: Float = 1e-2
    public var adamEpsilon: Float = 1e-8
    /// constant, constant_with_warmup, linear, cosine.
    public var lrScheduler: String = "constant"
    public var lrWarmupSteps: Int = 0
    public var maxTrainSteps: Int = 400
    public var trainBatchSize: Int = 1
    public var gradientAccumulationSteps: Int = 1
    public var maxGradNorm: Float = 1
    /// "no" (fp32) or "bf16".
    public var mixedPrecision: String = "no"
    /// The matrix-product precision `mixed_precision` asks for.
    public var matmulPrecision: MatmulPrecision { mixedPrecision == "bf16" ? .bf16 : .fp32 }
    public var gradientCheckpointing: Bool = false
    public var seed: UInt32 = 0
    public var offsetNoise: Float = 0
    /// Min-SNR-γ weighting; nil = off.
    public var snrGamma: Float?
    public var trainTextEncoder: Bool = false
    public var useLora: Bool = false
    public var loraRank: Int = 4
    /// Default: the rank (scale 1).
    public var loraAlpha: Float?
    public var validationPrompts: [String] = []
    public var validationSteps: Int = 100
    public var validationGuidance: Float = 7.5
    public var validationInferenceSteps: Int = 25
    public var checkpointingSteps: Int = 100
    public var checkpointsTotalLimit: Int?
    public var outputDir: String

    enum CodingKeys: String, CodingKey {
        case pretrainedModel, instanceDataDir, identifier, classNoun, instancePrompt, classPrompt, classPrompts
        case withPriorPreservation, priorLossWeight, numClassImages, classDataDir, classImageSteps, classImageGuidance
        case resolution, centerCrop, randomFlip, learningRate, adamBeta1, adamBeta2
        case adamWeightDecay, adamEpsilon, lrScheduler, lrWarmupSteps, maxTrainSteps, trainBatchSize
        case gradientAccumulationSteps, maxGradNorm, mixedPrecision, gradientCheckpointing, seed, offsetNoise
        case snrGamma, trainTextEncoder, useLora, loraRank, loraAlpha, validationPrompts
        case validationSteps, validationGuidance, validationInferenceSteps, checkpointingSteps, checkpointsTotalLimit, outputDir
    }

    /// Absent keys take the defaults above (upstream configs list only what they change).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        pretrainedModel = try c.decodeIfPresent(String.self, forKey: .pretrainedModel)
        instanceDataDir = try c.decode(String.self, forKey: .instanceDataDir)
        identifier = try c.value(.identifier, identifier)
        classNoun = try c.decode(String.self, forKey: .classNoun)
        instancePrompt = try c.decodeIfPresent(String.self, forKey: .instancePrompt)
        classPrompt = try c.decodeIfPresent(String.self, forKey: .classPrompt)
        classPrompts = try c.decodeIfPresent([String].self, forKey: .classPrompts)
        withPriorPreservation = try c.value(.withPriorPreservation, withPriorPreservation)
        priorLossWeight = try c.value(.priorLossWeight, priorLossWeight)
        numClassImages = try c.value(.numClassImages, numClassImages)
        classDataDir = try c.decodeIfPresent(String.self, forKey: .classDataDir)
        classImageSteps = try c.value(.classImageSteps, classImageSteps)
        classImageGuidance = try c.value(.classImageGuidance, classImageGuidance)
        resolution = try c.decodeIfPresent(Int.self, forKey: .resolution)
        centerCrop = try c.value(.centerCrop, centerCrop)
        randomFlip = try c.value(.randomFlip, randomFlip)
        learningRate = try c.value(.learningRate, learningRate)
        adamBeta1 = try c.value(.adamBeta1, adamBeta1)
        adamBeta2 = try c.value(.adamBeta2, adamBeta2)
        adamWeightDecay = try c.value(.adamWeightDecay, adamWeightDecay)
        adamEpsilon = try c.value(.adamEpsilon, adamEpsilon)
        lrScheduler = try c.value(.lrScheduler, lrScheduler)
        lrWarmupSteps = try c.value(.lrWarmupSteps, lrWarmupSteps)
        maxTrainSteps = try c.value(.maxTrainSteps, maxTrainSteps)
        trainBatchSize = try c.value(.trainBatchSize, trainBatchSize)
        gradientAccumulationSteps = try c.value(.gradientAccumulationSteps, gradientAccumulationSteps)
        maxGradNorm = try c.value(.maxGradNorm, maxGradNorm)
        mixedPrecision = try c.value(.mixedPrecision, mixedPrecision)
        gradientCheckpointing = try c.value(.gradientCheckpointing, gradientCheckpointing)
        seed = try c.value(.seed, seed)
        offsetNoise = try c.value(.offsetNoise, offsetNoise)
        snrGamma = try c.decodeIfPresent(Float.self, forKey: .snrGamma)
        trainTextEncoder = try c.value(.trainTextEncoder, trainTextEncoder)
        useLora = try c.value(.useLora, useLora)
        loraRank = try c.value(.loraRank, loraRank)
        loraAlpha = try c.decodeIfPresent(Float.self, forKey: .loraAlpha)
        validationPrompts = try c.value(.validationPrompts, validationPrompts)
        validationSteps = try c.value(.validationSteps, validationSteps)
        validationGuidance = try c.value(.validationGuidance, validationGuidance)
        validationInferenceSteps = try c.value(.validationInferenceSteps, validationInferenceSteps)
        checkpointingSteps = try c.value(.checkpointingSteps, checkpointingSteps)
        checkpointsTotalLimit = try c.decodeIfPresent(Int.self, forKey: .checkpointsTotalLimit)
        outputDir = try c.decode(String.self, forKey: .outputDir)
    }

    /// A rare, meaningless CLIP token (one BPE piece), as the paper advises.
    public static let defaultIdentifier = "zwx"

    public init(instanceDataDir: String, classNoun: String, outputDir: String) {
        self.instanceDataDir = instanceDataDir
        self.classNoun = classNoun
        self.outputDir = outputDir
    }

    public var resolvedInstancePrompt: String { instancePrompt ?? "a photo of \(identifier) \(classNoun)" }
    public var resolvedClassPrompt: String { classPrompt ?? "a photo of a \(classNoun)" }
    /// The prompts class images are generated and trained with.
    public var resolvedClassPrompts: [String] { classPrompts.flatMap { $0.isEmpty ? nil : $0 } ?? [resolvedClassPrompt] }

    /// Problems that the schema cannot see (relations between keys), each naming its key.
    public func problems() -> [String] {
        var p: [String] = []
        if maxTrainSteps < 1 { p.append("max_train_steps must be at least 1") }
        if trainBatchSize < 1 { p.append("train_batch_size must be at least 1") }
        if gradientAccumulationSteps < 1 { p.append("gradient_accumulation_steps must be at least 1") }
        if checkpointingSteps < 1 { p.append("checkpointing_steps must be at least 1") }
        if let l = checkpointsTotalLimit, l < 1 { p.append("checkpoints_total_limit must be at least 1") }
        if let prompts = classPrompts, prompts.isEmpty || prompts.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            p.append("class_prompts must list at least one non-empty prompt")
        }
        if withPriorPreservation && numClassImages < 1 { p.append("num_class_images must be at least 1 with prior preservation") }
        if !["constant", "constant_with_warmup", "linear", "cosine"].contains(lrScheduler) {
            p.append("lr_scheduler '\(lrScheduler)' is not one of constant, constant_with_warmup, linear, cosine")
        }
        if !["no", "fp32", "bf16"].contains(mixedPrecision) { p.append("mixed_precision '\(mixedPrecision)' is not one of no, fp32, bf16") }
        if useLora && loraRank < 1 { p.append("lora_rank must be at least 1") }
        if useLora && trainTextEncoder { p.append("train_text_encoder with use_lora is not supported: LoRA adapts the UNet only") }
        if let r = resolution, r < 8 || r % 8 != 0 { p.append("resolution \(r) must be a positive multiple of 8") }
        if identifier.contains(" ") || identifier.isEmpty { p.append("identifier must be one word") }
        return p
    }

    /// The learning-rate schedule the config names, over the run's optimizer steps.
    var schedule: LRSchedule {
        switch lrScheduler {
        case "constant_with_warmup": return .constantWithWarmup(warmup: lrWarmupSteps)
        case "linear": return .linear(warmup: lrWarmupSteps, total: maxTrainSteps)
        case "cosine": return .cosine(warmup: lrWarmupSteps, total: maxTrainSteps)
        default: return .constant
        }
    }
}
