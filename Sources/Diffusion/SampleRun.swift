import Foundation
import Neural

/// One `atelier sample` / `image_generate` call end to end: inputs read from files, images written
/// as PNGs next to a JSON sidecar holding every parameter needed to make them again.
public struct SampleRun: Sendable {
    public var request: GenerationRequest
    public var outputDirectory: String
    public var initImage: String? = nil
    public var latentsIn: String? = nil
    public var latentsOut: String? = nil

    public init(request: GenerationRequest, outputDirectory: String) {
        self.request = request
        self.outputDirectory = outputDirectory
    }

    /// What a run wrote, also the sidecar's content.
    public struct Report: Codable, Sendable {
        public var images: [String]
        public var sidecar: String
        public var latentsOut: String?
        public var model: String
        public var prompt: String
        public var negativePrompt: String
        public var steps: Int
        public var guidance: Float
        public var scheduler: String
        public var seed: UInt32
        public var numImages: Int
        public var width: Int
        public var height: Int
        public var eta: Float
        public var clipSkip: Int
        public var initImage: String?
        public var strength: Float?
        public var latentsIn: String?
        public var timesteps: [Float]
        public var warnings: [String]
        public var seconds: Double
        public var atelierVersion: String
    }

    /// Checks everything that can be checked without compute (sizes, files, scheduler); throws before any work.
    public func prepare(pipeline: StableDiffusionPipeline) throws(DiffusionError) -> (initImage: Tensor?, latents: Tensor?) {
        var image: Tensor? = nil
        if let path = initImage {
            let png: PNGImage
            do { png = try PNGImage(contentsOf: path) } catch { throw .invalidRequest("init image: \(error)") }
            var r = request
            if r.width == nil { r.width = png.width }
            if r.height == nil { r.height = png.height }
            let (w, h) = try pipeline.validate(r, hasInitImage: true)
            guard png.width == w, png.height == h else {
                throw .invalidRequest("the init image is \(png.width)×\(png.height) but \(w)×\(h) was asked for; resize it or leave out --width/--height")
            }
            image = png.tensor
        } else {
            _ = try pipeline.validate(request)
        }
        var latents: Tensor? = nil
        if let path = latentsIn {
            do {
                let file = try SafeTensors(path: path)
                guard let name = file.entries["latents"] != nil ? "latents" : file.names.first else { throw DiffusionError.invalidRequest("'\(path)' holds no tensor") }
                latents = try file.tensor(name)
            } catch let e as DiffusionError { throw e } catch { throw .invalidRequest("--latents-in: \(error)") }
        }
        _ = try (request.scheduler ?? pipeline.model.defaultScheduler).make(config: pipeline.model.schedulerConfig, steps: request.steps)
        return (image, latents)
    }

    public func run(pipeline: StableDiffusionPipeline, progress: (Int, Int) -> Void = { _, _ in },
                    isCancelled: () -> Bool = { false }) throws(DiffusionError) -> Report {
        let started = Date()
        let (image, latents) = try prepare(pipeline: pipeline)
        var r = request
        if let image { r.width = image.shape[3]; r.height = image.shape[2] }
        do { try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true) } catch {
            throw .io("cannot create the output folder '\(outputDirectory)': \(error.localizedDescription)")
        }
        let result = try pipeline.generate(r, initImage: image, latents: latents, progress: progress, isCancelled: isCancelled)
        let dir = URL(fileURLWithPath: outputDirectory)
        let stem = String(format: "%05d-%u", Self.nextNumber(in: outputDirectory), r.seed)
        var paths: [String] = []
        for i in 0..<r.numImages {
            let path = dir.appendingPathComponent("\(stem)-\(i).png").path
            do { try PNGImage(tensor: result.images, index: i).write(to: path) } catch { throw .io("\(error)") }
            paths.append(path)
        }
        if let latentsOut {
            do { try SafeTensors.write(["latents": result.latents], to: latentsOut, metadata: ["seed": "\(r.seed)", "prompt": r.prompt]) } catch {
                throw .io("--latents-out: \(error)")
            }
        }
        let sidecar = dir.appendingPathComponent("\(stem).json").path
        let report = Report(images: paths, sidecar: sidecar, latentsOut: latentsOut, model: pipeline.model.folder, prompt: r.prompt,
                            negativePrompt: r.negativePrompt, steps: r.steps, guidance: r.guidance, scheduler: result.scheduler.rawValue,
                            seed: r.seed, numImages: r.numImages, width: result.width, height: result.height, eta: r.eta, clipSkip: r.clipSkip,
                            initImage: initImage, strength: initImage == nil ? nil : r.strength, latentsIn: latentsIn, timesteps: result.timesteps,
                            warnings: result.warnings, seconds: Date().timeIntervalSince(started), atelierVersion: Self.version)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        do { try encoder.encode(report).write(to: URL(fileURLWithPath: sidecar), options: .atomic) } catch {
            throw .io("cannot write the sidecar '\(sidecar)': \(error.localizedDescription)")
        }
        return report
    }

    public static let version = "0.1.0"

    /// One more than the highest "NNNNN-" prefix in the folder, so runs never overwrite each other.
    static func nextNumber(in directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let used = names.compactMap { name -> Int? in
            guard let dash = name.firstIndex(of: "-") else { return nil }
            return Int(name[..<dash])
        }
        return (used.max() ?? 0) + 1
    }
}
