import Foundation
import Neural
import XCTest

/// The diffusers/transformers reference outputs made by `tools/gen_diffusion_fixtures.py`.
enum Fixtures {
    static let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    static var tinySD: String { root.appendingPathComponent("tiny-sd").path }

    static func json(_ name: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent(name)))
    }

    static func tensors(_ name: String) throws -> SafeTensors {
        try SafeTensors(path: root.appendingPathComponent(name).path)
    }
}

/// Largest |a − b| over two tensors of one shape.
func maxAbsDifference(_ a: Tensor, _ b: Tensor, file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(a.shape, b.shape, "shapes differ", file: file, line: line)
    guard a.shape == b.shape else { return .infinity }
    return zip(a.data, b.data).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
