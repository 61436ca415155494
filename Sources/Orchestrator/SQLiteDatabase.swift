import CSQLite
import Foundation

/// A minimal, explicit SQLite connection (WAL, busy timeout) used for durable records.
/// One connection, serialised by a lock; statements are prepared per call (these paths are not hot).
public final class SQLiteDatabase: @unchecked Sendable {
    private var db: OpaquePointer?
    private let lock = NSLock()
    public let path: String

    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public enum Value: Sendable {
        case null, int(Int64), double(Double), text(String)
    }

    public init(path: String) throws {
        self.path = path
        if path != ":memory:" {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw Failure(message: "cannot open database '\(path)': \(msg)")
        }
        sqlite3_busy_timeout(db, 5000)
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=NORMAL")
    }

    deinit { sqlite3_close(db) }

    public func execute(_ sql: String, _ params: [Value] = []) throws {
        _ = try query(sql, params)
    }

    /// Runs one statement and returns its rows (column name → value).
    @discardableResult
    public func query(_ sql: String, _ params: [Value] = []) throws -> [[String: Value]] {
        try lock.withLock {
            var stmt: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { throw error("prepare") }
            defer { sqlite3_finalize(stmt) }
            let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
            for (i, p) in params.enumerated() {
                let idx = Int32(i + 1)
                switch p {
                case .null: sqlite3_bind_null(stmt, idx)
                case .int(let v): sqlite3_bind_int64(stmt, idx, v)
                case .double(let v): sqlite3_bind_double(stmt, idx, v)
                case .text(let s): sqlite3_bind_text(stmt, idx, s, -1, transient)
                }
            }
            var rows: [[String: Value]] = []
            while true {
                let rc = sqlite3_step(stmt)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw error("step") }
                var row: [String: Value] = [:]
                for c in 0..<sqlite3_column_count(stmt) {
                    let name = String(cString: sqlite3_column_name(stmt, c))
                    switch sqlite3_column_type(stmt, c) {
                    case SQLITE_INTEGER: row[name] = .int(sqlite3_column_int64(stmt, c))
                    case SQLITE_FLOAT: row[name] = .double(sqlite3_column_double(stmt, c))
                    case SQLITE_NULL: row[name] = .null
                    default: row[name] = .text(String(cString: sqlite3_column_text(stmt, c)))
                    }
                }
                rows.append(row)
            }
            return rows
        }
    }

    private func error(_ what: String) -> Failure {
        Failure(message: "database '\(path)' \(what) failed: \(String(cString: sqlite3_errmsg(db)))")
    }
}

extension SQLiteDatabase.Value {
    public var text: String? { if case .text(let s) = self { return s }; return nil }
    public var double: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
}
