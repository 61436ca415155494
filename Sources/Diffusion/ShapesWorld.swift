import Foundation
import Neural

/// The Shapes world: small RGB images of one object on a plain background, described by a caption
/// built from the object's attributes. Deterministic by seed. Atelier's embedded image model is
/// trained on it, and its oracle (`ShapesOracle`) reads the attributes back from pixels.
public enum ShapeKind: String, CaseIterable, Codable, Sendable {
    case circle, square, triangle, star
}

public enum ShapeColor: String, CaseIterable, Codable, Sendable {
    case red, green, blue, yellow, purple, orange

    public var rgb: SIMD3<Float> {
        switch self {
        case .red: return [0.86, 0.14, 0.14]
        case .green: return [0.13, 0.68, 0.20]
        case .blue: return [0.15, 0.30, 0.90]
        case .yellow: return [0.96, 0.86, 0.10]
        case .purple: return [0.58, 0.20, 0.76]
        case .orange: return [0.98, 0.54, 0.08]
        }
    }
}

public enum ShapeSize: String, CaseIterable, Codable, Sendable {
    case small, medium, large

    /// Half-extent in pixels at 32×32 (scaled with the image).
    var radius: Float {
        switch self {
        case .small: return 4.5
        case .medium: return 6.5
        case .large: return 8.5
        }
    }
}

public enum ShapePosition: String, CaseIterable, Codable, Sendable {
    case center, left, right, top, bottom

    /// The caption's words for the position.
    public var phrase: String {
        switch self {
        case .center: return "in the center"
        case .left: return "on the left"
        case .right: return "on the right"
        case .top: return "at the top"
        case .bottom: return "at the bottom"
        }
    }

    /// Offset of the object's centre from the image centre, in pixels at 32×32.
    var offset: SIMD2<Float> {
        switch self {
        case .center: return [0, 0]
        case .left: return [-7, 0]
        case .right: return [7, 0]
        case .top: return [0, -7]
        case .bottom: return [0, 7]
        }
    }
}

public enum BackgroundColor: String, CaseIterable, Codable, Sendable {
    case gray, white, black, beige

    public var rgb: SIMD3<Float> {
        switch self {
        case .gray: return [0.50, 0.50, 0.50]
        case .white: return [0.95, 0.95, 0.95]
        case .black: return [0.07, 0.07, 0.07]
        case .beige: return [0.84, 0.76, 0.60]
        }
    }
}

/// How an object is coloured: one colour (every object of the world), or one of the two-colour
/// patterns that only subjects have, so that no caption can ask the base model for them.
public enum ShapePattern: Codable, Sendable, Hashable {
    case solid
    /// Left half `color`, right half the second colour.
    case split(ShapeColor)
    /// Horizontal stripes alternating with the second colour, `count` bands.
    case stripes(ShapeColor, count: Int)
    /// A disc of the second colour in the middle of the object.
    case dot(ShapeColor)

    func color(_ primary: ShapeColor, dx: Float, dy: Float, radius r: Float) -> SIMD3<Float> {
        switch self {
        case .solid: return primary.rgb
        case .split(let second): return dx < 0 ? primary.rgb : second.rgb
        case .stripes(let second, let count):
            let band = Int(((dy / r + 1) / 2 * Float(count)).rounded(.down))
            return band % 2 == 0 ? primary.rgb : second.rgb
        case .dot(let second): return dx * dx + dy * dy <= 0.16 * r * r ? second.rgb : primary.rgb
        }
    }
}

/// One image's attributes.
public struct ShapesScene: Codable, Sendable, Hashable {
    public var shape: ShapeKind
    public var color: ShapeColor
    public var size: ShapeSize
    public var position: ShapePosition
    public var background: BackgroundColor
    public var pattern: ShapePattern = .solid

    public init(shape: ShapeKind, color: ShapeColor, size: ShapeSize, position: ShapePosition, background: BackgroundColor,
                pattern: ShapePattern = .solid) {
        self.shape = shape
        self.color = color
        self.size = size
        self.position = position
        self.background = background
        self.pattern = pattern
    }

    /// "a photo of a small red star on the left on a gray background"; `object` replaces the
    /// "red star" words (a subject's "sks square", a class's "square").
    public func caption(object: String? = nil) -> String {
        "a photo of a \(size.rawValue) \(object ?? "\(color.rawValue) \(shape.rawValue)") \(position.phrase) on a \(background.rawValue) background"
    }

