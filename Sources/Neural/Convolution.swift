import CKernels

/// Convolution geometry.
public struct Conv2DOptions: Sendable, Equatable {
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var groups: Int

    public init(stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), groups: Int = 1) {
        self.stride = stride
        self.padding = padding
        self.groups = groups
    }

    public static func == (a: Conv2DOptions, b: Conv2DOptions) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.groups == b.groups
    }
}

extension Tensor {
    /// 2-D convolution of x [N, C, H, W] with weight [O, C/groups, KH, KW], as torch's F.conv2d.
    /// Lowered to im2col + GEMM: one for the whole batch without groups, else one per image and group.
    public func conv2d(weight: Tensor, bias: Tensor?, options o: Conv2DOptions = .init()) throws(NeuralError) -> Tensor {
        guard rank == 4, weight.rank == 4, o.groups >= 1, shape[1] % o.groups == 0, weight.shape[0] % o.groups == 0,
              weight.shape[1] * o.groups == shape[1] else {
            throw .shapeMismatch(op: "conv2d (groups \(o.groups))", "input", shape, "weight", weight.shape)
        }
        if let bias, bias.shape != [weight.shape[0]] { throw .shapeMismatch(op: "conv2d", "weight", weight.shape, "bias", bias.shape) }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (oc, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let (sh, sw) = o.stride, (ph, pw) = o.padding
        let oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1
        guard oh > 0, ow > 0 else { throw .invalidArgument(op: "conv2d", "kernel \(kh)×\(kw) does not fit input \(shape) with padding \(o.padding)") }
        let g = o.groups, cg = c / g, ocg = oc / g
        let kdim = cg * kh * kw, cols = oh * ow
        var out = [Float](repeating: 0, count: n * oc * cols)
        let geo = Geometry(c: c, h: h, w: w, kh: kh, kw: kw, sh: sh, sw: sw, ph: ph, pw: pw, oh: oh, ow: ow)
        if g == 1 && !geo.isPointwise, let product = Self.implicitProduct() {
            // Implicit GEMM: the kernel packs the image's patches itself (see ck_sgemm_conv).
            data.withUnsafeBufferPointer { xp in
                Self.implicitConv(product, xp.baseAddress!, images: n, channels: c, h: h, w: w, weight.data, outChannels: oc,
                                  kernel: (kh, kw), stride: (sh, sw), padding: (ph, pw), output: (oh, ow), into: &out)
            }
        } else if g == 1 && n > 1 {
            // One GEMM for the whole batch: the images' columns side by side. Each weight matrix is then
            // packed once per call instead of once per image, which dominates at low resolutions.
            let wide = n * cols
            var col = [Float].unfilled(kdim * wide)
            for b in 0..<n { geo.im2colParallel(data, image: b, channel0: 0, channels: c, into: &col, rowStride: wide, columnOffset: b * cols) }
            var wideOut = [Float].unfilled(oc * wide)
            BLAS.gemm(transA: false, transB: false, m: oc, n: wide, k: kdim, weight.data, col, &wideOut)
            Self.unbatch(wideOut, into: &out, images: n, channels: oc, cols: cols)
        } else if geo.isPointwise {
            // A 1×1 conv is a GEMM on the image as it lies: no im2col copy.
            for b in 0..<n {
                for gi in 0..<g {
                    BLAS.gemm(transA: false, transB: false, m: ocg, n: cols, k: kdim, weight.data, aOffset: gi * ocg * kdim,
                              data, bOffset: (b * c + gi * cg) * cols, &out, cOffset: (b * oc + gi * ocg) * cols)
                }
            }
        } else {
            var col = [Float].unfilled(kdim * cols)
            for b in 0..<n {
                for gi in 0..<g {
                    geo.im2colParallel(data, image: b, channel0: gi * cg, channels: cg, into: &col, rowStride: cols, columnOffset: 0)
                    BLAS.gemm(transA: false, transB: false, m: ocg, n: cols, k: kdim, weight.data, aOffset: gi * ocg * kdim,
                              col, &out, cOffset: (b * oc + gi * ocg) * cols)
                }
            }
        }
        if let bias {
            bias.data.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { o in
                    for b in 0..<n { for ch in 0..<oc { let v = bp[ch], row = o.baseAddress! + (b * oc + ch) * cols; for i in 0..<cols { row[i] += v } } }
                }
            }
        }
        let x = self
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return Tensor(shape: [n, oc, oh, ow], data: out).record("conv2d", inputs) { gout in
            var gx = [Float](repeating: 0, count: x.count), gw = [Float](repeating: 0, count: weight.count)
            // With stride 1, dX is itself a convolution: of dY by the weights flipped in space with
            // input and output channels swapped, padded by k − 1 − p. As an implicit GEMM it needs
            // neither the dcol matrix nor the col2im scatter; that pays from 32×32 up (measured: 6%
            // faster at 320 channels × 32×32, even at 16×16, 15% slower at 1280 × 8×8, where dcol is
            // small and the flipped weights are read with long strides).
            var inputGradientDone = false
            if x.tracksGrad, g == 1, sh == 1, sw == 1, ph < kh, pw < kw, cols >= 1024, let product = Self.implicitProduct() {
                gout.data.withUnsafeBufferPointer { gp in
                    Self.implicitConv(product, gp.baseAddress!, images: n, channels: oc, h: oh, w: ow, weight.data, flipped: true, outChannels: c,
                                      kernel: (kh, kw), stride: (1, 1), padding: (kh - 1 - ph, kw - 1 - pw), output: (h, w), into: &gx)
                }
                inputGradientDone = true
            }
            // dW as an implicit GEMM too: dY [O, N·cols] times the image's patches, which the kernel
            // packs transposed straight from x (no im2col matrix, no gather of its columns).
            var weightGradientDone = false
            if weight.tracksGrad, g == 1, let product = Self.implicitWeightGradient() {
                let dy = n > 1 ? Self.batched(gout.data, images: n, channels: oc, cols: cols) : gout.data
                x.data.withUnsafeBufferPointer { xp in
                    var cv = ck_conv_geometry(x: xp.baseAddress!, images: n, channels: c, channel0: 0, kernel_channels: c, h: h, w: w,
                                              kh: kh, kw: kw, sh: sh, sw: sw, ph: ph, pw: pw, oh: oh, ow: ow)
                    dy.withUnsafeBufferPointer { dp in
                        gw.withUnsafeMutableBufferPointer { product(oc, dp.baseAddress!, &cv, $0.baseAddress!, kdim, Int32(BLAS.threads)) }
                    }
                }
                weightGradientDone = true
            }
            if g == 1 && n > 1 && ((weight.tracksGrad && !weightGradientDone) || (x.tracksGrad && !inputGradientDone)) {
                // The forward's batched layout: dY as [O, N·cols], one GEMM each for dW and dcol.
                let wide = n * cols
                let gWide = Self.batched(gout.data, images: n, channels: oc, cols: cols)
                if weight.tracksGrad && !weightGradientDone {
                    var col = [Float].unfilled(kdim * wide)
                    for b in 0..<n { geo.im2colParallel(x.data, image: b, channel0: 0, channels: c, into: &col, rowStride: wide, columnOffset: b * cols) }
                    BLAS.gemm(transA: false, transB: true, m: oc, n: kdim, k: wide, gWide, col, &gw)
                }
                if x.tracksGrad && !inputGradientDone {
                    var gcol = [Float].unfilled(kdim * wide)
                    BLAS.gemm(transA: true, transB: false, m: kdim, n: wide, k: oc, weight.data, gWide, &gcol)
                    for b in 0..<n { geo.col2imParallel(gcol, image: b, channels: c, into: &gx, rowStride: wide, columnOffset: b * cols) }
                }
            } else if g > 1 || n == 1 {
                var col = [Float].unfilled(kdim * cols), gcol = [Float].unfilled(kdim * cols)
                for b in 0..<n {
                    for gi in 0..<g {
                        let gOff = (b * oc + gi * ocg) * cols
                        if weight.tracksGrad && !weightGradientDone {
                            geo.im2col(x.data, image: b, channel0: gi * cg, channels: cg, into: &col)
                            // dW[ocg, kdim] += dY[ocg, cols] · colᵀ
                            BLAS.gemm(transA: false, transB: true, m: ocg, n: kdim, k: cols, gout.data, aOffset: gOff, col,
                                      beta: 1, &gw, cOffset: gi * ocg * kdim)
                        }
                        if x.tracksGrad && !inputGradientDone {
                            // dcol[kdim, cols] = Wᵀ · dY, then scatter back.
                            BLAS.gemm(transA: true, transB: false, m: kdim, n: cols, k: ocg, weight.data, aOffset: gi * ocg * kdim,
                                      gout.data, bOffset: gOff, &gcol)
                            geo.col2im(gcol, image: b, channel0: gi * cg, channels: cg, into: &gx, rowStride: cols, columnOffset: 0)
                        }
                    }
                }
            }
            var result: [Tensor?] = [Tensor(shape: x.shape, data: gx), Tensor(shape: weight.shape, data: gw)]
            if bias != nil {
                var gb = [Float](repeating: 0, count: oc)
                gout.data.withUnsafeBufferPointer { g in
                    for b in 0..<n { for ch in 0..<oc { let row = g.baseAddress! + (b * oc + ch) * cols; var sum: Float = 0; for i in 0..<cols { sum += row[i] }; gb[ch] += sum } }
                }
                result.append(Tensor(shape: [oc], data: gb))
            }
            return result
        }
    }

