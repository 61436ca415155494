import Foundation

struct Request {
    var method: String
    var path: String
    var headers: [String: String] = [:]
    var body: String = ""
}

struct Response {
    var status: Int
    var body: String
}

/// Matches request paths to handlers: exact paths first, then the longest registered prefix.
final class Router {
    typealias Handler = (Request) -> Response
    private var routes: [String: Handler] = [:]

    func register(_ path: String, handler: @escaping Handler) {
        routes[path] = handler
    }

    func route(_ request: Request) -> Response {
        if let exact = routes[request.path] { return exact(request) }
        let prefixes = routes.keys.filter { request.path.hasPrefix($0 + "/") }.sorted { $0.count > $1.count }
        if let best = prefixes.first, let handler = routes[best] { return handler(request) }
        return Response(status: 404, body: "not found")
    }
}
