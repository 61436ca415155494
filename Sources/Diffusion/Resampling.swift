import Neural

/// Halves the resolution with a stride-2 3×3 conv. The UNet pads by 1 on every side; the VAE pads
/// only right and bottom by 1 (`padding: 0` in its config), as the original CompVis code does.
final class Downsample2D: Module {
    let conv: Conv2d
    let asymmetric: Bool

    init(channels: Int, padding: Int, initializer: inout ParameterInit) {
        asymmetric = padding == 0
        conv = Conv2d(channels, channels, kernel: 3, options: Conv2DOptions(stride: (2, 2), padding: (padding, padding)), initializer: &initializer)
    }

    var namedParameters: [(String, Tensor)] { nested("conv", conv) }

    func callAsFunction(_ x: Tensor) throws(NeuralError) -> Tensor {
        try conv(asymmetric ? x.padded2D(left: 0, right: 1, top: 0, bottom: 1) : x)
    }
}

/// Doubles the resolution (or reaches a given size) by nearest-neighbour, then a 3×3 conv.
final class Upsample2D: Module {
    let conv: Conv2d

    init(channels: Int, initializer: inout ParameterInit) {
        conv = Conv2d(channels, channels, kernel: 3, options: Conv2DOptions(padding: (1, 1)), initializer: &initializer)
    }

    var namedParameters: [(String, Tensor)] { nested("conv", conv) }

    /// `size` is the skip connection's spatial size when it is not exactly twice x's (odd sizes).
    func callAsFunction(_ x: Tensor, size: (Int, Int)? = nil) throws(NeuralError) -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        if let size, size != (2 * h, 2 * w) { return try conv(x.resizedNearest(height: size.0, width: size.1)) }
        return try conv(x.upsampleNearest(scale: 2))
    }
}

extension Tensor {
    /// Nearest-neighbour resize of [N, C, H, W] to any size, as torch's `interpolate(mode="nearest")`
    /// (source index = ⌊dst · in / out⌋). Inference only: no gradient is recorded.
    func resizedNearest(height oh: Int, width ow: Int) throws(NeuralError) -> Tensor {
        guard rank == 4, oh > 0, ow > 0 else { throw .invalidArgument(op: "resize_nearest", "needs [N, C, H, W] and a positive size, got \(shape)") }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let sy = Float(h) / Float(oh), sx = Float(w) / Float(ow)
        let ys = (0..<oh).map { Swift.min(Int(Float($0) * sy), h - 1) }, xs = (0..<ow).map { Swift.min(Int(Float($0) * sx), w - 1) }
        var out = [Float](repeating: 0, count: n * c * oh * ow)
        for p in 0..<(n * c) {
            for y in 0..<oh {
                let src = (p * h + ys[y]) * w, dst = (p * oh + y) * ow
                for x in 0..<ow { out[dst + x] = data[src + xs[x]] }
            }
        }
        return Tensor(shape: [n, c, oh, ow], data: out)
    }
}