    /// Nearest-neighbour upsampling of the last two dimensions by an integer factor.
    public func upsampleNearest(scale: Int) throws(NeuralError) -> Tensor {
        guard rank >= 2, scale >= 1 else { throw .invalidArgument(op: "upsample_nearest", "needs rank ≥ 2 and scale ≥ 1, got \(shape), \(scale)") }
        let h = shape[rank - 2], w = shape[rank - 1], planes = count / (h * w)
        let oh = h * scale, ow = w * scale
        var out = [Float].unfilled(planes * oh * ow)
        data.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { op in
                let src = sp.baseAddress!, dst = op.baseAddress!
                for p in 0..<planes {
                    for y in 0..<h {
                        // One widened row, then copies of it for the other rows it covers.
                        let from = src + (p * h + y) * w, row = dst + (p * oh + y * scale) * ow
                        for x in 0..<w { for k in 0..<scale { row[x * scale + k] = from[x] } }
                        for r in 1..<scale { (row + r * ow).update(from: row, count: ow) }
                    }
                }
            }
        }
        var s = shape
        s[rank - 2] = oh
        s[rank - 1] = ow
        let inShape = shape
        return Tensor(shape: s, data: out).record("upsample_nearest", [self]) { g in
            var back = [Float](repeating: 0, count: planes * h * w)
            g.data.withUnsafeBufferPointer { gp in
                back.withUnsafeMutableBufferPointer { bp in
                    for p in 0..<planes {
                        for y in 0..<oh {
                            let to = bp.baseAddress! + (p * h + y / scale) * w, from = gp.baseAddress! + (p * oh + y) * ow
                            for x in 0..<ow { to[x / scale] += from[x] }
                        }
                    }
                }
            }
            return [Tensor(shape: inShape, data: back)]
        }
    }
}

