import CSQLite
import Foundation

/// A minimal, explicit SQLite connection (WAL, busy timeout, foreign keys) for durable records.
/// One connection, serialised by a recursive lock so a transaction's statements run together.
public final class SQLiteDatabase: @unchecked Sendable {
    private var db: OpaquePointer?
    private let lock = NSRecursiveLock()
    public let path: String

    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public enum Value: Sendable, Equatable {
        case null, int(Int64), double(Double), text(String), blob([UInt8])
    }

    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        if path != ":memory:" && !readOnly {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_FULLMUTEX
        guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw Failure(message: "cannot open database '\(path)': \(msg)")
        }
        sqlite3_busy_timeout(db, 10_000)
        if !readOnly {
            try execute("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=NORMAL")
        }
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit { sqlite3_close(db) }

    public func execute(_ sql: String, _ params: [Value] = []) throws {
        _ = try query(sql, params)
    }

    /// Runs several statements separated by semicolons (schema scripts).
    public func executeScript(_ sql: String) throws {
        try lock.withLock {
            var err: UnsafeMutablePointer<CChar>?
            if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
                let m = err.map { String(cString: $0) } ?? "unknown error"
                sqlite3_free(err)
                throw Failure(message: "database '\(path)': \(m)")
            }
        }
    }

    /// Runs one statement and returns its rows (column name → value).
    @discardableResult
    public func query(_ sql: String, _ params: [Value] = []) throws -> [[String: Value]] {
        try lock.withLock {
            let stmt = try prepare(sql)
            try stmt.bind(params)
            var rows: [[String: Value]] = []
            while try stmt.step() { rows.append(stmt.row()) }
            return rows
        }
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    /// A process killed inside leaves the database as before (SQLite's journal).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock {
            try execute("BEGIN IMMEDIATE")
            do {
                let r = try body()
                try execute("COMMIT")
                return r
            } catch {
                try? execute("ROLLBACK")
                throw error
            }
        }
    }

    public var lastInsertRowID: Int64 { lock.withLock { sqlite3_last_insert_rowid(db) } }

    public func prepare(_ sql: String) throws -> Statement {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw Failure(message: "database '\(path)' cannot prepare \(sql.prefix(60))…: \(String(cString: sqlite3_errmsg(db)))")
        }
        return Statement(stmt: stmt, database: self)
    }

    func errorMessage() -> String { String(cString: sqlite3_errmsg(db)) }

    /// A prepared statement, reusable for bulk work (bind, step, reset).
    public final class Statement {
        let stmt: OpaquePointer
        unowned let database: SQLiteDatabase

        init(stmt: OpaquePointer, database: SQLiteDatabase) {
            self.stmt = stmt
            self.database = database
        }

        deinit { sqlite3_finalize(stmt) }

        public func bind(_ params: [Value]) throws {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
            let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
            for (i, p) in params.enumerated() {
                let idx = Int32(i + 1)
                switch p {
                case .null: sqlite3_bind_null(stmt, idx)
                case .int(let v): sqlite3_bind_int64(stmt, idx, v)
                case .double(let v): sqlite3_bind_double(stmt, idx, v)
                case .text(let s): sqlite3_bind_text(stmt, idx, s, -1, transient)
                case .blob(let b): b.withUnsafeBytes { _ = sqlite3_bind_blob(stmt, idx, $0.baseAddress, Int32(b.count), transient) }
                }
            }
        }

        /// True while a row is available.
        public func step() throws -> Bool {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { return false }
            guard rc == SQLITE_ROW else { throw Failure(message: "database '\(database.path)': \(database.errorMessage())") }
            return true
        }

        /// Binds, runs to completion, returns nothing (inserts/updates).
        public func run(_ params: [Value]) throws {
            try bind(params)
            while try step() {}
        }

        public func row() -> [String: Value] {
            var row: [String: Value] = [:]
            for c in 0..<sqlite3_column_count(stmt) {
                row[String(cString: sqlite3_column_name(stmt, c))] = column(c)
            }
            return row
        }

        public func column(_ c: Int32) -> Value {
            switch sqlite3_column_type(stmt, c) {
            case SQLITE_INTEGER: return .int(sqlite3_column_int64(stmt, c))
            case SQLITE_FLOAT: return .double(sqlite3_column_double(stmt, c))
            case SQLITE_NULL: return .null
            case SQLITE_BLOB:
                let n = Int(sqlite3_column_bytes(stmt, c))
                guard n > 0, let p = sqlite3_column_blob(stmt, c) else { return .blob([]) }
                return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
            default: return .text(String(cString: sqlite3_column_text(stmt, c)))
            }
        }

        /// Reads a float32 blob column straight into `out` (vector loading without intermediate arrays).
        public func floats(_ c: Int32, into out: inout [Float]) {
            let n = Int(sqlite3_column_bytes(stmt, c)) / 4
            guard n > 0, let p = sqlite3_column_blob(stmt, c) else { return }
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: n))
            out.withUnsafeMutableBytes { dst in
                dst.baseAddress!.advanced(by: start * 4).copyMemory(from: p, byteCount: n * 4)
            }
        }
    }
}

extension SQLiteDatabase.Value {
    public var text: String? { if case .text(let s) = self { return s }; return nil }
    public var int: Int? { if case .int(let i) = self { return Int(i) }; return nil }
    public var double: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
}
