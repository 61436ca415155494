import Foundation
import Neural

/// The class images for prior preservation: generated from the base model with the class prompts
/// (cycled) until the folder holds `count`, image i with seed `seed + i`, each PNG written whole
/// (temporary name, then rename). A run that is stopped resumes where it was; later runs reuse the folder.
public struct ClassImageSet: Sendable {
    public let folder: String
    public let prompts: [String]
    public let count: Int

    public init(folder: String, prompts: [String], count: Int) {
        precondition(!prompts.isEmpty, "at least one class prompt")
        self.folder = folder
        self.prompts = prompts
        self.count = count
    }

    public init(folder: String, prompt: String, count: Int) { self.init(folder: folder, prompts: [prompt], count: count) }

    /// The prompt image `i` was generated with, and trains with.
    public func prompt(_ i: Int) -> String { prompts[i % prompts.count] }

    /// What the folder's `class_prompt.txt` records: one prompt per line.
    var manifestText: String { prompts.joined(separator: "\n") }

    /// Default folder: shared by every run of the same base model, prompt and resolution.
    public static func defaultFolder(model: String, prompt: String, resolution: Int, cacheRoot: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in "\(model)\n\(prompt)\n\(resolution)".utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let slug = prompt.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.prefix(40)
        return cacheRoot + "/class-images/" + String(slug) + "-" + String(h, radix: 16)
    }

    func path(_ i: Int) -> String { folder + String(format: "/class-%05d.png", i) }

    /// How many of the `count` images exist.
    public var existing: Int { (0..<count).filter { FileManager.default.fileExists(atPath: path($0)) }.count }

    /// Generates the missing images. Returns how many were made.
    @discardableResult
    public func fill(pipeline: StableDiffusionPipeline, resolution: Int, steps: Int, guidance: Float, seed: UInt32,
                     progress: (Int, Int) -> Void = { _, _ in }, isCancelled: () -> Bool = { false }) throws(DiffusionError) -> Int {
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw .io("cannot create the class image folder '\(folder)': \(error.localizedDescription)")
        }
        let manifest = folder + "/class_prompt.txt"
        if let old = FileManager.default.contents(atPath: manifest), String(decoding: old, as: UTF8.self) != manifestText {
            let was = String(decoding: old, as: UTF8.self).replacingOccurrences(of: "\n", with: "\" | \"")
            throw .invalidRequest("'\(folder)' holds class images for \"\(was)\", not \"\(prompts.joined(separator: "\" | \""))\"; choose another class_data_dir")
        }
        try? Data(manifestText.utf8).write(to: URL(fileURLWithPath: manifest))
        var made = 0
        let already = existing
        for i in 0..<count where !FileManager.default.fileExists(atPath: path(i)) {
            if isCancelled() { throw .cancelled }
            var request = GenerationRequest(prompt: prompt(i))
            request.steps = steps
            request.guidance = guidance
            request.seed = seed &+ UInt32(i)
            request.width = resolution
            request.height = resolution
            let image = try pipeline.generate(request).images
            let staging = path(i) + ".partial"
            do {
                try PNGImage(tensor: image).write(to: staging)
                try FileManager.default.moveItem(atPath: staging, toPath: path(i))
            } catch { throw .io("cannot write class image '\(path(i))': \(error)") }
            made += 1
            progress(already + made, count)
        }
        return made
    }

    /// The images, read back from disk (so a fresh and a resumed run see the same 8-bit pixels).
    public func load(resolution: Int) throws(DiffusionError) -> [Tensor] {
        var out: [Tensor] = []
        for i in 0..<count {
            do {
                let t = try PNGImage(contentsOf: path(i)).tensor
                out.append(TrainingImages.resizeShorterSide(Tensor(shape: Array(t.shape.dropFirst()), data: t.data), to: resolution))
            } catch { throw .model("cannot read class image '\(path(i))': \(error)") }
        }
        return out
    }
}