/// im2col / col2im for one image and a run of channels.
extension Tensor {
    /// The implicit-GEMM convolution for this thread's matrix precision, where the CPU runs it.
    typealias ConvProduct = (Int, UnsafePointer<Float>, Int32, UnsafePointer<ck_conv_geometry>, UnsafeMutablePointer<Float>, Int, Int32) -> Void

    static func implicitProduct() -> ConvProduct? {
        if MatmulPrecision.current == .fp32 {
            return ck_sgemm_available() != 0 ? { ck_sgemm_conv($0, $1, $2, $3, $4, $5, $6) } : nil
        }
        return ck_sgemm_bf16_available() != 0 ? { ck_sgemm_conv_bf16($0, $1, $2, $3, $4, $5, $6) } : nil
    }

    /// out [images, outChannels, oh, ow] = the convolution of x [images, channels, h, w] by weights
    /// [outChannels, channels, kh, kw] (no groups) — or, `flipped`, by weights [channels, outChannels,
    /// kh, kw] turned 180° with their channel roles swapped (an input gradient). One product for the
    /// whole batch, written straight into `out` for one image.
    static func implicitConv(_ product: ConvProduct,
                             _ x: UnsafePointer<Float>, images: Int, channels: Int, h: Int, w: Int, _ weights: [Float], flipped: Bool = false, outChannels: Int,
                             kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), output: (Int, Int), into out: inout [Float]) {
        let cols = output.0 * output.1, wide = images * cols
        var cv = ck_conv_geometry(x: x, images: images, channels: channels, channel0: 0, kernel_channels: channels, h: h, w: w,
                                  kh: kernel.0, kw: kernel.1, sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1,
                                  oh: output.0, ow: output.1)
        weights.withUnsafeBufferPointer { wp in
            if images == 1 {
                out.withUnsafeMutableBufferPointer { product(outChannels, wp.baseAddress!, flipped ? 1 : 0, &cv, $0.baseAddress!, cols, Int32(BLAS.threads)) }
            } else {
                var wideOut = [Float].unfilled(outChannels * wide)
                wideOut.withUnsafeMutableBufferPointer { product(outChannels, wp.baseAddress!, flipped ? 1 : 0, &cv, $0.baseAddress!, wide, Int32(BLAS.threads)) }
                unbatch(wideOut, into: &out, images: images, channels: outChannels, cols: cols)
            }
        }
    }

    /// A convolution's weight gradient for this thread's matrix precision, where the CPU runs it.
    typealias WeightGradientProduct = (Int, UnsafePointer<Float>, UnsafePointer<ck_conv_geometry>, UnsafeMutablePointer<Float>, Int, Int32) -> Void

    static func implicitWeightGradient() -> WeightGradientProduct? {
        if MatmulPrecision.current == .fp32 {
            return ck_sgemm_available() != 0 ? { ck_sgemm_conv_wgrad($0, $1, $2, $3, $4, $5) } : nil
        }
        return ck_sgemm_bf16_available() != 0 ? { ck_sgemm_conv_wgrad_bf16($0, $1, $2, $3, $4, $5) } : nil
    }

    /// [images, channels, cols] → [channels, images·cols] (a batched product's layout).
    static func batched(_ x: [Float], images: Int, channels: Int, cols: Int) -> [Float] {
        let wide = images * cols
        var out = [Float].unfilled(channels * wide)
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for b in 0..<images {
                    for ch in 0..<channels {
                        (dst.baseAddress! + ch * wide + b * cols).update(from: src.baseAddress! + (b * channels + ch) * cols, count: cols)
                    }
                }
            }
        }
        return out
    }

    /// [channels, images·cols] (a batched product's layout) → [images, channels, cols].
    static func unbatch(_ wide: [Float], into out: inout [Float], images: Int, channels: Int, cols: Int) {
        wide.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for b in 0..<images {
                    for ch in 0..<channels {
                        (dst.baseAddress! + (b * channels + ch) * cols).update(from: src.baseAddress! + ch * images * cols + b * cols, count: cols)
                    }
                }
            }
        }
    }
}

