import Foundation
import XCTest
@testable import Neural

/// One fixture of Tests/NeuralTests/Goldens (made by tools/gen_neural_goldens.py from PyTorch).
struct Golden {
    let name: String
    let json: [String: Any]

    static var directory: URL { Bundle.module.url(forResource: "Goldens", withExtension: nil)! }

    static func all() throws -> [Golden] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted().map { try load($0) }
    }

    static func load(_ file: String) throws -> Golden {
        let data = try Data(contentsOf: directory.appendingPathComponent(file))
        return Golden(name: file, json: try JSONSerialization.jsonObject(with: data) as! [String: Any])
    }

    var op: String? { json["op"] as? String }
    var params: [String: Any] { json["params"] as? [String: Any] ?? [:] }

    static func tensor(_ any: Any?, requiresGrad: Bool = false) -> Tensor? {
        guard let d = any as? [String: Any], let shape = d["shape"] as? [Int], let data = d["data"] as? [Double] else { return nil }
        return Tensor(shape: shape, data: data.map(Float.init), requiresGrad: requiresGrad)
    }

    func input(_ name: String) -> Tensor { Self.tensor((json["inputs"] as! [String: Any])[name], requiresGrad: true)! }
    func ints(_ name: String) -> [Int] { ((json["inputs"] as! [String: Any])[name] as! [String: Any])["data"] as! [Int] }
    var output: Tensor { Self.tensor(json["output"])! }
    var upstream: Tensor { Self.tensor(json["upstream"])! }
    func grad(_ name: String) -> Tensor? { Self.tensor((json["grads"] as? [String: Any])?[name]) }
    var gradNames: [String] { ((json["grads"] as? [String: Any])?.keys).map(Array.init) ?? [] }
}

/// |a − b| ≤ atol + rtol·|b| everywhere; returns the worst violation ratio for messages.
func assertClose(_ a: Tensor, _ b: Tensor, atol: Float = 2e-5, rtol: Float = 1e-5, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
    guard a.shape == b.shape else { return }
    var worst: Float = 0, at = 0
    for i in 0..<a.count {
        let r = abs(a.data[i] - b.data[i]) / (atol + rtol * abs(b.data[i]))
        if r > worst { worst = r; at = i }
    }
    XCTAssertLessThanOrEqual(worst, 1, "\(what): element \(at) is \(a.data[at]), PyTorch says \(b.data[at])", file: file, line: line)
}
