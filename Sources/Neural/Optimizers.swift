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
    var m: [ObjectIdentifier: [Float]] = [:]
    var v: [ObjectIdentifier: [Float]] = [:]
    let params: [Tensor]

    public init(_ params: [Tensor], lr: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8, weightDecay: Float = 1e-2) {
        self.params = params.filter(\.requiresGrad)
        self.lr = lr
        beta1 = betas.0
        beta2 = betas.1
        self.eps = eps
        self.weightDecay = weightDecay
    }

    public func update(lr override: Float? = nil) {
        step += 1
        let lr = override ?? self.lr
        let bc1 = 1 - Foundation.pow(beta1, Float(step)), bc2 = 1 - Foundation.pow(beta2, Float(step))
        for p in params {
            guard let g = p.grad else { continue }
            let key = ObjectIdentifier(p)
            var mm = m[key] ?? [Float](repeating: 0, count: p.count)
            var vv = v[key] ?? [Float](repeating: 0, count: p.count)
            for i in 0..<p.count {
                p.data[i] *= 1 - lr * weightDecay
                mm[i] = beta1 * mm[i] + (1 - beta1) * g.data[i]
                vv[i] = beta2 * vv[i] + (1 - beta2) * g.data[i] * g.data[i]
                let denom = (vv[i] / bc2).squareRoot() + eps
                p.data[i] -= lr * (mm[i] / bc1) / denom
            }
            m[key] = mm
            v[key] = vv
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
