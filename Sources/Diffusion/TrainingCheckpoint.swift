import Foundation
import Neural

/// Everything besides tensors that a training run needs to go on exactly where it stopped.
public struct TrainingState: Codable, Sendable, Equatable {
    /// Optimizer steps done.
    public var step: Int
    /// The generator of noise, timesteps, crops and flips, as it stands after `step`.
    public var rng: NumPyRandom
    /// Training examples consumed (the position in the seeded data order).
    public var dataCursor: Int
    /// Digest of the settings that shape the run; a checkpoint of another run is refused.
    public var configDigest: String
    /// nil before the first step (JSON has no NaN).
    public var lastLoss: Float?
}

/// A run's checkpoints: `checkpoints/checkpoint-N/` folders (trainable weights, optimizer moments,
/// state.json) and a `latest` file naming the newest. Each is written into a temporary folder, every
/// file fsync'd, then renamed into place; `latest` moves only after that, by rename too. A process
/// killed at any moment leaves either the old checkpoint or the new one as `latest`, never half of one.
public struct TrainingCheckpoint: Sendable {
    public let directory: String

    public init(outputDir: String) { directory = outputDir + "/checkpoints" }

    /// Writes checkpoint `state.step` and prunes the oldest beyond `totalLimit`; returns its path.
    @discardableResult
    public func write(trainable: [String: Tensor], optimizer: [String: Tensor], state: TrainingState, totalLimit: Int?) throws(DiffusionError) -> String {
        let fm = FileManager.default
        let name = "checkpoint-\(state.step)"
        let final = directory + "/" + name, staging = directory + "/.\(name).partial-\(getpid())"
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try? fm.removeItem(atPath: staging)
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
            try SafeTensors.write(trainable, to: staging + "/trainable.safetensors")
            try SafeTensors.write(optimizer, to: staging + "/optimizer.safetensors")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(state).write(to: URL(fileURLWithPath: staging + "/state.json"))
            for file in ["trainable.safetensors", "optimizer.safetensors", "state.json"] { try Self.sync(staging + "/" + file) }
            try Self.sync(staging)
            if fm.fileExists(atPath: final) { try fm.removeItem(atPath: final) }
            try fm.moveItem(atPath: staging, toPath: final)
            // `latest` is replaced by rename: readers see the old name or the new one.
            let pointer = directory + "/.latest-\(getpid())"
            try Data(name.utf8).write(to: URL(fileURLWithPath: pointer))
            try Self.sync(pointer)
            if rename(pointer, directory + "/latest") != 0 { throw DiffusionError.io("cannot update '\(directory)/latest': \(String(cString: strerror(errno)))") }
            try Self.sync(directory)
        } catch let e as DiffusionError {
            try? fm.removeItem(atPath: staging)
            throw e
        } catch {
            try? fm.removeItem(atPath: staging)
            throw .io("cannot write checkpoint \(name) in '\(directory)': \(error.localizedDescription) (the previous checkpoint is intact)")
        }
        if let limit = totalLimit { prune(keeping: limit) }
        return final
    }

    /// Checkpoint steps on disk, oldest first.
    public var steps: [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { $0.hasPrefix("checkpoint-") ? Int($0.dropFirst("checkpoint-".count)) : nil }.sorted()
    }

    /// The newest complete checkpoint, per `latest`.
    public var latest: String? {
        guard let data = FileManager.default.contents(atPath: directory + "/latest") else { return nil }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let path = directory + "/" + name
        return FileManager.default.fileExists(atPath: path + "/state.json") ? path : nil
    }

    func prune(keeping limit: Int) {
        let latestName = latest.map { URL(fileURLWithPath: $0).lastPathComponent }
        let old = steps.dropLast(limit)
        for s in old where "checkpoint-\(s)" != latestName { try? FileManager.default.removeItem(atPath: directory + "/checkpoint-\(s)") }
    }

    /// Reads a checkpoint folder.
    public static func read(_ path: String) throws(DiffusionError) -> (trainable: [String: Tensor], optimizer: [String: Tensor], state: TrainingState) {
        guard let data = FileManager.default.contents(atPath: path + "/state.json") else {
            throw .invalidRequest("'\(path)' is not a checkpoint (no state.json)")
        }
        let state: TrainingState
        do { state = try JSONDecoder().decode(TrainingState.self, from: data) } catch { throw .model("cannot read '\(path)/state.json': \(error)") }
        do {
            let trainable = try SafeTensors(path: path + "/trainable.safetensors").tensors()
            let optimizer = try SafeTensors(path: path + "/optimizer.safetensors").tensors()
            return (trainable, optimizer, state)
        } catch { throw .model("cannot read checkpoint '\(path)': \(error)") }
    }

    /// fsync of a file or folder.
    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DiffusionError.io("cannot open '\(path)' to sync it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw DiffusionError.io("cannot sync '\(path)': \(String(cString: strerror(errno)))") }
    }
}
