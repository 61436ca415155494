import Foundation
import Storage

/// A repository's symbols, identifiers, imports and function metrics in SQLite, updated incrementally:
/// files whose size and modification time are unchanged are not read; changed ones are re-analysed
/// only when their content hash differs; deleted ones are removed. Each update is one transaction.
public final class SymbolIndex: @unchecked Sendable {
    public let root: String
    public let db: SQLiteDatabase
    private let lock = NSLock()

    public struct UpdateReport: Codable, Sendable {
        public var files: Int, analysed: Int, unchanged: Int, removed: Int, symbols: Int
        public var skipped: [RepositoryFiles.Skip]
        public var seconds: Double
    }

    /// Bumped whenever the tables change.
    static let layoutVersion = 2

    /// The default location: a cache file per repository root.
    public static func defaultPath(for root: String) -> String {
        let base = ProcessInfo.processInfo.environment["ATELIER_CODE_INDEX_DIR"]
            ?? ((ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? NSHomeDirectory() + "/.cache") + "/atelier/code")
        return base + "/" + String(SHA256.hex(Array(root.utf8)).prefix(16)) + ".sqlite"
    }

    public init(root: String, path: String? = nil) throws {
        self.root = URL(fileURLWithPath: root).resolvingSymlinksInPath().standardizedFileURL.path
        let p = path ?? Self.defaultPath(for: self.root)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        db = try SQLiteDatabase(path: p)
        // An index written by an older layout is rebuilt from scratch rather than misread.
        if let v = try db.query("PRAGMA user_version").first?["user_version"]?.int, v != Self.layoutVersion {
            try db.executeScript("DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS symbols; DROP TABLE IF EXISTS idents; DROP TABLE IF EXISTS names; DROP TABLE IF EXISTS imports; DROP TABLE IF EXISTS functions;")
        }
        try db.executeScript("""
        PRAGMA user_version = \(Self.layoutVersion);
        PRAGMA journal_mode=WAL;
        CREATE TABLE IF NOT EXISTS files(id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, hash TEXT NOT NULL, size INTEGER, mtime REAL,
            language TEXT, lines INTEGER, code INTEGER, comment INTEGER, blank INTEGER, error TEXT);
        CREATE TABLE IF NOT EXISTS symbols(file_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT, start_line INTEGER, start_col INTEGER,
            end_line INTEGER, end_col INTEGER, parent TEXT, signature TEXT, name_line INTEGER, name_col INTEGER);
        CREATE INDEX IF NOT EXISTS symbols_name ON symbols(name COLLATE NOCASE);
        CREATE INDEX IF NOT EXISTS symbols_file ON symbols(file_id);
        CREATE TABLE IF NOT EXISTS names(file_id INTEGER NOT NULL, name TEXT NOT NULL, uses INTEGER, PRIMARY KEY(name, file_id)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS names_file ON names(file_id);
        CREATE TABLE IF NOT EXISTS imports(file_id INTEGER NOT NULL, module TEXT, line INTEGER);
        CREATE INDEX IF NOT EXISTS imports_file ON imports(file_id);
        CREATE TABLE IF NOT EXISTS functions(file_id INTEGER NOT NULL, name TEXT, start_line INTEGER, end_line INTEGER, complexity INTEGER,
            parameters INTEGER, nesting INTEGER, lines INTEGER);
        CREATE INDEX IF NOT EXISTS functions_file ON functions(file_id);
        """)
    }

