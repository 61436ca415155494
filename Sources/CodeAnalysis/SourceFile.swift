import Foundation

/// A source file read for analysis, refused with a reason when it should not be parsed: binary,
/// not UTF-8, enormous, or with lines so long it is minified or generated.
public struct SourceFile: Sendable {
    public let path: String
    public let language: LanguageSpec
    public let text: String
    public let bytes: [UInt8]

    public struct Limits: Sendable {
        public var maxBytes = 4 << 20
        public var maxLineLength = 20_000
        public init() {}
    }

    public static func read(_ path: String, limits: Limits = Limits(), language: LanguageSpec? = nil) throws -> SourceFile {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { throw CodeError.notFound(path) }
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
        if size > limits.maxBytes { throw CodeError.tooLarge(path, bytes: size, limit: limits.maxBytes) }
        guard let data = FileManager.default.contents(atPath: path) else { throw CodeError.notFound(path) }
        let bytes = [UInt8](data)
        if bytes.prefix(8192).contains(0) { throw CodeError.binary(path) }
        guard let lang = language ?? Languages.detect(path: path, head: data.prefix(256)) else { throw CodeError.unsupportedLanguage(path) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw CodeError.invalidUTF8(path) }
        var line = 1, run = 0
        for b in bytes {
            if b == 10 { line += 1; run = 0; continue }
            run += 1
            if run > limits.maxLineLength { throw CodeError.lineTooLong(path, line: line, length: Self.lineLength(bytes, line: line), limit: limits.maxLineLength) }
        }
        return SourceFile(path: path, language: lang, text: text, bytes: bytes)
    }

    static func lineLength(_ bytes: [UInt8], line: Int) -> Int {
        var l = 1, n = 0
        for b in bytes {
            if b == 10 { if l == line { return n }; l += 1; continue }
            if l == line { n += 1 }
        }
        return n
    }

    /// Line counts: total, code, comment-only and blank (comment lines come from the syntax tree).
    public func lineCounts(commentLines: Set<Int>) -> (total: Int, code: Int, comment: Int, blank: Int) {
        // On bytes: splitting the text into Characters cost as much as parsing it. A line with bytes
        // beyond ASCII and nothing else visible is decoded, so Unicode spaces still count as blank.
        var total = 0, blank = 0, comment = 0
        var start = 0, visible = false, wide = false
        func endLine(_ end: Int) {
            var isBlank = !visible
            if isBlank, wide {
                isBlank = String(decoding: bytes[start..<end], as: UTF8.self).allSatisfy(\.isWhitespace)
            }
            if isBlank { blank += 1 } else if commentLines.contains(total) { comment += 1 }
            total += 1
        }
        for (i, b) in bytes.enumerated() {
            if b == 10 {
                endLine(i)
                start = i + 1; visible = false; wide = false
            } else if b >= 0x80 {
                wide = true
            } else if !(b == 32 || (b >= 9 && b <= 13)) {
                visible = true
            }
        }
        if start < bytes.count { endLine(bytes.count) }
        return (total, total - blank - comment, comment, blank)
    }
}