struct Geometry {
    let c, h, w, kh, kw, sh, sw, ph, pw, oh, ow: Int

    /// 1×1, stride 1, no padding: the image already is its own column matrix.
    var isPointwise: Bool { kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 }

    /// im2col split over the BLAS threads by channel (each writes its own rows): the copy is otherwise
    /// a single-threaded pass as long as a fifth of the GEMM that follows.
    /// `rowStride`/`columnOffset` place one image's columns inside a wider matrix (batched GEMM).
    func im2colParallel(_ x: [Float], image: Int, channel0: Int, channels: Int, into col: inout [Float], rowStride: Int, columnOffset: Int) {
        let workers = Swift.min(Swift.max(1, BLAS.threads), channels)
        let perChannel = kh * kw * rowStride
        col.withUnsafeMutableBufferPointer { dst in
            guard workers > 1, channels * kh * kw * oh * ow >= 1 << 16 else {
                var all = dst
                im2col(x, image: image, channel0: channel0, channels: channels, into: &all, rowStride: rowStride, columnOffset: columnOffset)
                return
            }
            let shared = SharedPointer(dst.baseAddress!)
            ParallelRows.forEach(workers, threads: workers) { wi in
                let first = channels * wi / workers, last = channels * (wi + 1) / workers
                guard last > first else { return }
                var part = UnsafeMutableBufferPointer(start: shared.p + first * perChannel, count: (last - first) * perChannel)
                self.im2col(x, image: image, channel0: channel0 + first, channels: last - first, into: &part, rowStride: rowStride, columnOffset: columnOffset)
            }
        }
    }

    func im2col(_ x: [Float], image: Int, channel0: Int, channels: Int, into col: inout [Float]) {
        col.withUnsafeMutableBufferPointer { dst in
            var d = dst
            im2col(x, image: image, channel0: channel0, channels: channels, into: &d, rowStride: oh * ow, columnOffset: 0)
        }
    }

