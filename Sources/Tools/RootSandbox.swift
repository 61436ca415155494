import Foundation
import Orchestrator

/// Confines file access to a set of root directories: `..` that escapes, absolute paths outside
/// every root and symlinks that lead out are refused, after resolving the real path.
public struct RootSandbox: Sendable {
    public let roots: [URL]

    public init(roots: [URL]) {
        self.roots = roots.map { $0.standardizedFileURL.resolvingSymlinksInPath() }
    }

    public enum Failure: Error, CustomStringConvertible {
        case outside(String, roots: [String])
        case notFound(String)
        public var description: String {
            switch self {
            case .outside(let p, let roots): return "'\(p)' is outside the allowed roots (\(roots.joined(separator: ", ")))"
            case .notFound(let p): return "'\(p)' does not exist"
            }
        }
    }

    /// The real path of `path` if it lies inside a root.
    public func resolve(_ path: String) throws -> URL {
        guard let first = roots.first else { throw Failure.outside(path, roots: []) }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : first.appendingPathComponent(path)
        let lexical = url.standardizedFileURL
        guard contains(lexical) else { throw Failure.outside(path, roots: roots.map(\.path)) }
        guard FileManager.default.fileExists(atPath: lexical.path) else { throw Failure.notFound(path) }
        let real = lexical.resolvingSymlinksInPath()
        guard contains(real) else { throw Failure.outside(path, roots: roots.map(\.path)) }
        return real
    }

    /// A path that may not exist yet (an output folder): inside a root lexically, and its nearest
    /// existing ancestor inside a root after resolving symlinks.
    public func resolveNew(_ path: String) throws -> URL {
        guard let first = roots.first else { throw Failure.outside(path, roots: []) }
        let lexical = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : first.appendingPathComponent(path)).standardizedFileURL
        guard contains(lexical) else { throw Failure.outside(path, roots: roots.map(\.path)) }
        var existing = lexical
        while !FileManager.default.fileExists(atPath: existing.path) && existing.path != "/" { existing.deleteLastPathComponent() }
        // The root itself exists, so the nearest existing ancestor is at or below it; a symlink on the
        // way must not lead out.
        guard contains(existing.resolvingSymlinksInPath()) else { throw Failure.outside(path, roots: roots.map(\.path)) }
        return lexical
    }

    func contains(_ url: URL) -> Bool {
        let p = url.path
        return roots.contains { r in p == r.path || p.hasPrefix(r.path.hasSuffix("/") ? r.path : r.path + "/") }
    }

    /// The path shown to callers: relative to the first root containing it.
    func display(_ url: URL) -> String {
        for r in roots {
            let base = r.path.hasSuffix("/") ? r.path : r.path + "/"
            if url.path.hasPrefix(base) { return String(url.path.dropFirst(base.count)) }
            if url.path == r.path { return "." }
        }
        return url.path
    }
}
