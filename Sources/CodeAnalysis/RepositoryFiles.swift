import Foundation

/// The source files under a folder: hidden, vendored and build folders skipped, symbolic links
/// followed only when they stay inside the root (a link loop or an escape is reported, not followed).
public enum RepositoryFiles {
    public static let skippedDirectories: Set<String> = [".git", ".hg", ".svn", ".build", "build", "node_modules", "__pycache__", ".venv", "venv",
                                                         ".tox", "target", "dist", ".cache", ".idea", ".vscode", "Pods", "DerivedData"]

    public struct Skip: Codable, Sendable, Equatable { public var path: String; public var reason: String }

    public static func list(_ root: String, limit: Int = 200_000) -> (files: [String], skipped: [Skip]) {
        let rootURL = URL(fileURLWithPath: root).resolvingSymlinksInPath().standardizedFileURL
        var files: [String] = [], skipped: [Skip] = []
        var seenDirs = Set<String>()
        var stack = [rootURL.path]
        let fm = FileManager.default
        while let dir = stack.popLast(), files.count < limit {
            let real = URL(fileURLWithPath: dir).resolvingSymlinksInPath().path
            guard seenDirs.insert(real).inserted else { skipped.append(Skip(path: dir, reason: "symbolic link loop")); continue }
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for name in names.sorted() {
                if name.hasPrefix(".") || skippedDirectories.contains(name) { continue }
                let path = dir + "/" + name
                // lstat first: only symbolic links need resolving (realpath per entry is costly).
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                var isDir = (st.st_mode & S_IFMT) == S_IFDIR
                if (st.st_mode & S_IFMT) == S_IFLNK {
                    var target = stat()
                    guard stat(path, &target) == 0 else { skipped.append(Skip(path: path, reason: "broken symbolic link")); continue }
                    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
                    if !(resolved == rootURL.path || resolved.hasPrefix(rootURL.path + "/")) {
                        skipped.append(Skip(path: path, reason: "symbolic link leaves the root")); continue
                    }
                    isDir = (target.st_mode & S_IFMT) == S_IFDIR
                }
                if isDir { stack.append(path) } else if Languages.detect(path: path) != nil || isScript(path) { files.append(path) }
            }
        }
        return (files.sorted(), skipped)
    }

    /// Files without an extension that start with `#!` (scripts).
    static func isScript(_ path: String) -> Bool {
        guard (path as NSString).pathExtension.isEmpty, let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 128)) ?? Data()
        return Languages.detect(path: path, head: head) != nil
    }
}