    /// Every attribute combination of the solid-coloured world, in a fixed order.
    public static var all: [ShapesScene] {
        ShapeKind.allCases.flatMap { s in ShapeColor.allCases.flatMap { c in ShapeSize.allCases.flatMap { z in
            ShapePosition.allCases.flatMap { p in BackgroundColor.allCases.map { b in
                ShapesScene(shape: s, color: c, size: z, position: p, background: b)
            } } } } }
    }

    /// About one combination in ten is never shown in training, so the base model can be tested on
    /// captions it has not seen. Every shape–colour pair still occurs in training in other contexts.
    public var isHeldOut: Bool {
        let code = ShapeKind.allCases.firstIndex(of: shape)! * 7 + ShapeColor.allCases.firstIndex(of: color)! * 3
            + ShapeSize.allCases.firstIndex(of: size)! * 5 + ShapePosition.allCases.firstIndex(of: position)! * 2
            + BackgroundColor.allCases.firstIndex(of: background)! * 9
        return code % 10 == 3
    }
}

/// Renders scenes. The object's exact centre and radius are jittered by the generator so that no two
/// images of a caption are alike.
public struct ShapesWorld: Sendable {
    public let imageSize: Int
    /// Pixel jitter of the centre and relative jitter of the radius.
    public var positionJitter: Float = 1.5
    public var sizeJitter: Float = 0.08

    public init(imageSize: Int = 32) { self.imageSize = imageSize }

    var scale: Float { Float(imageSize) / 32 }

    /// A random two-colour pattern whose second colour differs from `color`.
    public static func randomPattern(excluding color: ShapeColor, _ rng: inout NumPyRandom) -> ShapePattern {
        let others = ShapeColor.allCases.filter { $0 != color }
        let second = others[Int(rng.nextDouble() * Double(others.count)) % others.count]
        switch Int(rng.nextDouble() * 3) {
        case 0: return .split(second)
        case 1: return .stripes(second, count: 3 + Int(rng.nextDouble() * 3))
        default: return .dot(second)
        }
    }

    /// A random training scene (never a held-out one) and its image.
    public func randomScene(_ rng: inout NumPyRandom, includeHeldOut: Bool = false) -> ShapesScene {
        func pick<T>(_ all: [T]) -> T { all[Int(rng.nextDouble() * Double(all.count)) % all.count] }
        while true {
            let s = ShapesScene(shape: pick(ShapeKind.allCases), color: pick(ShapeColor.allCases), size: pick(ShapeSize.allCases),
                                position: pick(ShapePosition.allCases), background: pick(BackgroundColor.allCases))
            if includeHeldOut || !s.isHeldOut { return s }
        }
    }

    /// The image of `scene` as [3, H, W] values in [0, 1].
    public func render(_ scene: ShapesScene, rng: inout NumPyRandom) -> Tensor {
        let jx = Float(rng.nextDouble() * 2 - 1) * positionJitter, jy = Float(rng.nextDouble() * 2 - 1) * positionJitter
        let jr = 1 + Float(rng.nextDouble() * 2 - 1) * sizeJitter
        let mid = Float(imageSize) / 2
        let center = SIMD2<Float>(mid, mid) + (scene.position.offset + [jx, jy]) * scale
        return render(scene, center: center, radius: scene.size.radius * jr * scale)
    }

    /// The image with the object at an exact centre (pixels) and half-extent.
    public func render(_ scene: ShapesScene, center: SIMD2<Float>, radius: Float) -> Tensor {
        let n = imageSize
        var out = [Float](repeating: 0, count: 3 * n * n)
        let bg = scene.background.rgb
        let sub = 4
        for y in 0..<n {
            for x in 0..<n {
                var acc = SIMD3<Float>(repeating: 0)
                for sy in 0..<sub {
                    for sx in 0..<sub {
                        let px = Float(x) + (Float(sx) + 0.5) / Float(sub), py = Float(y) + (Float(sy) + 0.5) / Float(sub)
                        let dx = px - center.x, dy = py - center.y
                        acc += Self.contains(scene.shape, dx: dx, dy: dy, radius: radius)
                            ? scene.pattern.color(scene.color, dx: dx, dy: dy, radius: radius) : bg
                    }
                }
                acc /= Float(sub * sub)
                for c in 0..<3 { out[c * n * n + y * n + x] = acc[c] }
            }
        }
        return Tensor(shape: [3, n, n], data: out)
    }

