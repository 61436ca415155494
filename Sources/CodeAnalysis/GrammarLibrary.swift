import CTreeSitter
import Foundation

/// The 48 tree-sitter grammars of PyPI `tree-sitter-languages==1.10.2` in one `languages.so`
/// (ABI 13–14, matching Debian's runtime), loaded once with `dlopen`. The bootstrap unpacks it into
/// the model cache; `ATELIER_GRAMMARS` overrides the file.
public final class GrammarLibrary: @unchecked Sendable {
    public static let shared = GrammarLibrary()
    private let lock = NSLock()
    private var handle: UnsafeMutableRawPointer?
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

    public static var path: String {
        if let p = ProcessInfo.processInfo.environment["ATELIER_GRAMMARS"], !p.isEmpty { return p }
        let models = ProcessInfo.processInfo.environment["ATELIER_MODELS"]
            ?? ((ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? NSHomeDirectory() + "/.cache") + "/atelier/models")
        return models + "/tree-sitter-languages/languages.so"
    }

    public var isAvailable: Bool { (try? open()) != nil }

    private func open() throws -> UnsafeMutableRawPointer {
        try lock.withLock {
            if let handle { return handle }
            guard FileManager.default.fileExists(atPath: Self.path) else { throw CodeError.grammarsMissing(Self.path) }
            guard let h = dlopen(Self.path, RTLD_NOW | RTLD_LOCAL) else {
                throw CodeError.grammarUnavailable("all", detail: String(cString: dlerror()))
            }
            handle = h
            return h
        }
    }

    /// The grammar `tree_sitter_<symbol>`, checked against the runtime's ABI range.
    func language(_ symbol: String) throws -> OpaquePointer {
        let h = try open()
        return try lock.withLock {
            if let l = loaded[symbol] { return l }
            guard let f = dlsym(h, "tree_sitter_\(symbol)") else { throw CodeError.grammarUnavailable(symbol, detail: "not in \(Self.path)") }
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
