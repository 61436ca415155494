/// A layer: named parameters, freezable. Frozen parameters get no gradient and no optimizer state.
public protocol Module: AnyObject {
    /// (name, tensor) for every parameter, with dotted upstream-style names ("to_q.weight").
    var namedParameters: [(String, Tensor)] { get }
}

extension Module {
    public var parameters: [Tensor] { namedParameters.map(\.1) }
    public var trainableParameters: [Tensor] { parameters.filter(\.requiresGrad) }

    /// Stops (or restarts) training of every parameter.
    public func setFrozen(_ frozen: Bool) {
        for p in parameters {
            p.requiresGrad = !frozen
            if frozen { p.grad = nil }
        }
    }

    public func zeroGrad() { for p in parameters { p.grad = nil } }

    /// Copies weights in by name; every parameter must be present with the same shape.
    public func load(_ weights: [String: Tensor], prefix: String = "") throws(NeuralError) {
        for (name, p) in namedParameters {
            let key = prefix + name
            guard let w = weights[key] else { throw .weights(key: key, "missing") }
            guard w.shape == p.shape else { throw .weights(key: key, "has shape \(w.shape), the layer expects \(p.shape)") }
            p.data = w.data
        }
    }
}

/// "prefix.name" for each of a child module's parameters.
public func nested(_ prefix: String, _ m: Module) -> [(String, Tensor)] { m.namedParameters.map { (prefix + "." + $0.0, $0.1) } }

/// "prefix.i.name" for a list of child modules (PyTorch's `ModuleList` naming).
public func nested(_ prefix: String, _ list: [Module]) -> [(String, Tensor)] {
    list.enumerated().flatMap { i, m in nested("\(prefix).\(i)", m) }
}

/// y = x·Wᵀ + b.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?
    /// A low-rank adapter added to the output when set (its parameters are not among the layer's own).
    public var lora: LoRA?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, initializer: inout ParameterInit) {
        // PyTorch's default: U(-1/√in, 1/√in).
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = initializer.uniform([outFeatures, inFeatures], bound: bound)
        self.bias = bias ? initializer.uniform([outFeatures], bound: bound) : nil
        weight.requiresGrad = true
        self.bias?.requiresGrad = true
    }

    public convenience init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout NumPyRandom) {
        var p = ParameterInit.random(rng)
        self.init(inFeatures, outFeatures, bias: bias, initializer: &p)
        rng = p.generator!
    }

    public var namedParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        do {
            let y = try x.linear(weight: weight, bias: bias)
            guard let lora else { return y }
            return try y.add(lora(x))
        } catch { throw error.inLayer("Linear(\(weight.shape[1])→\(weight.shape[0]))") }
    }
}

public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let options: Conv2DOptions

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, options: Conv2DOptions = .init(), bias: Bool = true,
                initializer: inout ParameterInit) {
        let fanIn = inChannels / options.groups * kernel * kernel
        let bound = 1 / Float(fanIn).squareRoot()
        weight = initializer.uniform([outChannels, inChannels / options.groups, kernel, kernel], bound: bound)
        self.bias = bias ? initializer.uniform([outChannels], bound: bound) : nil
        self.options = options
        weight.requiresGrad = true
        self.bias?.requiresGrad = true
    }

    public convenience init(_ inChannels: Int, _ outChannels: Int, kernel: Int, options: Conv2DOptions = .init(), bias: Bool = true,
                            rng: inout NumPyRandom) {
        var p = ParameterInit.random(rng)
        self.init(inChannels, outChannels, kernel: kernel, options: options, bias: bias, initializer: &p)
        rng = p.generator!
    }

    public var namedParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        do { return try x.conv2d(weight: weight, bias: bias, options: options) } catch { throw error.inLayer("Conv2d\(weight.shape)") }
    }
}

public final class GroupNorm: Module {
    public let groups: Int
    public let eps: Float
    public let weight: Tensor, bias: Tensor

    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        self.groups = groups
        self.eps = eps
        weight = Tensor(filled: 1, shape: [channels])
        bias = Tensor(zeros: [channels])
        weight.requiresGrad = true
        bias.requiresGrad = true
    }

    public var namedParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        do { return try x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps) } catch { throw error.inLayer("GroupNorm(\(groups), \(weight.count))") }
    }
}

