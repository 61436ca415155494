import Foundation

/// The gateway's entry point: reads the configuration, builds the router and serves HTTP.
struct Server {
    static let version = "1.7.3"

    let port: Int
    let router: Router

    init(port: Int = 8080) {
        self.port = port
        self.router = Router()
        router.register("/health") { _ in Response(status: 200, body: "ok") }
        router.register("/api/v2/invoices") { request in handleInvoices(request) }
    }

    func handleRequest(_ request: Request) -> Response {
        let started = Date()
        let response = router.route(request)
        let ms = Int(Date().timeIntervalSince(started) * 1000)
        print("\(request.method) \(request.path) -> \(response.status) in \(ms) ms")
        return response
    }
}

func handleInvoices(_ request: Request) -> Response {
    guard request.headers["Authorization"]?.hasPrefix("Bearer ") == true else {
        return Response(status: 401, body: #"{"error":"invalid_token"}"#)
    }
    switch request.method {
    case "GET": return Response(status: 200, body: "[]")
    case "POST": return Response(status: 201, body: request.body)
    default: return Response(status: 405, body: "")
    }
}

let port = Int(ProcessInfo.processInfo.environment["PORT"] ?? "") ?? 8080
let server = Server(port: port)
print("atelier-gateway \(Server.version) listening on :\(server.port)")
