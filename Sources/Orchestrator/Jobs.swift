import Foundation
import Storage
import JSONSchema

/// Long-running tool calls as jobs: started, polled, cancelled; records survive restarts in SQLite.
/// A job that was running when the server stopped is reported as failed ("interrupted"), never lost.
public final class JobManager: @unchecked Sendable {
    public struct Record: Sendable {
        public var id: String
        public var tool: String
        public var status: String  // running | succeeded | failed | cancelled
        public var progress: Double?
        public var total: Double?
        public var message: String?
        public var result: JSONValue?
        public var error: String?
        public var created: Double
        public var updated: Double

        public var json: JSONValue {
            var o = JSONObject([("id", .string(id)), ("tool", .string(tool)), ("status", .string(status))])
            if let progress { o["progress"] = .number(JSONNumber(progress)) }
            if let total { o["total"] = .number(JSONNumber(total)) }
            if let message { o["message"] = .string(message) }
            if let result { o["result"] = result }
            if let error { o["error"] = .string(error) }
            o["createdAt"] = .string(Self.iso(created))
            o["updatedAt"] = .string(Self.iso(updated))
            return .object(o)
        }

        static func iso(_ t: Double) -> String {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return f.string(from: Date(timeIntervalSince1970: t))
        }
    }

    public typealias Observer = @Sendable (Record) -> Void

    private let db: SQLiteDatabase
    private let registry: ToolRegistry
    private let lock = NSLock()
    private var tasks: [String: Task<Void, Never>] = [:]
    private var live: [String: Record] = [:]
    private var lastWrite: [String: Double] = [:]

    public init(databasePath: String, registry: ToolRegistry) throws {
        db = try SQLiteDatabase(path: databasePath)
        self.registry = registry
        try db.execute("""
            CREATE TABLE IF NOT EXISTS jobs (
              id TEXT PRIMARY KEY, tool TEXT NOT NULL, arguments TEXT NOT NULL, status TEXT NOT NULL,
              progress REAL, total REAL, message TEXT, result TEXT, error TEXT,
              created REAL NOT NULL, updated REAL NOT NULL)
            """)
        try db.execute("UPDATE jobs SET status = 'failed', error = 'interrupted: the server stopped while the job was running', updated = ? WHERE status = 'running'",
                       [.double(Date().timeIntervalSince1970)])
    }

    /// Validates the call, then starts it in the background and returns its record at once.
    public func start(tool: String, arguments: JSONValue, observer: Observer? = nil) throws(ToolError) -> Record {
        try registry.validate(tool, arguments)
        let now = Date().timeIntervalSince1970
        let id = UUID().uuidString.lowercased()
        let rec = Record(id: id, tool: tool, status: "running", created: now, updated: now)
        do {
            try db.execute("INSERT INTO jobs (id, tool, arguments, status, created, updated) VALUES (?, ?, ?, 'running', ?, ?)",
                           [.text(id), .text(tool), .text(JSONWriter.string(arguments)), .double(now), .double(now)])
        } catch { throw .failed("cannot record the job: \(error)") }
        lock.withLock { live[id] = rec }
        let registry = self.registry
        let task = Task { [self] in
            let ctx = ToolContext(progress: { [self] p, t, m in self.progressed(id, p, t, m, observer) })
            var final: Record
            do {
                let out = try await registry.call(tool, arguments, context: ctx, timeoutMs: Int.max / 2_000_000)
                final = self.update(id) { $0.status = "succeeded"; $0.result = out.structured ?? .string(out.text ?? "") }
            } catch {
                let cancelled = Task.isCancelled || error.status == "cancelled"
                final = self.update(id) { $0.status = cancelled ? "cancelled" : "failed"; $0.error = "\(error)" }
            }
            self.persist(final)
            observer?(final)
            self.lock.withLock { _ = self.tasks.removeValue(forKey: id); _ = self.live.removeValue(forKey: id) }
        }
        lock.withLock { if live[id] != nil { tasks[id] = task } }
        return rec
    }

    private func update(_ id: String, _ change: (inout Record) -> Void) -> Record {
        lock.withLock {
            var r = live[id]!
            change(&r)
            r.updated = Date().timeIntervalSince1970
            live[id] = r
            return r
        }
    }

    private func progressed(_ id: String, _ p: Double, _ t: Double?, _ m: String?, _ observer: Observer?) {
        let r = update(id) { $0.progress = p; $0.total = t; $0.message = m }
        // Progress is kept in memory at full rate and written to disk at most twice a second.
        let write: Bool = lock.withLock {
            if r.updated - (lastWrite[id] ?? 0) >= 0.5 { lastWrite[id] = r.updated; return true }
            return false
        }
        if write { persist(r) }
        observer?(r)
    }

    private func persist(_ r: Record) {
        try? db.execute("UPDATE jobs SET status = ?, progress = ?, total = ?, message = ?, result = ?, error = ?, updated = ? WHERE id = ?", [
            .text(r.status), r.progress.map { .double($0) } ?? .null, r.total.map { .double($0) } ?? .null,
            r.message.map { .text($0) } ?? .null, r.result.map { .text(JSONWriter.string($0)) } ?? .null,
            r.error.map { .text($0) } ?? .null, .double(r.updated), .text(r.id),
        ])
    }

    public func get(_ id: String) -> Record? {
        if let r = lock.withLock({ live[id] }) { return r }
        return (try? db.query("SELECT * FROM jobs WHERE id = ?", [.text(id)]))?.first.map(Self.record)
    }

    public func list(status: String? = nil, limit: Int = 100) -> [Record] {
        let rows = (try? db.query(
            status == nil ? "SELECT * FROM jobs ORDER BY created DESC LIMIT ?" : "SELECT * FROM jobs WHERE status = ? ORDER BY created DESC LIMIT ?",
            status == nil ? [.int(Int64(limit))] : [.text(status!), .int(Int64(limit))])) ?? []
        return rows.map(Self.record).map { r in lock.withLock { live[r.id] } ?? r }
    }

    /// Cancels a running job; false when no such job is running.
    public func cancel(_ id: String) -> Bool {
        guard let t = lock.withLock({ tasks[id] }) else { return false }
        t.cancel()
        return true
    }

    /// Waits for a job to end (for the CLI and tests).
    public func wait(_ id: String) async -> Record? {
        if let t = lock.withLock({ tasks[id] }) { await t.value }
        return get(id)
    }

    private static func record(_ row: [String: SQLiteDatabase.Value]) -> Record {
        Record(id: row["id"]?.text ?? "", tool: row["tool"]?.text ?? "", status: row["status"]?.text ?? "failed",
               progress: row["progress"]?.double, total: row["total"]?.double, message: row["message"]?.text,
               result: row["result"]?.text.flatMap { try? JSONParser.parse($0) }, error: row["error"]?.text,
               created: row["created"]?.double ?? 0, updated: row["updated"]?.double ?? 0)
    }
}

extension Error {
    var status: String { (self as? ToolError)?.status ?? "error" }
}
