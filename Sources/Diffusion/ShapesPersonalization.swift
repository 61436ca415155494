import Foundation
import Neural

/// A fixed feature extractor for the Shapes world, independent of any model: the object's bounding box
/// (found by the oracle) resampled to an 8×8 grid of colours. Two objects look alike when their grids do,
/// which captures a subject's pattern (halves, stripes, a dot) whatever its size or place.
public enum AppearanceDescriptor {
    public static let cells = 8

    public static func of(_ image: Tensor, oracle: ShapesOracle) -> [Float]? {
        guard let (_, region) = oracle.locate(image) else { return nil }
        let (h, w) = (image.shape[1], image.shape[2])
        let xs = region.map { $0 % w }, ys = region.map { $0 / w }
        let x0 = Float(xs.min()!), x1 = Float(xs.max()! + 1), y0 = Float(ys.min()!), y1 = Float(ys.max()! + 1)
        var out: [Float] = []
        out.reserveCapacity(cells * cells * 3)
        for c in 0..<3 {
            for gy in 0..<cells {
                for gx in 0..<cells {
                    let x = x0 + (Float(gx) + 0.5) / Float(cells) * (x1 - x0) - 0.5
                    let y = y0 + (Float(gy) + 0.5) / Float(cells) * (y1 - y0) - 0.5
                    out.append(TrainingImages.bilinear(image, c, Double(y), Double(x)))
                }
            }
        }
        return out
    }

    /// 1 − mean absolute difference: 1 for identical grids.
    public static func similarity(_ a: [Float], _ b: [Float]) -> Float {
        1 - Swift.zip(a, b).reduce(0) { $0 + abs($1.0 - $1.1) } / Float(a.count)
    }
}

/// The paper's metrics (Ruiz et al., Table 3), Shapes-world analogues measured with the oracle and the
/// appearance descriptor, never with the model under test.
public struct PersonalizationMetrics: Codable, Sendable {
    /// DINO/CLIP-I analogue: mean appearance similarity of identifier samples to the real subject photos.
    public let subjectFidelity: Float
    /// CLIP-T analogue: share of the requested context (size, position, background) the oracle finds honoured.
    public let promptFidelity: Float
    /// The paper's PRES: mean appearance similarity of class-prompt samples (no identifier) to the real
    /// subject photos; lower is better. The base model's value is what plain members of the class score.
    public let pres: Float
    /// Share of class-prompt samples in which the oracle reads the class and colour asked for: how much of
    /// its class the model kept (language drift lowers it, as "a dog" drawing no dog would).
    public let classAccuracy: Float
    /// Diversity of identifier samples: mean pairwise pixel distance (0…1).
    public let div: Float
    public let subjectSamples: Int
    public let classSamples: Int
}

/// One trained setting's row of the ablation.
public struct PersonalizationRow: Codable, Sendable {
    public let subject: String
    public let setting: String
    public let priorPreservation: Bool
    public let trainTextEncoder: Bool
    public let metrics: PersonalizationMetrics
    public let finalLoss: Float?
    public let trainSeconds: Double
}

public struct PersonalizationReport: Codable, Sendable {
    public let baseModel: String
    public let steps: Int
    public let classImages: Int
    public let quick: Bool
    public let rows: [PersonalizationRow]
    public let seconds: Double
}

/// `atelier demo personalize`: DreamBooth on Shapes subjects with and without prior preservation (and,
/// for the ablation, with the text encoder frozen and trained), each setting measured the same way.
public struct ShapesPersonalization {
    public struct Setting: Sendable {
        public let name: String
        public let priorPreservation: Bool
        public let trainTextEncoder: Bool

        public static let withPrior = Setting(name: "prior", priorPreservation: true, trainTextEncoder: false)
        public static let withoutPrior = Setting(name: "no-prior", priorPreservation: false, trainTextEncoder: false)
        public static let withPriorText = Setting(name: "prior+text", priorPreservation: true, trainTextEncoder: true)
        public static let withoutPriorText = Setting(name: "no-prior+text", priorPreservation: false, trainTextEncoder: true)
    }

    public let baseModel: String
    public let workDir: String
    public let quick: Bool
    public var identifier = DreamBoothConfig.defaultIdentifier
    public var steps: Int
    public var classImages: Int
    public var learningRate: Float = 2e-4
    public var guidance: Float = 5
    public var samplingSteps = 20

    public init(baseModel: String, workDir: String, quick: Bool) {
        self.baseModel = baseModel
        self.workDir = workDir
        self.quick = quick
        steps = quick ? 150 : 250
        classImages = quick ? 32 : 50
    }

