import ArgumentParser
import Diffusion
import Foundation
import Neural
import Text
import Tools

/// `atelier train`: DreamBooth fine-tuning from a YAML config.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Personalize an image model on a subject (DreamBooth with class-prior preservation).",
        discussion: "The config's keys are listed in schemas/config/dreambooth.json; examples/dreambooth.yaml trains the embedded Shapes model on a bundled subject. Prints a JSON summary on stdout; checkpoints, metrics.jsonl, TensorBoard logs and the exported model go to output_dir.")

    @Option(name: .long, help: "YAML (or JSON) training config.") var config: String?
    @Option(name: .long, help: "Resume from 'latest' or a checkpoint folder.") var resume: String?
    @Option(name: .customLong("set"), help: "Override a config key (key=value; repeatable).") var overrides: [String] = []
    @Option(name: .long, help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(name: .long, help: "CLIP BPE vocabulary for models without tokenizer/ (default: the bootstrap's copy).") var vocabulary: String?
    @Option(name: .long, help: "Log level on stderr: error, warning, info, debug.") var logLevel: LogLevel = .info

    func run() throws {
        Log.level = logLevel
        if let threads { BLAS.threads = threads }
        guard config != nil || !overrides.isEmpty else { throw ValidationError("give --config FILE (and optionally --set key=value overrides)") }
        let settings: DreamBoothConfig
        do { settings = try DreamBoothConfigFile.load(path: config, overrides: overrides) } catch { throw ValidationError("\(error)") }
        let summary: DreamBoothSummary
        do {
            let trainer = try DreamBoothTrainer(config: settings, bpeVocabulary: vocabulary ?? CLIPTokenizer.bootstrapVocabulary)
            for w in trainer.warnings { Log.warning(w) }
            Log.info("training \(settings.useLora ? "LoRA adapters (rank \(settings.loraRank)) on the UNet" : "the UNet")\(settings.trainTextEncoder ? " and the text encoder" : "; text encoder frozen") of \(trainer.modelPath)")
            RunRegistry.record(settings.outputDir)
            var bar: ProgressBar?
            var phase: DreamBoothTrainer.Phase?
            var lastLog = Date.distantPast
            summary = try trainer.run(resume: resume) { p in
                if p.phase != phase {
                    bar?.finish()
                    phase = p.phase
                    bar = ProgressBar(label: p.phase.rawValue)
                }
                if let m = p.metrics {
                    bar?.update(p.done, p.total, detail: String(format: "loss %.4f", m.loss))
                    if Date().timeIntervalSince(lastLog) > 30 || p.done == p.total {
                        lastLog = Date()
                        Log.info(String(format: "step %d/%d loss %.4f (instance %.4f%@) lr %.2g grad %.3f %.2f s/step", m.step, p.total, m.loss, m.instanceLoss,
                                        m.priorLoss.map { String(format: ", prior %.4f", $0) } ?? "", m.learningRate, m.gradNorm, m.stepTime))
                    }
                } else {
                    bar?.update(p.done, p.total)
                }
            }
            bar?.finish()
        } catch {
            throw ValidationError("\(error)")
        }
        print(String(decoding: try reportJSON(summary), as: UTF8.self))
    }
}

/// Output folders of past runs, for `atelier runs`.
enum RunRegistry {
    static var file: String { ModelStore.directory + "/../runs.txt" }

    static func record(_ outputDir: String) {
        let path = URL(fileURLWithPath: outputDir).standardizedFileURL.path
        guard !all.contains(path) else { return }
        try? FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let line = Data((path + "\n").utf8)
        if let h = FileHandle(forWritingAtPath: file) {
            h.seekToEndOfFile()
            h.write(line)
            h.closeFile()
        } else {
            FileManager.default.createFile(atPath: file, contents: line)
        }
    }

    static var all: [String] {
        guard let d = FileManager.default.contents(atPath: file) else { return [] }
        return String(decoding: d, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "Training runs: list them, or show one.",
                                                    subcommands: [RunsList.self, RunsShow.self])
}

/// One run's state, read from its folder.
struct RunStatus: Encodable {
    let outputDir: String
    let exists: Bool
    let steps: Int?
    let maxTrainSteps: Int?
    let lastLoss: Float?
    let latestCheckpoint: String?
    let finished: Bool
    let model: String?

    init(_ dir: String) {
        outputDir = dir
        exists = FileManager.default.fileExists(atPath: dir)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let config = FileManager.default.contents(atPath: dir + "/config.json").flatMap { try? decoder.decode(DreamBoothConfig.self, from: $0) }
        maxTrainSteps = config?.maxTrainSteps
        model = config?.pretrainedModel ?? (config == nil ? nil : "embedded Shapes model")
        let lines = FileManager.default.contents(atPath: dir + "/metrics.jsonl").map { String(decoding: $0, as: UTF8.self).split(separator: "\n") } ?? []
        let last = lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        steps = last?["step"] as? Int
        lastLoss = (last?["loss"] as? Double).map(Float.init)
        latestCheckpoint = TrainingCheckpoint(outputDir: dir).latest
        finished = FileManager.default.fileExists(atPath: dir + "/summary.json")
    }
}

struct RunsList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every run `atelier train` has started on this machine.")
    @Flag(name: .long, help: "JSON on stdout.") var json = false

    func run() throws {
        let runs = RunRegistry.all.map(RunStatus.init)
        if json {
            print(String(decoding: try reportJSON(runs), as: UTF8.self))
            return
        }
        for r in runs {
            let state = !r.exists ? "missing" : r.finished ? "finished" : r.latestCheckpoint != nil ? "resumable" : "started"
            print("\(r.outputDir)\t\(state)\tstep \(r.steps ?? 0)/\(r.maxTrainSteps ?? 0)\tloss \(r.lastLoss.map { String(format: "%.4f", $0) } ?? "-")")
        }
    }
}

struct RunsShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "A run's config, progress and summary as JSON.")
    @Argument(help: "The run's output_dir.") var outputDir: String

    func run() throws {
        guard FileManager.default.fileExists(atPath: outputDir + "/config.json") else { throw ValidationError("'\(outputDir)' is not a training run (no config.json)") }
        var out: [String: Any] = [:]
        for name in ["config", "summary"] {
            if let d = FileManager.default.contents(atPath: outputDir + "/\(name).json"), let o = try? JSONSerialization.jsonObject(with: d) { out[name] = o }
        }
        let status = RunStatus(outputDir)
        out["steps"] = status.steps ?? 0
        out["last_loss"] = status.lastLoss.map { Double($0) as Any } ?? NSNull()
        out["latest_checkpoint"] = status.latestCheckpoint.map { $0 as Any } ?? NSNull()
        out["checkpoints"] = TrainingCheckpoint(outputDir: outputDir).steps
        print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
    }
}
