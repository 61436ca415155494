import Neural

/// Errors of the image studio. Each names the file, part or tensor involved and what to do.
public enum DiffusionError: Error, CustomStringConvertible {
    /// A model folder or checkpoint that cannot be used as it is.
    case model(String)
    /// Tensors missing from, or shaped differently in, the weights than the config says.
    case weights([String])
    /// A request that cannot run (sizes, steps, schedulers, strength…), caught before any compute starts.
    case invalidRequest(String)
    case unsupported(String)
    case neural(NeuralError)
    case io(String)
    /// Training that cannot go on (a non-finite loss, data that does not fit).
    case training(String)
    case cancelled

    public var description: String {
        switch self {
        case .model(let why): return why
        case .weights(let problems):
            let shown = problems.prefix(8).joined(separator: "; ")
            return "the weights do not match the model config: \(shown)\(problems.count > 8 ? "; … and \(problems.count - 8) more" : "")"
        case .invalidRequest(let why): return why
        case .unsupported(let why): return why
        case .neural(let e): return e.description
        case .io(let why): return why
        case .training(let why): return why
        case .cancelled: return "cancelled"
        }
    }
}

/// Runs neural-engine code, turning its errors into `DiffusionError`.
@inline(__always)
func neural<T>(_ body: () throws(NeuralError) -> T) throws(DiffusionError) -> T {
    do { return try body() } catch { throw .neural(error) }
}