    /// Evaluation contexts: sizes, positions and backgrounds in combinations the photos do not show.
    var contexts: [(ShapeSize, ShapePosition, BackgroundColor)] {
        // All eight even in the quick run: with four, PRES moved by less than its own noise.
        [
            (.large, .center, .white), (.medium, .right, .gray), (.large, .left, .beige), (.medium, .top, .black),
            (.small, .center, .gray), (.large, .bottom, .white), (.medium, .center, .beige), (.small, .left, .black),
        ]
    }

    /// The evaluation's class prompt in a context: the subject's class in its main colour ("a photo of a
    /// large red square …"), which the subject answers as "a dog" answers a particular dog. Without a
    /// colour the caption would be one the base model never saw.
    func classPrompt(_ subject: ShapesSubject, _ scene: ShapesScene) -> String {
        scene.caption(object: "\(subject.color.rawValue) \(subject.classNoun)")
    }

    /// Captions of the class images: plain members of the class in every colour and random contexts. The
    /// base model only ever saw full captions, so "a photo of a square" alone draws nothing it knows.
    func classPrompts(_ subject: ShapesSubject) -> [String] { Self.classPrompts(for: subject.shape, count: classImages) }

    /// `count` captions of plain `shape`s, cycling the colours, in contexts drawn with a fixed seed: the
    /// class prompts DreamBooth needs on a Shapes-world model.
    public static func classPrompts(for shape: ShapeKind, count: Int) -> [String] {
        var rng = NumPyRandom(seed: 2024)
        let world = ShapesWorld()
        return (0..<count).map { i in
            var scene = world.randomScene(&rng)
            scene.shape = shape
            scene.color = ShapeColor.allCases[i % ShapeColor.allCases.count]
            scene.pattern = .solid
            return scene.caption()
        }
    }

    /// Samples identifier and class prompts from a pipeline and measures them.
    public func evaluate(_ pipeline: StableDiffusionPipeline, subject: ShapesSubject, seed: UInt32 = 0) throws(DiffusionError) -> (PersonalizationMetrics, subject: [Tensor], classImages: [Tensor]) {
        try evaluate(pipeline, subject: subject, photos: Self.photoDescriptors(subject), seed: seed)
    }

    /// Appearance descriptors of the subject's real photos, which every metric compares against.
    static func photoDescriptors(_ subject: ShapesSubject) -> [[Float]] {
        let oracle = ShapesOracle()
        return subject.trainingImages().compactMap { AppearanceDescriptor.of($0, oracle: oracle) }
    }

    func evaluate(_ pipeline: StableDiffusionPipeline, subject: ShapesSubject, photos: [[Float]],
                  seed: UInt32) throws(DiffusionError) -> (PersonalizationMetrics, subject: [Tensor], classImages: [Tensor]) {
        let oracle = ShapesOracle()
        func sample(_ prompt: String, _ i: Int) throws(DiffusionError) -> Tensor {
            var r = GenerationRequest(prompt: prompt)
            r.steps = samplingSteps
            r.guidance = guidance
            r.seed = seed &+ UInt32(i)
            let out = try pipeline.generate(r).images
            return Tensor(shape: Array(out.shape.dropFirst()), data: out.data)
        }
        var subjectImages: [Tensor] = [], classImages: [Tensor] = []
        var fidelity: Float = 0, honoured: Float = 0, classLikeness: Float = 0, classKept = 0
        for (i, (size, position, background)) in contexts.enumerated() {
            let scene = subject.scene(size: size, position: position, background: background)
            let mine = try sample(scene.caption(object: "\(identifier) \(subject.classNoun)"), i)
            subjectImages.append(mine)
            if let d = AppearanceDescriptor.of(mine, oracle: oracle) {
                fidelity += photos.map { AppearanceDescriptor.similarity(d, $0) }.reduce(0, +) / Float(photos.count)
            }
            if let r = oracle.read(mine) {
                honoured += Float([r.size == size, r.position == position, r.background == background].filter { $0 }.count) / 3
            }
            let plain = try sample(classPrompt(subject, scene), i)
            classImages.append(plain)
            if let r = oracle.read(plain), r.shape == subject.shape, r.color == subject.color { classKept += 1 }
            if let d = AppearanceDescriptor.of(plain, oracle: oracle) {
                classLikeness += photos.map { AppearanceDescriptor.similarity(d, $0) }.reduce(0, +) / Float(photos.count)
            }
        }
        var pairs: Float = 0, distance: Float = 0
        for a in 0..<subjectImages.count {
            for b in (a + 1)..<subjectImages.count {
                distance += Swift.zip(subjectImages[a].data, subjectImages[b].data).reduce(0) { $0 + abs($1.0 - $1.1) } / Float(subjectImages[a].count)
                pairs += 1
            }
        }
        let n = Float(contexts.count)
        let metrics = PersonalizationMetrics(subjectFidelity: fidelity / n, promptFidelity: honoured / n, pres: classLikeness / n,
                                             classAccuracy: Float(classKept) / n,
                                             div: pairs > 0 ? distance / pairs : 0, subjectSamples: contexts.count, classSamples: contexts.count)
        return (metrics, subjectImages, classImages)
    }

