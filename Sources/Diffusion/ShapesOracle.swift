import Foundation
import Neural

/// What the oracle read from an image.
public struct ShapesReading: Codable, Sendable, Equatable {
    public var shape: ShapeKind
    public var color: ShapeColor
    public var size: ShapeSize
    public var position: ShapePosition
    public var background: BackgroundColor
    /// Mean absolute difference between the object's coverage and the best template's (0 = exact).
    public var shapeError: Float
    /// Distance (RGB, 0…√3) between the object's mean colour and the named colour.
    public var colorDistance: Float

    /// Whether the reading agrees with a scene on the attributes a caption asks for.
    public func matches(_ scene: ShapesScene) -> (shape: Bool, color: Bool, size: Bool, position: Bool, background: Bool) {
        (shape == scene.shape, color == scene.color, size == scene.size, position == scene.position, background == scene.background)
    }
}

/// Reads a Shapes-world image's attributes from its pixels, with no model involved: the background is
/// the border's median colour, the object the largest region that differs from it, its colour the
/// nearest palette colour of its core pixels, and its shape, size and position those of the geometric
/// template (rendered like the world renders) whose coverage fits the object's best.
public struct ShapesOracle: Sendable {
    public let world: ShapesWorld

    public init(world: ShapesWorld = ShapesWorld()) { self.world = world }

    /// Area and centroid offset (both per unit half-extent) of each shape, measured once on a fine grid.
    static let geometry: [ShapeKind: (area: Float, centroid: SIMD2<Float>)] = {
        var result: [ShapeKind: (Float, SIMD2<Float>)] = [:]
        let steps = 400
        for shape in ShapeKind.allCases {
            var area: Float = 0, sum = SIMD2<Float>(0, 0)
            let cell = 2.4 / Float(steps)
            for i in 0..<steps {
                for j in 0..<steps {
                    let x = -1.2 + (Float(i) + 0.5) * cell, y = -1.2 + (Float(j) + 0.5) * cell
                    if ShapesWorld.contains(shape, dx: x, dy: y, radius: 1) { area += cell * cell; sum += SIMD2(x, y) * cell * cell }
                }
            }
            result[shape] = (area, sum / area)
        }
        return result
    }()

