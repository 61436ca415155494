import Foundation

/// Definitions from universal-ctags (`--output-format=json`) for languages without a grammar here.
public enum CtagsOutline {
    public static var executable: String? {
        ["/usr/bin/ctags", "/usr/local/bin/ctags", "/usr/bin/universal-ctags"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let kindNames: [String: String] = ["f": "function", "m": "method", "c": "class", "s": "struct", "e": "enum", "i": "interface",
                                              "n": "namespace", "p": "protocol", "t": "type", "v": "variable", "d": "macro", "g": "enum"]

    public static func outline(path: String, language: LanguageSpec) throws -> [CodeSymbol] {
        guard let exe = executable else { throw CodeError.ctagsFailed(path, detail: "universal-ctags is not installed; run `make bootstrap`") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        var args = ["--output-format=json", "--fields=+neKS", "-o", "-"]
        if let l = language.ctags { args.append("--language-force=\(l)") }
        p.arguments = args + [path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CodeError.ctagsFailed(path, detail: "exit \(p.terminationStatus)") }
        var symbols: [CodeSymbol] = []
        for line in data.split(separator: 10) {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], obj["_type"] as? String == "tag",
                  let name = obj["name"] as? String else { continue }
            let kind = (obj["kind"] as? String).map { kindNames[$0] ?? $0 } ?? "symbol"
            let start = obj["line"] as? Int ?? 1
            let end = obj["end"] as? Int ?? start
            symbols.append(CodeSymbol(name: name, kind: kind, range: SourceRange(start: Position(line: start, column: 1), end: Position(line: end, column: 1)),
                                      signature: (obj["signature"] as? String).map { name + $0 }, doc: nil,
                                      parent: obj["scope"] as? String, path: nil, selection: nil))
        }
        return symbols.sorted { $0.range.start.line < $1.range.start.line }
    }
}