    func im2col(_ x: [Float], image: Int, channel0: Int, channels: Int, into dst: inout UnsafeMutableBufferPointer<Float>,
                rowStride: Int, columnOffset: Int) {
        x.withUnsafeBufferPointer { src in
            do {
                for ci in 0..<channels {
                    let plane = ((image * c) + channel0 + ci) * h * w
                    for ky in 0..<kh {
                        for kx in 0..<kw {
                            let row = ((ci * kh + ky) * kw + kx) * rowStride + columnOffset
                            for oy in 0..<oh {
                                let iy = oy * sh - ph + ky
                                let base = row + oy * ow
                                if iy < 0 || iy >= h {
                                    for ox in 0..<ow { dst[base + ox] = 0 }
                                    continue
                                }
                                let srow = plane + iy * w
                                if sw == 1 {
                                    // Stride 1: one contiguous run of the input row, zeros where the kernel hangs over an edge.
                                    let lo = Swift.max(0, pw - kx), hi = Swift.min(ow, w + pw - kx)
                                    for ox in 0..<Swift.min(lo, ow) { dst[base + ox] = 0 }
                                    if hi > lo {
                                        (dst.baseAddress! + base + lo).update(from: src.baseAddress! + srow + lo - pw + kx, count: hi - lo)
                                    }
                                    for ox in Swift.max(hi, 0)..<ow { dst[base + ox] = 0 }
                                    continue
                                }
                                for ox in 0..<ow {
                                    let ix = ox * sw - pw + kx
                                    dst[base + ox] = (ix >= 0 && ix < w) ? src[srow + ix] : 0
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// col2im of all channels split over the BLAS threads by channel: each channel's rows add into its
    /// own plane, so the workers never write the same values.
    func col2imParallel(_ col: [Float], image: Int, channels: Int, into x: inout [Float], rowStride: Int, columnOffset: Int) {
        let workers = Swift.min(Swift.max(1, BLAS.threads), channels)
        guard workers > 1, channels * kh * kw * oh * ow >= 1 << 16 else {
            col2im(col, image: image, channel0: 0, channels: channels, into: &x, rowStride: rowStride, columnOffset: columnOffset)
            return
        }
        col.withUnsafeBufferPointer { src in
            x.withUnsafeMutableBufferPointer { dst in
                let source = SharedPointer(UnsafeMutablePointer(mutating: src.baseAddress!)), target = SharedPointer(dst.baseAddress!)
                ParallelRows.forEach(workers, threads: workers) { wi in
                    let first = channels * wi / workers, last = channels * (wi + 1) / workers
                    guard last > first else { return }
                    self.col2im(source.p + first * kh * kw * rowStride, image: image, channel0: first, channels: last - first, into: target.p,
                                rowStride: rowStride, columnOffset: columnOffset)
                }
            }
        }
    }

    /// Adds columns back into the image (the adjoint of im2col). `rowStride`/`columnOffset` as in im2col.
    func col2im(_ col: [Float], image: Int, channel0: Int, channels: Int, into x: inout [Float], rowStride: Int, columnOffset: Int) {
        col.withUnsafeBufferPointer { src in
            x.withUnsafeMutableBufferPointer { dst in
                col2im(UnsafeMutablePointer(mutating: src.baseAddress!), image: image, channel0: channel0, channels: channels,
                       into: dst.baseAddress!, rowStride: rowStride, columnOffset: columnOffset)
            }
        }
    }

    /// Channels channel0..<channel0+channels; the column rows of channel ci start at row (ci − channel0)·kh·kw.
    func col2im(_ src: UnsafeMutablePointer<Float>, image: Int, channel0: Int, channels: Int, into dst: UnsafeMutablePointer<Float>,
                rowStride: Int, columnOffset: Int) {
        do {
            do {
                for ci in 0..<channels {
                    let plane = ((image * c) + channel0 + ci) * h * w
                    for ky in 0..<kh {
                        for kx in 0..<kw {
                            let row = ((ci * kh + ky) * kw + kx) * rowStride + columnOffset
                            for oy in 0..<oh {
                                let iy = oy * sh - ph + ky
                                if iy < 0 || iy >= h { continue }
                                let s = src + row + oy * ow, d = dst + plane + iy * w
                                if sw == 1 {
                                    let lo = Swift.max(0, pw - kx), hi = Swift.min(ow, w + pw - kx)
                                    if hi > lo {
                                        let shift = kx - pw
                                        for ox in lo..<hi { d[ox + shift] += s[ox] }
                                    }
                                    continue
                                }
                                for ox in 0..<ow {
                                    let ix = ox * sw - pw + kx
                                    if ix >= 0 && ix < w { d[ix] += s[ox] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
