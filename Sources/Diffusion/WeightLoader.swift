import Foundation
import Neural

/// Copies safetensors weights into a module by its parameter names, collecting every missing or
/// mis-shaped tensor into one error rather than stopping at the first.
struct WeightLoader {
    let files: [SafeTensors]
    private let index: [String: Int]

    init(files: [SafeTensors]) {
        self.files = files
        var index: [String: Int] = [:]
        for (i, f) in files.enumerated() { for name in f.names { index[name] = i } }
        self.index = index
    }

    /// The safetensors files of one part of a diffusers folder (`unet/`, `vae/`, `text_encoder/`):
    /// the plain file, else the fp16 variant, else a sharded index.
    static func files(in directory: String, stem: String) throws(DiffusionError) -> [SafeTensors] {
        let fm = FileManager.default
        let dir = URL(fileURLWithPath: directory)
        for name in ["\(stem).safetensors", "\(stem).fp16.safetensors"] {
            let p = dir.appendingPathComponent(name).path
            if fm.fileExists(atPath: p) { return [try open(p)] }
        }
        for name in ["\(stem).safetensors.index.json", "\(stem).safetensors.index.fp16.json"] {
            let p = dir.appendingPathComponent(name).path
            guard let data = fm.contents(atPath: p) else { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let map = obj["weight_map"] as? [String: String] else {
                throw .model("'\(p)' is not a safetensors index (no weight_map)")
            }
            var out: [SafeTensors] = []
            for shard in Set(map.values).sorted() { out.append(try open(dir.appendingPathComponent(shard).path)) }
            return out
        }
        let listing = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
        let safetensors = listing.filter { $0.hasSuffix(".safetensors") }.sorted()
        if safetensors.count == 1 { return [try open(dir.appendingPathComponent(safetensors[0]).path)] }
        if listing.contains(where: { $0.hasSuffix(".bin") || $0.hasSuffix(".ckpt") }) {
            throw .model("'\(directory)' holds PyTorch pickle weights (.bin/.ckpt), which Atelier does not load (they can run code); save them as safetensors (diffusers: save_pretrained(..., safe_serialization=True))")
        }
        throw .model("'\(directory)' has no weights: expected \(stem).safetensors")
    }

    static func open(_ path: String) throws(DiffusionError) -> SafeTensors {
        do { return try SafeTensors(path: path) } catch { throw .model("cannot read '\(path)': \(error)") }
    }

    func has(_ key: String) -> Bool { index[key] != nil }

    /// Loads every parameter of `module`. `aliases` gives other names a parameter may be stored under
    /// (older checkpoints' names), tried after `prefix + name`.
    func load(_ module: Module, prefix: String = "", aliases: (String) -> [String] = { _ in [] }) throws(DiffusionError) {
        var problems: [String] = []
        for (name, parameter) in module.namedParameters {
            let candidates = [prefix + name] + aliases(name).map { prefix + $0 }
            guard let key = candidates.first(where: has), let file = index[key] else {
                problems.append("'\(prefix + name)' is missing")
                continue
            }
            let file_ = files[file]
            guard let entry = file_.entries[key] else { continue }
            // Older VAEs store attention projections as 1×1 convs: same numbers, extra unit dimensions.
            let sameShape = entry.shape == parameter.shape
                || (entry.shape.filter { $0 != 1 } == parameter.shape.filter { $0 != 1 } && entry.shape.reduce(1, *) == parameter.count)
            guard sameShape else {
                problems.append("'\(key)' has shape \(entry.shape), the config needs \(parameter.shape)")
                continue
            }
            do { parameter.data = try file_.tensor(key).data } catch { problems.append("'\(key)': \(error)") }
        }
        if !problems.isEmpty { throw .weights(problems) }
    }
}
