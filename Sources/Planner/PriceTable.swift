import Foundation

/// Dollars per million tokens, with an optional higher tier above a prompt size (xAI doubles both
/// prices for requests whose context exceeds 128k tokens).
public struct PriceTable: Sendable, Equatable, Codable {
    public var inputPerMillion: Double
    public var outputPerMillion: Double
    public var longContextThreshold: Int?
    public var longContextMultiplier: Double

    public init(inputPerMillion: Double, outputPerMillion: Double, longContextThreshold: Int? = nil, longContextMultiplier: Double = 1) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.longContextThreshold = longContextThreshold
        self.longContextMultiplier = longContextMultiplier
    }

    /// Cost in dollars of one call. Reasoning tokens are billed as output (`Usage.outputTokens`
    /// counts them under both providers' conventions).
    public func cost(_ u: Usage) -> Double {
        var m = 1.0
        if let t = longContextThreshold, u.promptTokens > t { m = longContextMultiplier }
        return (Double(u.promptTokens) * inputPerMillion + Double(u.outputTokens) * outputPerMillion) * m / 1_000_000
    }
}
