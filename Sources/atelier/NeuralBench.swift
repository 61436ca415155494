import ArgumentParser
import Foundation
import JSONSchema
import Neural
#if canImport(Glibc)
import Glibc
#endif

/// `atelier bench neural`: times one engine workload and prints one JSON line
/// {case, seconds (per iteration, median), gflops?, peakRSSMB, backend}.
struct NeuralBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neural",
        abstract: "Time a Neural engine workload: sgemm N³, conv2d forward+backward, attention forward+backward.")

    enum Case: String, ExpressibleByArgument { case sgemm, conv, attention }

    @Option(name: .long) var `case`: Case
    @Option(name: .long, help: "sgemm: N; attention: tokens.") var size: Int = 1024
    @Option(name: .long, help: "conv: batch,channels,height,width (3×3 kernel, same channels out).") var conv: String = "2,320,32,32"
    @Option(name: .long, help: "attention: heads,head_dim.") var heads: String = "8,40"
    @Option(name: .long) var `repeat`: Int = 5
    @Option(name: .long, help: "BLAS threads (one setting for the whole engine).") var threads: Int = 2

    func validate() throws {
        guard conv.split(separator: ",").compactMap({ Int($0) }).filter({ $0 > 0 }).count == 4 else { throw ValidationError("--conv needs four positive integers B,C,H,W") }
        guard heads.split(separator: ",").compactMap({ Int($0) }).filter({ $0 > 0 }).count == 2 else { throw ValidationError("--heads needs two positive integers H,D") }
        guard size > 0, `repeat` > 0, threads > 0 else { throw ValidationError("--size, --repeat and --threads must be positive") }
    }

    func run() throws {
        BLASStartup.ensureKernelSelected(arguments: CommandLine.arguments)
        BLAS.threads = threads
        var rng = NumPyRandom(seed: 0)
        var times: [Double] = []
        var flops = 0.0
        for _ in 0..<(`repeat` + 1) {
            switch `case` {
            case .sgemm:
                let n = size
                let a = rng.normal([n, n]), b = rng.normal([n, n])
                let start = Date()
                _ = try a.matmul(b)
                times.append(Date().timeIntervalSince(start))
                flops = 2 * Double(n * n * n)
            case .conv:
                let d = conv.split(separator: ",").compactMap { Int($0) }
                let x = rng.normal([d[0], d[1], d[2], d[3]]); x.requiresGrad = true
                let w = rng.normal([d[1], d[1], 3, 3], std: 0.02); w.requiresGrad = true
                let start = Date()
                let y = try x.conv2d(weight: w, bias: nil, options: Conv2DOptions(padding: (1, 1)))
                y.backward(Tensor(filled: 1, shape: y.shape))
                times.append(Date().timeIntervalSince(start))
                flops = 3 * 2 * Double(d[0] * d[1] * d[1] * 9 * d[2] * d[3])
            case .attention:
                let hd = heads.split(separator: ",").compactMap { Int($0) }
                let q = rng.normal([1, hd[0], size, hd[1]]), k = rng.normal([1, hd[0], size, hd[1]]), v = rng.normal([1, hd[0], size, hd[1]])
                for t in [q, k, v] { t.requiresGrad = true }
                let start = Date()
                let o = try Attention.scaledDotProduct(q, k, v)
                o.backward(Tensor(filled: 1, shape: o.shape))
                times.append(Date().timeIntervalSince(start))
                flops = 3.5 * 2 * 2 * Double(hd[0] * size * size * hd[1])
            }
        }
        times.removeFirst()  // warm-up
        let median = times.sorted()[times.count / 2]
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print(JSONWriter.string(.object(JSONObject([
            ("case", .string(`case`.rawValue)), ("seconds", JSONValue(median)), ("gflops", JSONValue(flops / median / 1e9)),
            ("peakRSSMB", JSONValue(Double(usage.ru_maxrss) / 1024)), ("backend", .string("\(BLAS.backendName), \(BLAS.threads) threads")),
        ]))))
    }
}
