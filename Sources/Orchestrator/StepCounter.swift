import Foundation

/// Strictly increasing progress values for work of unknown length (an agent run's steps).
public final class StepCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0.0

    public init() {}

    public func next() -> Double { lock.withLock { n += 1; return n } }
}
