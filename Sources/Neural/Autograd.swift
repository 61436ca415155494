import Foundation

/// One recorded operation: its inputs and how to turn the output's gradient into theirs.
final class GradNode {
    let op: String
    let inputs: [Tensor]
    /// Given d loss / d output, returns d loss / d input for each input (nil where none is needed).
    let backward: (Tensor) -> [Tensor?]

    init(op: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
    }
}

/// Global switches of the engine.
public enum Autograd {
    @TaskLocal static var recording = true
    /// When on, every op checks its output for NaN/Inf and throws `NeuralError.nonFinite`.
    nonisolated(unsafe) public static var detectNonFinite = false

    public static var isRecording: Bool { recording }

    /// Runs `body` without recording a graph (inference, frozen parts, optimizer updates).
    public static func withoutGrad<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let result: Result<T, E> = $recording.withValue(false) { Result { () throws(E) -> T in try body() } }
        return try result.get()
    }
}

extension Tensor {
    /// Makes `out` a node of the graph when any input tracks gradients and recording is on.
    @discardableResult
    func record(_ op: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        if Autograd.recording && inputs.contains(where: \.tracksGrad) {
            node = GradNode(op: op, inputs: inputs, backward: backward)
        }
        return self
    }

    func checkFinite(_ op: String) throws(NeuralError) {
        guard Autograd.detectNonFinite else { return }
        for v in data where !v.isFinite { throw .nonFinite(op: op) }
    }

    /// Reverse-mode differentiation from this tensor (a scalar, unless `gradient` is given).
    /// Gradients accumulate into `grad` of every tensor with `requiresGrad`.
    public func backward(_ gradient: Tensor? = nil) {
        let seed = gradient ?? Tensor(filled: 1, shape: shape)
        // Topological order by depth-first search (iterative: graphs can be deep).
        var order: [Tensor] = []
        var seen = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard seen.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            for i in t.node?.inputs ?? [] where i.tracksGrad && !seen.contains(ObjectIdentifier(i)) { stack.append((i, false)) }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        // Taken off the list as it goes, so an activation is freed as soon as the nodes that saved it
        // have run (as PyTorch frees saved tensors), not when the whole backward ends.
        while let t = order.popLast() {
            // The graph is spent once differentiated, as in PyTorch without retain_graph. Dropping the
            // node also breaks the cycle between an output and a backward closure that captured it,
            // which otherwise kept every training step's activations alive.
            let node = t.node
            t.node = nil
            guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
            if t.requiresGrad {
                if let existing = t.grad { existing.addInPlace(g) } else { t.grad = g.detached() }
            }
            guard let node else { continue }
            let inputGrads = Autograd.withoutGrad { node.backward(g) }
            for (input, ig) in Swift.zip(node.inputs, inputGrads) {
                guard let ig, input.tracksGrad else { continue }
                let key = ObjectIdentifier(input)
                if let acc = grads[key] { acc.addInPlace(ig) } else { grads[key] = ig.detached() }
            }
        }
    }

    /// Adds `other` (same shape) into this tensor's data.
    func addInPlace(_ other: Tensor) {
        precondition(other.count == count)
        data.withUnsafeMutableBufferPointer { d in
            other.data.withUnsafeBufferPointer { o in
                for i in 0..<d.count { d[i] += o[i] }
            }
        }
    }

    public func zeroGrad() { grad = nil }
}

/// Gradient checkpointing: runs `block` without keeping its activations; on the backward pass the
/// block is run again with recording on and differentiated. Trades one extra forward for memory.
/// `parameters` are the trainable tensors the block uses: listing them keeps the block in the graph
/// even when no input tracks gradients (LoRA adapters behind a frozen layer).
public func checkpoint(_ inputs: [Tensor], parameters: [Tensor] = [], _ block: @escaping ([Tensor]) throws -> Tensor) throws -> Tensor {
    let out = try Autograd.withoutGrad { try block(inputs) }
    let result = Tensor(shape: out.shape, data: out.data)
    let trainable = parameters.filter(\.requiresGrad)
    return result.record("checkpoint", inputs + trainable) { g in
        let fresh = inputs.map { i -> Tensor in Tensor(shape: i.shape, data: i.data, requiresGrad: i.tracksGrad) }
        // Recompute with recording on and differentiate: parameters captured by the block receive their
        // gradients directly; the inputs' gradients are handed back to the outer graph.
        try? Autograd.$recording.withValue(true) { () throws in
            try block(fresh).backward(g)
        }
        // The parameters received theirs during the recomputation's backward.
        return fresh.map { $0.grad } + trainable.map { _ in nil }
    }
}
