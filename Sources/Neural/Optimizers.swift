import Foundation

/// Learning-rate schedules, as functions of the step (0-based).
public enum LRSchedule: Sendable {
    case constant
    case constantWithWarmup(warmup: Int)
    case linear(warmup: Int, total: Int)
    case cosine(warmup: Int, total: Int)

    public func factor(step: Int) -> Float {
        switch self {
        case .constant: return 1
        case .constantWithWarmup(let w): return w > 0 && step < w ? Float(step + 1) / Float(w) : 1
        case .linear(let w, let total):
            if w > 0 && step < w { return Float(step + 1) / Float(w) }
            return max(0, Float(total - step) / Float(max(1, total - w)))
        case .cosine(let w, let total):
            if w > 0 && step < w { return Float(step + 1) / Float(w) }
            let progress = Float(step - w) / Float(max(1, total - w))
            return max(0, 0.5 * (1 + Foundation.cos(Float.pi * min(1, progress))))
        }
    }
}

/// AdamW (decoupled weight decay), as torch.optim.AdamW. State exists only for trainable parameters.
public final class AdamW {
    public var lr: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public private(set) var step = 0
    /// First and second moments per trainable parameter (by position); empty until its first update.
    var m: [[Float]]
    var v: [[Float]]
    let params: [Tensor]

    public init(_ params: [Tensor], lr: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8, weightDecay: Float = 1e-2) {
        self.params = params.filter(\.requiresGrad)
        self.lr = lr
        beta1 = betas.0
        beta2 = betas.1
        self.eps = eps
        self.weightDecay = weightDecay
        m = Array(repeating: [], count: self.params.count)
        v = m
    }

    /// The optimizer's state for a checkpoint: the step count and each trainable parameter's first and
    /// second moments, in the order the parameters were given (nil before a parameter's first update).
    public struct State: Sendable {
        public var step: Int
        public var moments: [(m: [Float], v: [Float])?]
        public init(step: Int, moments: [(m: [Float], v: [Float])?]) {
            self.step = step
            self.moments = moments
        }
    }

    public var state: State {
        State(step: step, moments: params.indices.map { i in m[i].isEmpty ? nil : (m[i], v[i]) })
    }

    /// Restores a checkpoint's state; the parameter list must be the one the state was taken from.
    public func restore(_ s: State) throws(NeuralError) {
        guard s.moments.count == params.count else {
            throw .invalidArgument(op: "AdamW.restore", "the state has \(s.moments.count) parameters, the optimizer \(params.count)")
        }
        for (p, mv) in Swift.zip(params, s.moments) {
            guard let mv else { continue }
            guard mv.m.count == p.count, mv.v.count == p.count else {
                throw .invalidArgument(op: "AdamW.restore", "moments of \(mv.m.count) values for a parameter of \(p.count)")
            }
        }
        step = s.step
        m = s.moments.map { $0?.m ?? [] }
        v = s.moments.map { $0?.v ?? [] }
    }

    public func update(lr override: Float? = nil) {
        step += 1
        let lr = override ?? self.lr
        let bc1 = 1 - Foundation.pow(beta1, Float(step)), bc2 = 1 - Foundation.pow(beta2, Float(step))
        // As torch.optim.AdamW: p ← p(1 − lr·wd), then p −= (lr / bc1) · m / (√v / √bc2 + eps).
        let k = Kernel(b1: beta1, b2: beta2, eps: eps, decay: 1 - lr * weightDecay, stepSize: lr / bc1, invSqrtBc2: 1 / bc2.squareRoot())
        for (i, p) in params.enumerated() {
            guard let g = p.grad else { continue }
            if m[i].isEmpty {
                m[i] = [Float](repeating: 0, count: p.count)
                v[i] = m[i]
            }
            // In place: the moments are updated without copying them out of their arrays.
            g.data.withUnsafeBufferPointer { gp in
                p.data.withUnsafeMutableBufferPointer { pp in
                    m[i].withUnsafeMutableBufferPointer { mp in
                        v[i].withUnsafeMutableBufferPointer { vp in
                            k.apply(p: pp.baseAddress!, g: gp.baseAddress!, m: mp.baseAddress!, v: vp.baseAddress!, count: pp.count)
                        }
                    }
                }
            }
        }
    }

    /// One step over a parameter's elements. Element-wise, so splitting a large tensor across threads
    /// gives the same bits as one thread; it pays off because the update is memory-bound.
    struct Kernel {
        let b1: Float, b2: Float, eps: Float, decay: Float, stepSize: Float, invSqrtBc2: Float

        func apply(p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int) {
            let workers = Swift.min(Swift.max(1, BLAS.threads), count >> 16)
            guard workers > 1 else { return run(p, g, m, v, 0, count) }
            let (sp, sg, sm, sv) = (SharedPointer(p), SharedPointer(UnsafeMutablePointer(mutating: g)), SharedPointer(m), SharedPointer(v))
            ParallelRows.forEach(workers, threads: workers) { w in
                run(sp.p, sg.p, sm.p, sv.p, count * w / workers, count * (w + 1) / workers)
            }
        }

        func run(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                 _ start: Int, _ end: Int) {
            for i in start..<end {
                p[i] *= decay
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                p[i] -= stepSize * m[i] / (v[i].squareRoot() * invSqrtBc2 + eps)
            }
        }
    }
}

/// SGD with optional momentum and weight decay, as torch.optim.SGD.
public final class SGD {
    public var lr: Float
    public let momentum: Float, weightDecay: Float
    var buffers: [ObjectIdentifier: [Float]] = [:]
    let params: [Tensor]

    public init(_ params: [Tensor], lr: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.params = params.filter(\.requiresGrad)
        self.lr = lr
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    public func update(lr override: Float? = nil) {
        let lr = override ?? self.lr
        for p in params {
            guard let g = p.grad else { continue }
            var d = g.data
            if weightDecay != 0 { for i in 0..<d.count { d[i] += weightDecay * p.data[i] } }
            if momentum != 0 {
                let key = ObjectIdentifier(p)
                if var buf = buffers[key] {
                    for i in 0..<d.count { buf[i] = momentum * buf[i] + d[i] }
                    buffers[key] = buf
                    d = buf
                } else {
                    buffers[key] = d
                }
            }
            for i in 0..<p.count { p.data[i] -= lr * d[i] }
        }
    }
}

/// Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ params: [Tensor], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in params { for g in p.grad?.data ?? [] { total += Double(g) * Double(g) } }
    let norm = Float(total.squareRoot())
    let k = maxNorm / (norm + 1e-6)
    if k < 1 { for p in params { p.grad?.data = p.grad!.data.map { $0 * k } } }
    return norm
}

/// Sums gradients over several micro-batches before one optimizer step.
public struct GradientAccumulator {
    public let steps: Int
    private var count = 0
    public init(steps: Int) { self.steps = max(1, steps) }

    /// Scale to apply to each micro-batch loss (1/steps), so the sum is a mean.
    public var lossScale: Float { 1 / Float(steps) }

    /// Call after each backward; true when it is time to step the optimizer (and zero the grads).
    public mutating func shouldStep() -> Bool {
        count += 1
        if count == steps { count = 0; return true }
        return false
    }
}