    /// Trains and measures every setting for every subject, after a "base" row for the untrained model.
    /// Returns the report and, per subject, a grid (rows: identifier prompts then class prompts; columns:
    /// the base model, then the settings).
    public func run(subjects: [ShapesSubject], settings: [Setting], bpeVocabulary: String?,
                    progress: (String) -> Void = { _ in }) throws(DiffusionError) -> (PersonalizationReport, [String: PNGImage]) {
        let started = Date()
        var rows: [PersonalizationRow] = []
        var grids: [String: PNGImage] = [:]
        for subject in subjects {
            let reference = Self.photoDescriptors(subject)
            let photos = workDir + "/subjects/" + subject.name
            try subject.writePhotos(to: photos, identifier: identifier)
            // The untrained base model, measured the same way: the reference the settings drift from.
            progress("\(subject.name): sampling the base model")
            let base = try StableDiffusionModel.load(baseModel, bpeVocabulary: bpeVocabulary)
            let (baseMetrics, baseMine, basePlain) = try evaluate(StableDiffusionPipeline(model: base), subject: subject, photos: reference, seed: 0)
            rows.append(PersonalizationRow(subject: subject.name, setting: "base", priorPreservation: false, trainTextEncoder: false,
                                           metrics: baseMetrics, finalLoss: nil, trainSeconds: 0))
            var columns: [[Tensor]] = [baseMine + basePlain]
            for setting in settings {
                progress("\(subject.name): training \(setting.name) (\(steps) steps)")
                var c = DreamBoothConfig(instanceDataDir: photos, classNoun: subject.classNoun, outputDir: workDir + "/runs/\(subject.name)-\(setting.name)")
                c.pretrainedModel = baseModel
                c.identifier = identifier
                c.withPriorPreservation = setting.priorPreservation
                c.trainTextEncoder = setting.trainTextEncoder
                c.numClassImages = classImages
                c.classPrompts = classPrompts(subject)
                c.classDataDir = workDir + "/class-images/" + subject.classNoun
                c.classImageSteps = samplingSteps
                c.classImageGuidance = guidance
                c.learningRate = learningRate
                c.maxTrainSteps = steps
                c.trainBatchSize = 4
                c.checkpointingSteps = steps
                c.checkpointsTotalLimit = 1
                c.validationInferenceSteps = samplingSteps
                c.validationGuidance = guidance
                let trainStart = Date()
                let trainer = try DreamBoothTrainer(config: c, bpeVocabulary: bpeVocabulary)
                let summary = try trainer.run()
                let trainSeconds = Date().timeIntervalSince(trainStart)
                progress("\(subject.name): sampling \(setting.name)")
                let (metrics, mine, plain) = try evaluate(StableDiffusionPipeline(model: trainer.model), subject: subject, photos: reference, seed: 0)
                rows.append(PersonalizationRow(subject: subject.name, setting: setting.name, priorPreservation: setting.priorPreservation,
                                               trainTextEncoder: setting.trainTextEncoder, metrics: metrics, finalLoss: summary.finalLoss,
                                               trainSeconds: trainSeconds))
                columns.append(mine + plain)
            }
            // Row-major: each prompt a row, each setting a column.
            var cells: [Tensor] = []
            for r in 0..<(columns.first?.count ?? 0) { for col in columns { cells.append(col[r]) } }
            grids[subject.name] = PNGImage.grid(cells, columns: columns.count)
        }
        let report = PersonalizationReport(baseModel: baseModel, steps: steps, classImages: classImages, quick: quick,
                                           rows: rows, seconds: Date().timeIntervalSince(started))
        return (report, grids)
    }

    /// The Markdown table of a report.
    public static func markdown(_ r: PersonalizationReport) -> String {
        var s = "| subject | setting | subject fidelity ↑ | prompt fidelity ↑ | PRES ↓ | class accuracy ↑ | DIV ↑ | final loss | train s |\n|---|---|---|---|---|---|---|---|---|\n"
        for row in r.rows {
            let m = row.metrics
            s += String(format: "| %@ | %@ | %.3f | %.3f | %.3f | %.3f | %.3f | %@ | %.0f |\n", row.subject, row.setting, m.subjectFidelity, m.promptFidelity,
                        m.pres, m.classAccuracy, m.div, row.finalLoss.map { String(format: "%.4f", $0) } ?? "-", row.trainSeconds)
        }
        return s
    }
}
