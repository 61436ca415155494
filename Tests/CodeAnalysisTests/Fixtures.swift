import CodeAnalysis
import Foundation

/// Writes small source trees for the tests, in a temporary folder.
final class Scratch {
    let root: URL
    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-code-\(UUID().uuidString)").resolvingSymlinksInPath()
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: root) }

    @discardableResult
    func write(_ rel: String, _ text: String) throws -> String {
        let url = root.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func analyze(_ rel: String, _ text: String) throws -> FileAnalysis { try FileAnalysis.analyze(try write(rel, text)) }
}
