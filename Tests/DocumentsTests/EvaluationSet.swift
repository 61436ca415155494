import Foundation
import XCTest

/// The small evaluation set from tools/gen_ocr_eval.py (--small --extras), rendered once per test run.
enum EvaluationSet {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-ocr-set-\(getpid())")
        let p = Process()
        p.executableURL = repo.appendingPathComponent(".venv/bin/python")
        p.arguments = [repo.appendingPathComponent("tools/gen_ocr_eval.py").path, dir.path, "--small", "--extras"]
        p.standardOutput = FileHandle.nullDevice
        try! p.run()
        p.waitUntilExit()
        precondition(p.terminationStatus == 0, "tools/gen_ocr_eval.py failed (run `make bootstrap`)")
        return dir
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The ground truth written beside an image.
    static func truth(_ name: String) throws -> [String: Any] {
        let stem = (name as NSString).deletingPathExtension
        let data = try Data(contentsOf: directory.appendingPathComponent(stem + ".json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func extras() throws -> [String: [[String: Any]]] {
        let data = try Data(contentsOf: directory.appendingPathComponent("extras.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: [[String: Any]]]
    }

    /// Character error rate after whitespace normalisation (edit distance / reference length).
    static func cer(_ reference: String, _ hypothesis: String) -> Double {
        func norm(_ s: String) -> [Character] { Array(s.split(whereSeparator: \.isWhitespace).joined(separator: " ")) }
        let r = norm(reference), h = norm(hypothesis)
        var prev = Array(0...h.count)
        for i in 1...max(1, r.count) where !r.isEmpty {
            var cur = [i] + Array(repeating: 0, count: h.count)
            for j in stride(from: 1, through: h.count, by: 1) {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return Double(prev[h.count]) / Double(max(1, r.count))
    }
}