    /// Whether a point at (dx, dy) from the centre (y down) lies inside the shape of half-extent r.
    static func contains(_ shape: ShapeKind, dx: Float, dy: Float, radius r: Float) -> Bool {
        switch shape {
        case .circle: return dx * dx + dy * dy <= r * r
        case .square: return Swift.max(abs(dx), abs(dy)) <= 0.85 * r
        case .triangle:
            // Apex up at -r, base at +0.75r, half-width 0.95r at the base.
            guard dy <= 0.75 * r, dy >= -r else { return false }
            return abs(dx) <= 0.95 * r * (dy + r) / (1.75 * r)
        case .star:
            return pointInPolygon(dx, dy, starVertices(r))
        }
    }

    static func starVertices(_ r: Float) -> [SIMD2<Float>] {
        (0..<10).map { k in
            let angle = -Float.pi / 2 + Float(k) * Float.pi / 5
            let rr = k % 2 == 0 ? r : 0.45 * r
            return [rr * Foundation.cos(angle), rr * Foundation.sin(angle)]
        }
    }

    static func pointInPolygon(_ x: Float, _ y: Float, _ v: [SIMD2<Float>]) -> Bool {
        var inside = false
        var j = v.count - 1
        for i in 0..<v.count {
            if (v[i].y > y) != (v[j].y > y), x < (v[j].x - v[i].x) * (y - v[i].y) / (v[j].y - v[i].y) + v[i].x { inside.toggle() }
            j = i
        }
        return inside
    }
}

/// A DreamBooth subject of the Shapes world: one object with a two-colour pattern that no caption can
/// ask the base model for, photographed 4 times in varied sizes, positions and backgrounds.
public struct ShapesSubject: Sendable, Equatable {
    public let name: String
    public let shape: ShapeKind
    public let color: ShapeColor
    public let pattern: ShapePattern

    /// The subjects the personalization demo uses.
    public static let all = [
        ShapesSubject(name: "split-square", shape: .square, color: .red, pattern: .split(.blue)),
        ShapesSubject(name: "striped-circle", shape: .circle, color: .yellow, pattern: .stripes(.purple, count: 4)),
        ShapesSubject(name: "dotted-triangle", shape: .triangle, color: .green, pattern: .dot(.orange)),
    ]

    public static func named(_ name: String) -> ShapesSubject? { all.first { $0.name == name } }

    /// The class noun ("square").
    public var classNoun: String { shape.rawValue }

    /// The subject in a given context.
    public func scene(size: ShapeSize, position: ShapePosition, background: BackgroundColor) -> ShapesScene {
        ShapesScene(shape: shape, color: color, size: size, position: position, background: background, pattern: pattern)
    }

    /// The 4 training photos' contexts: every size, four positions, four backgrounds.
    public var trainingScenes: [ShapesScene] {
        [scene(size: .large, position: .center, background: .gray), scene(size: .medium, position: .left, background: .white),
         scene(size: .large, position: .right, background: .black), scene(size: .medium, position: .bottom, background: .beige)]
    }

    /// The training photos [3, H, W], deterministic.
    public func trainingImages(world: ShapesWorld = ShapesWorld()) -> [Tensor] {
        var rng = NumPyRandom(seed: 1000 + UInt32(Self.all.firstIndex(of: self) ?? 0))
        return trainingScenes.map { world.render($0, rng: &rng) }
    }

    /// Writes the training photos to `folder` as `i.png`, each with its caption in `i.txt`, in the words
    /// the base model learned with `identifier` for the object ("a photo of a large zwx square …").
    public func writePhotos(to folder: String, identifier: String) throws(DiffusionError) {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (i, (image, scene)) in Swift.zip(trainingImages(), trainingScenes).enumerated() {
                try PNGImage(tensor: Tensor(shape: [1] + image.shape, data: image.data)).write(to: folder + "/\(i).png")
                try Data((scene.caption(object: "\(identifier) \(classNoun)") + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/\(i).txt"))
            }
        } catch { throw .io("cannot write the photos of '\(name)' to '\(folder)': \(error)") }
    }
}