    /// Brings the index up to date with the files under the root (or under `subpath`).
    @discardableResult
    public func update(workers: Int = ProcessInfo.processInfo.activeProcessorCount, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> UpdateReport {
        try lock.withLock {
            let start = Date()
            let (files, skipped0) = RepositoryFiles.list(root)
            var skipped = skipped0
            var known: [String: (id: Int, hash: String, size: Int, mtime: Double)] = [:]
            for r in try db.query("SELECT id, path, hash, size, mtime FROM files") {
                known[r["path"]?.text ?? ""] = (r["id"]?.int ?? 0, r["hash"]?.text ?? "", r["size"]?.int ?? -1, r["mtime"]?.double ?? -1)
            }
            var stale: [(String, Int, Double)] = []
            for f in files {
                let a = try? FileManager.default.attributesOfItem(atPath: f)
                let size = (a?[.size] as? NSNumber)?.intValue ?? 0
                let mtime = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                if let k = known[f], k.size == size, k.mtime == mtime { continue }
                stale.append((f, size, mtime))
            }
            // Analyse changed files in parallel; write serially.
            let results = Results(count: stale.count)
            let paths = stale.map(\.0)
            DispatchQueue.concurrentPerform(iterations: max(1, min(workers, stale.count))) { _ in
                while let i = results.next() {
                    results.set(i, Result { try FileAnalysis.analyze(paths[i]) })
                    progress?(i + 1, paths.count)
                }
            }
            var analysed = 0, failed = 0
            try db.transaction {
                let present = Set(files)
                var removed = 0
                for (path, k) in known where !present.contains(path) {
                    try deleteRows(k.id)
                    try db.execute("DELETE FROM files WHERE id = ?", [.int(Int64(k.id))])
                    removed += 1
                }
                for (i, (path, size, mtime)) in stale.enumerated() {
                    switch results.get(i) {
                    case .success(let a)?:
                        if let k = known[path], k.hash == a.hash {
                            try db.execute("UPDATE files SET size = ?, mtime = ? WHERE id = ?", [.int(Int64(size)), .double(mtime), .int(Int64(k.id))])
                            continue
                        }
                        analysed += 1
                        try store(a, size: size, mtime: mtime, existing: known[path]?.id)
                    case .failure(let e)?:
                        failed += 1
                        skipped.append(RepositoryFiles.Skip(path: path, reason: (e as? CodeError)?.description ?? "\(e)"))
                        if let k = known[path] { try deleteRows(k.id); try db.execute("DELETE FROM files WHERE id = ?", [.int(Int64(k.id))]) }
                    case nil: break
                    }
                }
                self.lastRemoved = removed
            }
            let symbols = try db.query("SELECT count(*) AS n FROM symbols").first?["n"]?.int ?? 0
            return UpdateReport(files: files.count, analysed: analysed, unchanged: files.count - analysed - failed, removed: lastRemoved, symbols: symbols, skipped: skipped, seconds: Date().timeIntervalSince(start))
        }
    }

    private var lastRemoved = 0

    private func deleteRows(_ id: Int) throws {
        for t in ["symbols", "names", "imports", "functions"] { try db.execute("DELETE FROM \(t) WHERE file_id = ?", [.int(Int64(id))]) }
    }

    private func store(_ a: FileAnalysis, size: Int, mtime: Double, existing: Int?) throws {
        let m = a.metrics
        let id: Int64
        if let existing {
            id = Int64(existing)
            try deleteRows(existing)
            try db.execute("UPDATE files SET hash=?, size=?, mtime=?, language=?, lines=?, code=?, comment=?, blank=? WHERE id=?",
                           [.text(a.hash), .int(Int64(size)), .double(mtime), .text(a.language), .int(Int64(m.lines)), .int(Int64(m.code)),
                            .int(Int64(m.comment)), .int(Int64(m.blank)), .int(id)])
        } else {
            try db.execute("INSERT INTO files(path, hash, size, mtime, language, lines, code, comment, blank) VALUES(?,?,?,?,?,?,?,?,?)",
                           [.text(a.path), .text(a.hash), .int(Int64(size)), .double(mtime), .text(a.language), .int(Int64(m.lines)), .int(Int64(m.code)),
                            .int(Int64(m.comment)), .int(Int64(m.blank))])
            id = Int64(try db.query("SELECT last_insert_rowid() AS id").first?["id"]?.int ?? 0)
        }
        let sym = try db.prepare("INSERT INTO symbols VALUES(?,?,?,?,?,?,?,?,?,?,?)")
        for s in a.symbols {
            try sym.run([.int(id), .text(s.name), .text(s.kind), .int(Int64(s.range.start.line)), .int(Int64(s.range.start.column)),
                         .int(Int64(s.range.end.line)), .int(Int64(s.range.end.column)), s.parent.map { .text($0) } ?? .null, s.signature.map { .text($0) } ?? .null,
                         s.selection.map { .int(Int64($0.line)) } ?? .null, s.selection.map { .int(Int64($0.column)) } ?? .null])
        }
        // The names a file uses (not every position: references re-read the few files that use a name).
        var counts: [String: Int] = [:]
        for (n, _, _) in a.identifiers where n.count > 1 { counts[n, default: 0] += 1 }
        let idn = try db.prepare("INSERT INTO names VALUES(?,?,?)")
        for (n, c) in counts { try idn.run([.int(id), .text(n), .int(Int64(c))]) }
        let imp = try db.prepare("INSERT INTO imports VALUES(?,?,?)")
        for i in a.imports { try imp.run([.int(id), .text(i.module), .int(Int64(i.line))]) }
        let fn = try db.prepare("INSERT INTO functions VALUES(?,?,?,?,?,?,?,?)")
        for f in m.functions {
            try fn.run([.int(id), .text(f.name), .int(Int64(f.range.start.line)), .int(Int64(f.range.end.line)), .int(Int64(f.complexity)),
                        .int(Int64(f.parameters)), .int(Int64(f.nesting)), .int(Int64(f.lines))])
        }
    }

    // MARK: Queries

    public enum Match: String, Codable, Sendable, CaseIterable { case exact, prefix, fuzzy }

    /// Symbols by name: exact (case-sensitive first), prefix, or fuzzy (the query's letters in order).
    public func symbols(_ query: String, match: Match = .fuzzy, kind: String? = nil, pathPrefix: String? = nil, limit: Int = 50) throws -> [CodeSymbol] {
        let like: String
        switch match {
        case .exact: like = query
        case .prefix: like = Self.escapeLike(query) + "%"
        case .fuzzy: like = "%" + query.map { Self.escapeLike(String($0)) }.joined(separator: "%") + "%"
        }
        var sql = "SELECT s.*, f.path FROM symbols s JOIN files f ON f.id = s.file_id WHERE s.name " + (match == .exact ? "= ? COLLATE NOCASE" : "LIKE ? ESCAPE '\\'")
        var params: [SQLiteDatabase.Value] = [.text(like)]
        if let kind { sql += " AND s.kind = ?"; params.append(.text(kind)) }
        if let pathPrefix { sql += " AND f.path LIKE ? ESCAPE '\\'"; params.append(.text(Self.escapeLike(pathPrefix) + "%")) }
        sql += " LIMIT 5000"
        var rows = try db.query(sql, params).map(Self.symbol)
        let q = query.lowercased()
        func score(_ s: CodeSymbol) -> Double {
            let n = s.name.lowercased()
            if s.name == query { return 0 }
            if n == q { return 1 }
            if n.hasPrefix(q) { return 2 + Double(n.count - q.count) / 100 }
            if n.contains(q) { return 3 + Double(n.count - q.count) / 100 }
            return 4 + Double(n.count) / 100
        }
        rows.sort { (score($0), $0.path ?? "", $0.range.start.line) < (score($1), $1.path ?? "", $1.range.start.line) }
        return Array(rows.prefix(limit))
    }

    static func escapeLike(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    static func symbol(_ r: [String: SQLiteDatabase.Value]) -> CodeSymbol {
        CodeSymbol(name: r["name"]?.text ?? "", kind: r["kind"]?.text ?? "",
                   range: SourceRange(start: Position(line: r["start_line"]?.int ?? 0, column: r["start_col"]?.int ?? 0),
                                      end: Position(line: r["end_line"]?.int ?? 0, column: r["end_col"]?.int ?? 0)),
                   signature: r["signature"]?.text, doc: nil, parent: r["parent"]?.text, path: r["path"]?.text,
                   selection: r["name_line"]?.int.map { Position(line: $0, column: r["name_col"]?.int ?? 0) })
    }

    public struct Reference: Codable, Sendable, Equatable {
        public var path: String
        public var line: Int
        public var column: Int
        /// True where the name is defined (a symbol of that name starts on this line).
        public var definition: Bool
        public var context: String
    }

    /// Where a name occurs as an identifier, definitions marked, with the line's text. The index says
    /// which files use the name; those files are parsed again for the exact positions (identifiers
    /// only: the name inside a comment or a string is not a reference).
    public func references(_ name: String, pathPrefix: String? = nil, limit: Int = 500) throws -> [Reference] {
        var sql = "SELECT f.id, f.path FROM names n JOIN files f ON f.id = n.file_id WHERE n.name = ?"
        var params: [SQLiteDatabase.Value] = [.text(name)]
        if let pathPrefix { sql += " AND f.path LIKE ? ESCAPE '\\'"; params.append(.text(Self.escapeLike(pathPrefix) + "%")) }
        sql += " ORDER BY f.path"
        var out: [Reference] = []
        for r in try db.query(sql, params) where out.count < limit {
            let path = r["path"]?.text ?? ""
            guard let a = try? FileAnalysis.analyze(path) else { continue }
            let defs = Set(a.symbols.filter { $0.name == name }.compactMap(\.selection))
            let lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            for (n, l, c) in a.identifiers where n == name && out.count < limit {
                let text = l - 1 < lines.count && l >= 1 ? String(lines[l - 1]).trimmingCharacters(in: .whitespaces) : ""
                out.append(Reference(path: path, line: l, column: c, definition: defs.contains(Position(line: l, column: c)), context: String(text.prefix(200))))
            }
        }
        return out
    }

    /// The most important symbols within a token budget (≈ 4 characters a token): definitions ranked by
    /// how many other files use their name, grouped by file, each with its signature.
    public func repoMap(pathPrefix: String? = nil, tokens: Int = 1024) throws -> (text: String, symbols: [CodeSymbol]) {
        var sql = """
        SELECT s.*, f.path, (SELECT count(*) FROM names i WHERE i.name = s.name AND i.file_id != s.file_id) AS uses,
               (SELECT count(*) FROM symbols d WHERE d.name = s.name) AS defs
        FROM symbols s JOIN files f ON f.id = s.file_id WHERE s.kind NOT IN ('key', 'heading', 'variable', 'section')
        """
        var params: [SQLiteDatabase.Value] = []
        if let pathPrefix { sql += " AND f.path LIKE ? ESCAPE '\\'"; params.append(.text(Self.escapeLike(pathPrefix) + "%")) }
        let rows = try db.query(sql, params)
        let weight: [String: Double] = ["class": 1.5, "struct": 1.5, "interface": 1.5, "trait": 1.5, "protocol": 1.5, "module": 1.2, "type": 1.2, "enum": 1.2]
        // Uses by other files, shared among the definitions of the same name (a common name like `name`
        // says little about any one of them); top-level and public definitions first.
        let ranked = rows.map { r -> (CodeSymbol, Double) in
            let s = Self.symbol(r)
            let uses = Double(r["uses"]?.int ?? 0) / Double(max(1, r["defs"]?.int ?? 1))
            var score = (uses + 0.1) * (weight[s.kind] ?? 1)
            if s.parent == nil { score *= 1.5 }
            if s.name.hasPrefix("_") { score *= 0.3 }
            return (s, score)
        }.sorted { ($0.1, $1.0.name) > ($1.1, $0.0.name) }
        var budget = tokens * 4
        var chosen: [CodeSymbol] = []
        var byFile: [String: [CodeSymbol]] = [:]
        for (s, _) in ranked {
            let line = "  \(s.signature ?? "\(s.kind) \(s.name)")\n"
            let header = byFile[s.path ?? ""] == nil ? (relative(s.path ?? "") + ":\n").count : 0
            guard line.count + header <= budget else { if budget < 40 { break } else { continue } }
            budget -= line.count + header
            chosen.append(s)
            byFile[s.path ?? "", default: []].append(s)
        }
        let text = byFile.keys.sorted().map { path in
            relative(path) + ":\n" + byFile[path]!.sorted { $0.range.start.line < $1.range.start.line }.map { "  \($0.signature ?? "\($0.kind) \($0.name)")" }.joined(separator: "\n")
        }.joined(separator: "\n")
        return (text, chosen)
    }

    public func relative(_ path: String) -> String { path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var cursor = 0
        private var items: [Result<FileAnalysis, Error>?]
        init(count: Int) { items = Array(repeating: nil, count: count) }
        func next() -> Int? { lock.withLock { guard cursor < items.count else { return nil }; cursor += 1; return cursor - 1 } }
        func set(_ i: Int, _ r: Result<FileAnalysis, Error>) { lock.withLock { items[i] = r } }
        func get(_ i: Int) -> Result<FileAnalysis, Error>? { lock.withLock { items[i] } }
    }
}