    /// Reads an image given as [3, H, W] (values in [0, 1]); nil when no object stands out.
    public func read(_ image: Tensor) -> ShapesReading? {
        guard let (bg, region) = locate(image) else { return nil }
        let n = image.shape[2], h = image.shape[1]
        let plane = n * h
        func pixel(_ i: Int) -> SIMD3<Float> { SIMD3(image.data[i], image.data[plane + i], image.data[2 * plane + i]) }
        let background = BackgroundColor.allCases.min { Self.distance($0.rgb, bg) < Self.distance($1.rgb, bg) }!

        // Its colour: the mean of its core (the pixels furthest from the background).
        let far = region.map { Self.distance(pixel($0), bg) }
        let cut = (far.max() ?? 0) * 0.7
        var fg = SIMD3<Float>(0, 0, 0), coreCount: Float = 0
        for (k, i) in region.enumerated() where far[k] >= cut { fg += pixel(i); coreCount += 1 }
        fg /= coreCount
        let color = ShapeColor.allCases.min { Self.distance($0.rgb, fg) < Self.distance($1.rgb, fg) }!

        // Coverage α of every pixel near the object, from where it lies between background and object colour.
        var near = [Bool](repeating: false, count: plane)
        for i in region {
            let x = i % n, y = i / n
            for (ox, oy) in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)] where (0..<n).contains(x + ox) && (0..<h).contains(y + oy) {
                near[(y + oy) * n + x + ox] = true
            }
        }
        let axis = fg - bg, axisSquared = Swift.max((axis * axis).sum(), 1e-6)
        var alpha = [Float](repeating: 0, count: plane)
        var area: Float = 0, centroid = SIMD2<Float>(0, 0)
        for i in 0..<plane where near[i] {
            let a = Swift.min(1, Swift.max(0, ((pixel(i) - bg) * axis).sum() / axisSquared))
            alpha[i] = a
            area += a
            centroid += SIMD2(Float(i % n) + 0.5, Float(i / n) + 0.5) * a
        }
        guard area > 0 else { return nil }
        centroid /= area

        // Shape: the template whose coverage differs least, each placed and sized to the object's area and centroid.
        var best: (shape: ShapeKind, error: Float, center: SIMD2<Float>, radius: Float)?
        for shape in ShapeKind.allCases {
            let g = Self.geometry[shape]!
            let radius = (area / g.area).squareRoot()
            let center = centroid - g.centroid * radius
            let template = world.render(ShapesScene(shape: shape, color: .red, size: .small, position: .center, background: .black),
                                        center: center, radius: radius)
            // The template's red channel runs from background 0.07 to object 0.86: its coverage.
            var error: Float = 0
            let lo = BackgroundColor.black.rgb.x, hi = ShapeColor.red.rgb.x
            for i in 0..<plane { error += abs(alpha[i] - (template.data[i] - lo) / (hi - lo)) }
            error /= area
            if best == nil || error < best!.error { best = (shape, error, center, radius) }
        }
        let fit = best!
        let r = fit.radius / world.scale
        let size: ShapeSize = r < 5.5 ? .small : r < 7.5 ? .medium : .large
        let offset = (fit.center - SIMD2(repeating: Float(n) / 2)) / world.scale
        let position: ShapePosition
        if Swift.max(abs(offset.x), abs(offset.y)) < 3.5 { position = .center }
        else if abs(offset.x) >= abs(offset.y) { position = offset.x < 0 ? .left : .right }
        else { position = offset.y < 0 ? .top : .bottom }
        return ShapesReading(shape: fit.shape, color: color, size: size, position: position, background: background,
                             shapeError: fit.error, colorDistance: Self.distance(color.rgb, fg))
    }

    /// The background colour (the border's median) and the object's pixels (the largest 4-connected
    /// region that differs clearly from it); nil when nothing stands out.
    public func locate(_ image: Tensor) -> (background: SIMD3<Float>, region: [Int])? {
        guard image.shape.count == 3, image.shape[0] == 3 else { return nil }
        let n = image.shape[2], h = image.shape[1]
        let plane = n * h
        func pixel(_ i: Int) -> SIMD3<Float> { SIMD3(image.data[i], image.data[plane + i], image.data[2 * plane + i]) }
        var border: [[Float]] = [[], [], []]
        for y in 0..<h { for x in 0..<n where y == 0 || x == 0 || y == h - 1 || x == n - 1 {
            let p = pixel(y * n + x)
            for c in 0..<3 { border[c].append(p[c]) }
        } }
        let bg = SIMD3<Float>((0..<3).map { c in border[c].sorted()[border[c].count / 2] })
        var differs = [Bool](repeating: false, count: plane)
        for i in 0..<plane { differs[i] = Self.distance(pixel(i), bg) > 0.2 }
        let region = Self.largestComponent(differs, width: n, height: h)
        return region.count >= 3 ? (bg, region) : nil
    }

    static func distance(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> Float { ((a - b) * (a - b)).sum().squareRoot() }

    /// Indices of the largest 4-connected set of true cells.
    static func largestComponent(_ mask: [Bool], width: Int, height: Int) -> [Int] {
        var seen = [Bool](repeating: false, count: mask.count)
        var best: [Int] = []
        for start in 0..<mask.count where mask[start] && !seen[start] {
            var component: [Int] = [], stack = [start]
            seen[start] = true
            while let i = stack.popLast() {
                component.append(i)
                let x = i % width, y = i / width
                for (nx, ny) in [(x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)] where nx >= 0 && ny >= 0 && nx < width && ny < height {
                    let j = ny * width + nx
                    if mask[j] && !seen[j] { seen[j] = true; stack.append(j) }
                }
            }
            if component.count > best.count { best = component }
        }
        return best
    }
}