public final class LayerNorm: Module {
    public let eps: Float
    public let weight: Tensor, bias: Tensor

    public init(_ dim: Int, eps: Float = 1e-5) {
        self.eps = eps
        weight = Tensor(filled: 1, shape: [dim])
        bias = Tensor(zeros: [dim])
        weight.requiresGrad = true
        bias.requiresGrad = true
    }

    public var namedParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        do { return try x.layerNorm(weight: weight, bias: bias, eps: eps) } catch { throw error.inLayer("LayerNorm(\(weight.count))") }
    }
}

public final class Embedding: Module {
    public let weight: Tensor

    public init(_ vocab: Int, _ dim: Int, initializer: inout ParameterInit) {
        weight = initializer.normal([vocab, dim])
        weight.requiresGrad = true
    }

    public convenience init(_ vocab: Int, _ dim: Int, rng: inout NumPyRandom) {
        var p = ParameterInit.random(rng)
        self.init(vocab, dim, initializer: &p)
        rng = p.generator!
    }

    public var namedParameters: [(String, Tensor)] { [("weight", weight)] }

    public func callAsFunction(_ ids: [Int], shape: [Int]) throws(NeuralError) -> Tensor {
        do { return try weight.embedding(ids, idsShape: shape) } catch { throw error.inLayer("Embedding\(weight.shape)") }
    }
}

/// Multi-head attention as diffusers' `Attention`: to_q/to_k/to_v without bias, to_out with bias.
/// Self-attention when no context is given, cross-attention otherwise.
public final class MultiHeadAttention: Module {
    public let heads: Int
    public let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear

    public init(queryDim: Int, contextDim: Int? = nil, heads: Int, headDim: Int, qkvBias: Bool = false, initializer: inout ParameterInit) {
        self.heads = heads
        let inner = heads * headDim
        toQ = Linear(queryDim, inner, bias: qkvBias, initializer: &initializer)
        toK = Linear(contextDim ?? queryDim, inner, bias: qkvBias, initializer: &initializer)
        toV = Linear(contextDim ?? queryDim, inner, bias: qkvBias, initializer: &initializer)
        toOut = Linear(inner, queryDim, initializer: &initializer)
    }

    public convenience init(queryDim: Int, contextDim: Int? = nil, heads: Int, headDim: Int, rng: inout NumPyRandom) {
        var p = ParameterInit.random(rng)
        self.init(queryDim: queryDim, contextDim: contextDim, heads: heads, headDim: headDim, initializer: &p)
        rng = p.generator!
    }

    public var namedParameters: [(String, Tensor)] {
        nested("to_q", toQ) + nested("to_k", toK) + nested("to_v", toV) + nested("to_out.0", toOut)
    }

    /// x [B, T, queryDim], context [B, S, contextDim].
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, mask: [Bool]? = nil) throws(NeuralError) -> Tensor {
        let ctx = context ?? x
        func split(_ t: Tensor) throws(NeuralError) -> Tensor {
            try t.reshaped([t.shape[0], t.shape[1], heads, t.shape[2] / heads]).permuted([0, 2, 1, 3])
        }
        let q = try split(toQ(x)), k = try split(toK(ctx)), v = try split(toV(ctx))
        let a = try Attention.scaledDotProduct(q, k, v, mask: mask)
        let merged = try a.permuted([0, 2, 1, 3]).reshaped([x.shape[0], x.shape[1], -1])
        return try toOut(merged)
    }
}

extension NeuralError {
    /// Adds the layer's name to a shape error.
    func inLayer(_ layer: String) -> NeuralError {
        switch self {
        case .shapeMismatch(let op, let a, let sa, let b, let sb): return .shapeMismatch(op: "\(layer) \(op)", a, sa, b, sb)
        case .invalidArgument(let op, let why): return .invalidArgument(op: "\(layer) \(op)", why)
        default: return self
        }
    }
}
