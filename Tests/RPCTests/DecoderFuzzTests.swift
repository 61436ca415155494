import Foundation
import XCTest
import JSONSchema
@testable import RPC
import TestSupport

/// A seeded mutational fuzzer over the message decoder and a live connection: whatever bytes arrive,
/// the server answers every non-notification with a well-formed response and keeps serving.
final class DecoderFuzzTests: XCTestCase {
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }

    static let interesting: [[UInt8]] = ["\"", "{", "}", "[", "]", ",", ":", "\\", "\\u", "1e999", "-", "null", "\u{0}", "\u{FFFF}", "\"id\"", "\"method\""].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80]]

    func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let pos = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where !b.isEmpty: b[pos] = UInt8.random(in: 0...255, using: &rng)
            case 1 where !b.isEmpty: b.remove(at: pos)
            case 2: b.insert(contentsOf: Self.interesting.randomElement(using: &rng)!, at: pos)
            case 3 where b.count > 2: b = Array(b[..<pos])
            default: b.insert(UInt8.random(in: 0x20...0x7E, using: &rng), at: pos)
            }
        }
        return b.filter { $0 != 0x0A }
    }

    func testMutatedMessagesAlwaysGetWellFormedAnswers() throws {
        let url = Bundle.module.url(forResource: "Corpus", withExtension: nil)!.appendingPathComponent("seed.jsonl")
        let seeds = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
        var rng = SplitMix64(state: 20261129)
        let sink = CollectingSink()
        let c = RPCConnection(handler: EchoHandler(), sink: sink, limits: RPCLimits(maxInFlight: 100_000), transport: "fuzz")
        for i in 0..<3000 {
            let input = mutate(seeds[i % seeds.count], &rng)
            _ = RPCDecoder.decode(input)
            input.withUnsafeBufferPointer { c.receive($0) }
        }
        c.receive(#"{"jsonrpc":"2.0","id":"last","method":"echo","params":["alive"]}"#)
        XCTAssertEqual(sink.response(id: "last")?["result"], ["alive"])
        for m in sink.messages {
            let items = m.arrayValue ?? [m]
            for r in items {
                XCTAssertEqual(r["jsonrpc"], "2.0")
                XCTAssertTrue((r["result"] != nil) != (r["error"] != nil), "exactly one of result/error: \(r)")
                if let e = r["error"] { XCTAssertNotNil(e["code"]?.intValue); XCTAssertNotNil(e["message"]?.stringValue) }
            }
        }
    }
}
