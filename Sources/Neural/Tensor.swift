/// A dense, row-major float32 tensor that records how it was computed, for reverse-mode autograd.
/// Tensors are contiguous: shape operations that reorder data (permute, transpose) copy.
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    public var data: [Float]
    /// Whether gradients flow to this tensor (set on parameters and inputs being differentiated).
    public var requiresGrad: Bool
    /// The accumulated gradient after `backward()`.
    public var grad: Tensor?
    /// How this tensor was made, when it depends on something that requires a gradient.
    var node: GradNode?

    public init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) needs \(shape.reduce(1, *)) values, got \(data.count)")
        self.shape = shape
        self.data = data
        self.requiresGrad = requiresGrad
    }

    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    public convenience init(filled value: Float, shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public convenience init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    public var count: Int { data.count }
    public var rank: Int { shape.count }
    /// The single value of a one-element tensor.
    public var item: Float { data[0] }
    /// Whether this tensor is part of a graph a gradient can flow through.
    public var tracksGrad: Bool { requiresGrad || node != nil }

    /// Dimension size with negative indices counting from the end.
    public func size(_ dim: Int) -> Int { shape[dim < 0 ? shape.count + dim : dim] }

    public var description: String {
        let head = data.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(head)\(data.count > 8 ? ", …" : "")])"
    }

    /// A copy that is cut from the graph.
    public func detached() -> Tensor { Tensor(shape: shape, data: data) }
}

/// Row-major strides of a shape.
func strides(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        s[i] = acc
        acc *= shape[i]
    }
    return s
}

func normalize(dim: Int, rank: Int) -> Int { dim < 0 ? dim + rank : dim }
