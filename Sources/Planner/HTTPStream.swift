import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request whose response body arrives as a stream of byte chunks. Foundation's URLSession
/// (libcurl on Linux) is used rather than async-http-client: it costs nothing to build, speaks HTTPS
/// with the system's certificates, and its data delegate delivers the body as it arrives, which is all
/// SSE needs. (`URLSession.bytes` does not exist in Linux Foundation.)
final class HTTPStream: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    struct Head: Sendable {
        let status: Int
        let headers: [String: String]  // lower-cased names
    }

    private let lock = NSLock()
    private var headContinuation: CheckedContinuation<Head, Error>?
    private var bodyContinuation: AsyncThrowingStream<Data, Error>.Continuation?
    private var session: URLSession?
    private var task: URLSessionDataTask?
    let body: AsyncThrowingStream<Data, Error>

    override init() {
        var c: AsyncThrowingStream<Data, Error>.Continuation!
        body = AsyncThrowingStream { c = $0 }
        super.init()
        bodyContinuation = c
        // A reader that stops (cancelled) stops the transfer too.
        c.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.cancel() }
        }
    }

    /// Starts the request; returns when the status line and headers are in.
    func start(_ request: URLRequest) async throws -> Head {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (k: CheckedContinuation<Head, Error>) in
                let queue = OperationQueue()
                queue.maxConcurrentOperationCount = 1
                let s = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: queue)
                let t = s.dataTask(with: request)
                lock.withLock { headContinuation = k; session = s; task = t }
                t.resume()
            }
        } onCancel: { cancel() }
    }

    func cancel() {
        let t = lock.withLock { task }
        t?.cancel()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http?.allHeaderFields ?? [:] {
            if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v }
        }
        let k = lock.withLock { () -> CheckedContinuation<Head, Error>? in defer { headContinuation = nil }; return headContinuation }
        k?.resume(returning: Head(status: http?.statusCode ?? 0, headers: headers))
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        _ = lock.withLock { bodyContinuation }?.yield(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let (k, b) = lock.withLock { () -> (CheckedContinuation<Head, Error>?, AsyncThrowingStream<Data, Error>.Continuation?) in
            defer { headContinuation = nil; bodyContinuation = nil }
            return (headContinuation, bodyContinuation)
        }
        if let error {
            k?.resume(throwing: error)
            b?.finish(throwing: error)
        } else {
            k?.resume(throwing: URLError(.badServerResponse))
            b?.finish()
        }
        session.finishTasksAndInvalidate()
    }
}
