import Foundation

/// Where the official JSON-Schema-Test-Suite lives: `../shared/data` beside the repository, or `$ATELIER_SHARED/data`.
enum TestSuiteLocation {
    static var root: URL {
        if let s = ProcessInfo.processInfo.environment["ATELIER_SHARED"] {
            return URL(fileURLWithPath: s).appendingPathComponent("data/JSON-Schema-Test-Suite")
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.deletingLastPathComponent().appendingPathComponent("shared/data/JSON-Schema-Test-Suite")
    }
}
