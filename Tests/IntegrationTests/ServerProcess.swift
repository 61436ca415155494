import Foundation
import JSONSchema
import TestSupport

/// The real `atelier` binary as a child process.
final class ServerProcess {
    let process = Process()
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    private var buffer: [UInt8] = []

    init(_ args: [String], stdinFrom file: FileHandle? = nil, env extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: Repository.binary)
        process.arguments = args
        process.currentDirectoryURL = Repository.root
        process.standardInput = file ?? stdin
        process.standardOutput = stdout
        process.standardError = stderr
        var env = ProcessInfo.processInfo.environment
        env["ATELIER_JOBS_DB"] = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-it-\(UUID().uuidString).sqlite").path
        env.merge(extra) { $1 }
        process.environment = env
        try process.run()
    }

    func send(_ line: String) {
        stdin.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Reads one line of stdout as JSON (blocking).
    func readMessage() -> JSONValue? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<nl])
                buffer.removeFirst(nl + 1)
                return try? JSONParser.parse(line)
            }
            let d = stdout.fileHandleForReading.availableData
            if d.isEmpty { return nil }
            buffer.append(contentsOf: d)
        }
    }

    /// Reads until the response with `id` arrives (notifications before it are returned too).
    func read(until id: JSONValue) -> [JSONValue] {
        var out: [JSONValue] = []
        while let m = readMessage() {
            out.append(m)
            if m["id"] == id && m["method"] == nil { break }
        }
        return out
    }

    func closeInput() { try? stdin.fileHandleForWriting.close() }

    func waitForExit(timeout: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { process.terminate(); return nil }
        return process.terminationStatus
    }

    var stderrText: String { String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
}

/// Runs a command to completion: (exit status, stdout, stderr).
func runAtelier(_ args: [String], input: String? = nil, env extra: [String: String] = [:], removing: [String] = []) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Repository.binary)
    p.arguments = args
    p.currentDirectoryURL = Repository.root
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input == nil ? FileHandle.nullDevice : inp
    var env = ProcessInfo.processInfo.environment
    env["ATELIER_JOBS_DB"] = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-it-\(UUID().uuidString).sqlite").path
    env.merge(extra) { $1 }
    for k in removing { env[k] = nil }
    p.environment = env
    try p.run()
    if let input {
        inp.fileHandleForWriting.write(Data(input.utf8))
        try inp.fileHandleForWriting.close()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
