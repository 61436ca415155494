/// Errors of the neural engine. Shape errors name both shapes and the operation or layer.
public enum NeuralError: Error, Equatable, CustomStringConvertible {
    case shapeMismatch(op: String, String, [Int], String, [Int])
    case invalidArgument(op: String, String)
    case weights(key: String, String)
    case nonFinite(op: String)
    case io(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let op, let n1, let s1, let n2, let s2):
            return "\(op): \(n1) has shape \(s1) but \(n2) has shape \(s2)"
        case .invalidArgument(let op, let why): return "\(op): \(why)"
        case .weights(let key, let why): return "weight '\(key)': \(why)"
        case .nonFinite(let op): return "\(op) produced NaN or Inf (NaN/Inf detection is on)"
        case .io(let why): return why
        }
    }
}
