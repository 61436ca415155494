import Foundation
import JSONSchema
import Orchestrator

/// `fs_read`: a text file (or a byte range of it) from inside the roots.
public struct FileReadTool: Tool {
    public let descriptor = ToolCatalog.descriptor("fs_read")
    let sandbox: RootSandbox

    public init(sandbox: RootSandbox) { self.sandbox = sandbox }

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let path = arguments["path"]!.stringValue!
        let offset = arguments["offset"]?.intValue ?? 0
        let maxBytes = arguments["maxBytes"]?.intValue ?? 1 << 20
        let url: URL
        do { url = try sandbox.resolve(path) } catch { throw ToolError.failed("\(error)") }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            throw ToolError.failed("'\(path)' is a directory; use fs_list")
        }
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw ToolError.failed("'\(path)' cannot be opened for reading") }
        defer { try? handle.close() }
        let size = Int((try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)??.intValue ?? 0)
        try handle.seek(toOffset: UInt64(min(offset, size)))
        let data = try handle.read(upToCount: maxBytes) ?? Data()
        // Cut at a character boundary so a range read never yields broken UTF-8.
        var bytes = [UInt8](data)
        while !bytes.isEmpty, String(validating: bytes, as: UTF8.self) == nil, bytes.count > data.count - 4 { bytes.removeLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ToolError.failed("'\(path)' is not UTF-8 text")
        }
        let truncated = offset + bytes.count < size
        let out: JSONValue = .object(JSONObject([
            ("path", .string(sandbox.display(url))), ("content", .string(text)), ("size", JSONValue(size)),
            ("offset", JSONValue(offset)), ("truncated", .bool(truncated)),
        ]))
        return ToolOutput(structured: out, text: text)
    }
}

/// `fs_list`: directory entries inside the roots.
public struct FileListTool: Tool {
    public let descriptor = ToolCatalog.descriptor("fs_list")
    let sandbox: RootSandbox

    public init(sandbox: RootSandbox) { self.sandbox = sandbox }

    public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
        let path = arguments["path"]?.stringValue ?? "."
        let recursive = arguments["recursive"]?.boolValue ?? false
        let hidden = arguments["includeHidden"]?.boolValue ?? false
        let limit = arguments["maxEntries"]?.intValue ?? 1000
        let dir: URL
        do { dir = try sandbox.resolve(path) } catch { throw ToolError.failed("\(error)") }
        let fm = FileManager.default
        var entries: [JSONValue] = []
        var truncated = false
        var pending: [URL] = [dir]
        outer: while let d = pending.popLast() {
            try context.checkCancellation()
            guard let names = try? fm.contentsOfDirectory(atPath: d.path) else {
                if d == dir { throw ToolError.failed("'\(path)' is not a directory") }
                continue
            }
            for name in names.sorted() where hidden || !name.hasPrefix(".") {
                if entries.count >= limit { truncated = true; break outer }
                let u = d.appendingPathComponent(name)
                let attrs = try? fm.attributesOfItem(atPath: u.path)
                let t = attrs?[.type] as? FileAttributeType
                let kind: String
                switch t {
                case .typeDirectory?: kind = "directory"
                case .typeRegular?: kind = "file"
                case .typeSymbolicLink?: kind = "symlink"
                default: kind = "other"
                }
                var e = JSONObject([("path", .string(sandbox.display(u))), ("type", .string(kind))])
                if kind == "file", let n = attrs?[.size] as? NSNumber { e["size"] = JSONValue(n.intValue) }
                entries.append(.object(e))
                // Symlinked directories are not followed: they could lead outside the roots.
                if recursive && kind == "directory" { pending.insert(u, at: 0) }
            }
        }
        let out: JSONValue = .object(JSONObject([("path", .string(sandbox.display(dir))), ("entries", .array(entries)), ("truncated", .bool(truncated))]))
        let text = entries.compactMap { $0["path"]?.stringValue }.joined(separator: "\n")
        return ToolOutput(structured: out, text: text)
    }
}
