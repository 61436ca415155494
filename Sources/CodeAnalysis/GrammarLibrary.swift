import CTreeSitter
import Foundation

/// The 48 tree-sitter grammars of PyPI `tree-sitter-languages==1.10.2` in one `languages.so`
/// (ABI 13–14, matching Debian's runtime), loaded once with `dlopen`, plus Swift's, which the bootstrap
/// compiles from its PyPI sdist into `tree-sitter-swift/swift.so`. The bootstrap unpacks them into the
/// model cache; `ATELIER_GRAMMARS` overrides languages.so.
public final class GrammarLibrary: @unchecked Sendable {
    public static let shared = GrammarLibrary()
    private let lock = NSLock()
    private var loaded: [String: OpaquePointer] = [:]
    private var typeNames: [String: NodeTypeNames] = [:]
    private var classes: [String: NodeClasses] = [:]

    /// The node classes of a language, built once per language.
    func classes(_ spec: LanguageSpec, names: NodeTypeNames) -> NodeClasses {
        lock.withLock {
            if let c = classes[spec.name] { return c }
            let c = NodeClasses(names: names, spec: spec)
            classes[spec.name] = c
            return c
        }
    }

    func typeNames(_ symbol: String, _ language: OpaquePointer) -> NodeTypeNames {
        lock.withLock {
            if let t = typeNames[symbol] { return t }
            let t = NodeTypeNames(language)
            typeNames[symbol] = t
            return t
        }
    }

    static var models: String {
        ProcessInfo.processInfo.environment["ATELIER_MODELS"]
            ?? ((ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? NSHomeDirectory() + "/.cache") + "/atelier/models")
    }

    public static var path: String {
        if let p = ProcessInfo.processInfo.environment["ATELIER_GRAMMARS"], !p.isEmpty { return p }
        return models + "/tree-sitter-languages/languages.so"
    }

    /// A grammar the bootstrap builds on its own (Swift), beside the others in the model cache.
    static func ownLibrary(_ symbol: String) -> String { models + "/tree-sitter-\(symbol)/\(symbol).so" }

    public var isAvailable: Bool { (try? open(Self.path)) != nil }

    private var handles: [String: UnsafeMutableRawPointer] = [:]

    private func open(_ path: String) throws -> UnsafeMutableRawPointer {
        try lock.withLock {
            if let h = handles[path] { return h }
            guard FileManager.default.fileExists(atPath: path) else { throw CodeError.grammarsMissing(path) }
            guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
                throw CodeError.grammarUnavailable("all", detail: String(cString: dlerror()))
            }
            handles[path] = h
            return h
        }
    }

    /// Whether a file of this language is parsed with its grammar. Swift's grammar is built by the
    /// bootstrap and may be missing (no C compiler): Swift files then fall back to reading imports by
    /// line. For the others a missing grammar is an error the caller reports.
    func parses(_ spec: LanguageSpec) -> Bool {
        guard let grammar = spec.grammar else { return false }
        return spec.name != "swift" || (try? language(grammar)) != nil
    }

    /// The grammar `tree_sitter_<symbol>`, checked against the runtime's ABI range.
    func language(_ symbol: String) throws -> OpaquePointer {
        if let l = lock.withLock({ loaded[symbol] }) { return l }
        let own = Self.ownLibrary(symbol)
        let path = FileManager.default.fileExists(atPath: own) ? own : Self.path
        let h = try open(path)
        return try lock.withLock {
            if let l = loaded[symbol] { return l }
            guard let f = dlsym(h, "tree_sitter_\(symbol)") else { throw CodeError.grammarUnavailable(symbol, detail: "not in \(path)") }
            typealias Entry = @convention(c) () -> OpaquePointer?
            guard let lang = unsafeBitCast(f, to: Entry.self)() else { throw CodeError.grammarUnavailable(symbol, detail: "null language") }
            let v = ts_language_version(lang)
            guard v >= TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION, v <= TREE_SITTER_LANGUAGE_VERSION else {
                throw CodeError.grammarUnavailable(symbol, detail: "ABI \(v), runtime supports \(TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION)–\(TREE_SITTER_LANGUAGE_VERSION)")
            }
            loaded[symbol] = lang
            return lang
        }
    }
}
