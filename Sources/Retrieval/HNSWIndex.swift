import CKernels
import Foundation

/// Hierarchical navigable small-world graph (Malkov & Yashunin) over unit vectors, by inner product.
/// Flat storage (vectors and layer-0 links in contiguous arrays, visited marks by generation stamp,
/// binary heaps) keeps the inner loops free of allocation. Supports incremental inserts, deletions as
/// tombstones, and serialisation to bytes (stored in the database beside the vectors it indexes).
public final class HNSWIndex: @unchecked Sendable {
    public let dimension: Int
    public let m: Int
    public let efConstruction: Int
    public var efSearch: Int
    let m0: Int
    private(set) var vectors: [Float] = []
    /// The vectors rounded to bfloat16. A search walks the graph on these (half the bytes of each
    /// scattered row; AVX512-BF16 dot products), then rescores what it found on the fp32 rows, so the
    /// similarities it returns and their order are exact. Building uses the fp32 rows throughout.
    private var compact: [UInt16] = []
    private(set) var ids: [Int64] = []
    /// Layer 0: m0 slots per node; count in links0Count.
    private var links0: [Int32] = []
    private var links0Count: [Int32] = []
    /// Layers ≥ 1: per node, per level, the neighbour list (only nodes with level ≥ 1 have entries).
    private var upper: [Int32: [[Int32]]] = [:]
    private var levels: [Int8] = []
    private var deleted: Set<Int32> = []
    private var entry: Int32 = -1
    private var topLevel = -1
    private var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
    private var position: [Int64: Int32] = [:]
    private var visitedMark: [UInt32] = []
    private var visitedTag: UInt32 = 0

    public init(dimension: Int, m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64) {
        self.dimension = dimension
        self.m = m
        self.m0 = 2 * m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
    }

    public var count: Int { ids.count - deleted.count }
    public var tombstones: Int { deleted.count }
    public func contains(_ id: Int64) -> Bool { position[id].map { !deleted.contains($0) } ?? false }
    public var liveIDs: [Int64] { ids.enumerated().filter { !deleted.contains(Int32($0.offset)) }.map(\.element) }

    // MARK: Distances and bookkeeping

    @inline(__always) private func dot(_ v: UnsafePointer<Float>, _ q: UnsafePointer<Float>) -> Float {
        ck_dot_f32(v, q, dimension)
    }

    private func randomLevel() -> Int {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        let u = Double(rng >> 11) / Double(1 << 53)
        return min(Int(-Foundation.log(max(u, 1e-12)) / Foundation.log(Double(m))), 16)
    }

    private func neighbours(_ node: Int32, _ level: Int) -> ArraySlice<Int32> {
        if level == 0 {
            let base = Int(node) * m0
            return links0[base..<(base + Int(links0Count[Int(node)]))]
        }
        return upper[node]?[safe: level - 1].map { $0[...] } ?? []
    }

    private func setNeighbours(_ node: Int32, _ level: Int, _ list: [Int32]) {
        if level == 0 {
            let base = Int(node) * m0
            for (i, n) in list.prefix(m0).enumerated() { links0[base + i] = n }
            links0Count[Int(node)] = Int32(min(list.count, m0))
        } else {
            upper[node]![level - 1] = list
        }
    }

    private func newVisitTag() {
        visitedTag &+= 1
        if visitedTag == 0 {
            for i in visitedMark.indices { visitedMark[i] = 0 }
            visitedTag = 1
        }
    }

    // MARK: Search

    /// What a walk scores nodes against: the fp32 rows and query, or their bfloat16 copies.
    private enum Rows {
        case exact(UnsafePointer<Float>, query: UnsafePointer<Float>)
        case compact(UnsafePointer<UInt16>, query: UnsafePointer<UInt16>)

        @inline(__always) func score(_ ids: UnsafePointer<Int32>, _ count: Int, dimension: Int, into out: UnsafeMutablePointer<Float>) {
            switch self {
            case .exact(let rows, let q): ck_dot_gather_f32(rows, ids, count, dimension, q, out)
            case .compact(let rows, let q): ck_dot_gather_bf16(rows, ids, count, dimension, q, out)
            }
        }
    }

    private func searchLayer(_ q: UnsafePointer<Float>, _ vec: UnsafePointer<Float>, from start: [Int32], ef: Int, level: Int) -> [(Float, Int32)] {
        searchLayer(.exact(vec, query: q), from: start, ef: ef, level: level)
    }

    /// Best-first search of one layer: up to `ef` (similarity, node), unordered.
    private func searchLayer(_ rows: Rows, from start: [Int32], ef: Int, level: Int) -> [(Float, Int32)] {
        newVisitTag()
        let tag = visitedTag
        let m0 = self.m0, dimension = self.dimension
        var candidates = MinHeap()   // negated similarity: the closest on top
        var results = MinHeap()      // the worst of the kept on top
        candidates.reserve(ef * 2)
        results.reserve(ef + 1)
        // Raw pointers for the hot loop: no exclusivity checks or retains per neighbour. A node's
        // unvisited neighbours are gathered first and scored in one call that prefetches each next row.
        return visitedMark.withUnsafeMutableBufferPointer { visited in
            links0.withUnsafeBufferPointer { links in
                links0Count.withUnsafeBufferPointer { counts in
                    withUnsafeTemporaryAllocation(of: Int32.self, capacity: m0) { fresh in
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: m0) { sims in
                            for s in start {
                                visited[Int(s)] = tag
                                fresh[0] = s
                                rows.score(fresh.baseAddress!, 1, dimension: dimension, into: sims.baseAddress!)
                                candidates.push(-sims[0], s)
                                results.push(sims[0], s)
                            }
                            while let (negated, c) = candidates.pop() {
                                if results.count >= ef, -negated < results.topKey { break }
                                let upperList: [Int32] = level == 0 ? [] : (upper[c]?[safe: level - 1] ?? [])
                                upperList.withUnsafeBufferPointer { ul in
                                    let list = level == 0
                                        ? UnsafeBufferPointer(rebasing: links[(Int(c) * m0)..<(Int(c) * m0 + Int(counts[Int(c)]))]) : ul
                                    var from = 0
                                    while from < list.count {   // upper lists read from disk may exceed m0: in slices
                                        var fresh_n = 0
                                        while from < list.count, fresh_n < m0 {
                                            let n = list[from]
                                            from += 1
                                            if visited[Int(n)] == tag { continue }
                                            visited[Int(n)] = tag
                                            fresh[fresh_n] = n
                                            fresh_n += 1
                                        }
                                        if fresh_n == 0 { continue }
                                        rows.score(fresh.baseAddress!, fresh_n, dimension: dimension, into: sims.baseAddress!)
                                        for i in 0..<fresh_n {
                                            let sn = sims[i], n = fresh[i]
                                            if results.count < ef || sn > results.topKey {
                                                candidates.push(-sn, n)
                                                results.push(sn, n)
                                                if results.count > ef { _ = results.pop() }
                                            }
                                        }
                                    }
                                }
                            }
                            return results.items
                        }
                    }
                }
            }
        }
    }

    /// The paper's neighbour heuristic: keep a candidate unless an already kept one is closer to it.
    private func select(_ candidates: [(Float, Int32)], max: Int, _ vec: UnsafePointer<Float>) -> [Int32] {
        let sorted = candidates.sorted { $0.0 > $1.0 }
        var kept: [Int32] = []
        for (s, c) in sorted {
            if kept.count >= max { break }
            let cv = vec + Int(c) * dimension
            if !kept.contains(where: { dot(vec + Int($0) * dimension, cv) > s }) { kept.append(c) }
        }
        if kept.count < max {
            for (_, c) in sorted where kept.count < max && !kept.contains(c) { kept.append(c) }
        }
        return kept
    }

    public func insert(id: Int64, vector: [Float]) {
        precondition(vector.count == dimension)
        if let old = position[id] { deleted.insert(old) }
        let node = Int32(ids.count)
        ids.append(id)
        position[id] = node
        vectors.append(contentsOf: vector)
        compact.append(contentsOf: Self.bfloat16(vector))
        links0.append(contentsOf: repeatElement(-1, count: m0))
        links0Count.append(0)
        visitedMark.append(0)
        let level = randomLevel()
        levels.append(Int8(level))
        if level > 0 { upper[node] = Array(repeating: [], count: level) }
        guard entry >= 0 else { entry = node; topLevel = level; return }
        vectors.withUnsafeBufferPointer { vb in
            let vec = vb.baseAddress!
            let q = vec + Int(node) * dimension
            var ep = [entry]
            var l = topLevel
            while l > level {
                ep = [searchLayer(q, vec, from: ep, ef: 1, level: l).max { $0.0 < $1.0 }!.1]
                l -= 1
            }
            for lc in stride(from: min(level, topLevel), through: 0, by: -1) {
                let found = searchLayer(q, vec, from: ep, ef: efConstruction, level: lc)
                let maxLinks = lc == 0 ? m0 : m
                let chosen = select(found, max: m, vec)
                setNeighbours(node, lc, chosen)
                for n in chosen {
                    var list = Array(neighbours(n, lc))
                    list.append(node)
                    if list.count > maxLinks {
                        let nv = vec + Int(n) * dimension
                        list = select(list.map { (dot(vec + Int($0) * dimension, nv), $0) }, max: maxLinks, vec)
                    }
                    setNeighbours(n, lc, list)
                }
                ep = found.map(\.1)
            }
        }
        if level > topLevel { topLevel = level; entry = node }
    }

    public func remove(id: Int64) {
        if let p = position.removeValue(forKey: id) { deleted.insert(p) }
    }

    static func bfloat16(_ v: [Float]) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: v.count)
        ck_round_bf16(v, &out, v.count)
        return out
    }

    /// Approximate top-k (id, similarity), best first.
    public func search(_ query: [Float], k: Int, ef: Int? = nil) -> [(Int64, Float)] {
        guard entry >= 0, k > 0, query.count == dimension else { return [] }
        let q16 = Self.bfloat16(query)
        let found: [(Float, Int32)] = compact.withUnsafeBufferPointer { cb in
            q16.withUnsafeBufferPointer { qb in
                let rows = Rows.compact(cb.baseAddress!, query: qb.baseAddress!)
                var ep = [entry]
                var l = topLevel
                while l > 0 {
                    ep = [searchLayer(rows, from: ep, ef: 1, level: l).max { $0.0 < $1.0 }!.1]
                    l -= 1
                }
                return searchLayer(rows, from: ep, ef: max(ef ?? efSearch, k), level: 0)
            }
        }
        // Rescore on the fp32 rows: exact similarities, exact order among what the walk found.
        return vectors.withUnsafeBufferPointer { vb in
            query.withUnsafeBufferPointer { qb in
                found.lazy.filter { !self.deleted.contains($0.1) }
                    .map { (ck_dot_f32(vb.baseAddress! + Int($0.1) * self.dimension, qb.baseAddress!, self.dimension), $0.1) }
                    .sorted { $0.0 > $1.0 }.prefix(k).map { (self.ids[Int($0.1)], $0.0) }
            }
        }
    }

    // MARK: Serialisation (little-endian, versioned)

    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(vectors.count * 4 + links0.count * 4 + ids.count * 16)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(0x484E_5357)); put(UInt32(2))
        put(Int32(dimension)); put(Int32(m)); put(Int32(efConstruction)); put(Int32(efSearch))
        put(Int32(entry)); put(Int32(topLevel)); put(Int64(ids.count)); put(rng)
        for id in ids { put(id) }
        vectors.withUnsafeBytes { out.append(contentsOf: $0) }
        links0.withUnsafeBytes { out.append(contentsOf: $0) }
        links0Count.withUnsafeBytes { out.append(contentsOf: $0) }
        levels.withUnsafeBytes { out.append(contentsOf: $0) }
        for node in upper.keys.sorted() {
            put(node)
            for list in upper[node]! { put(Int32(list.count)); for n in list { put(n) } }
        }
        put(Int32(-1))
        put(Int64(deleted.count))
        for d in deleted.sorted() { put(d) }
        return out
    }

    public static func deserialize(_ bytes: [UInt8]) -> HNSWIndex? {
        var i = 0
        func get<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard i + MemoryLayout<T>.size <= bytes.count else { return nil }
            var v: T = 0
            withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: bytes[i..<(i + MemoryLayout<T>.size)]) }
            i += MemoryLayout<T>.size
            return T(littleEndian: v)
        }
        func array<T>(_ count: Int, _: T.Type) -> [T]? where T: FixedWidthInteger {
            let size = count * MemoryLayout<T>.size
            guard count >= 0, i + size <= bytes.count else { return nil }
            var a = [T](repeating: 0, count: count)
            a.withUnsafeMutableBytes { $0.copyBytes(from: bytes[i..<(i + size)]) }
            i += size
            return a
        }
        guard get(UInt32.self) == 0x484E_5357, get(UInt32.self) == 2,
              let dim = get(Int32.self), let m = get(Int32.self), let efc = get(Int32.self), let efs = get(Int32.self),
              let entry = get(Int32.self), let top = get(Int32.self), let n64 = get(Int64.self), let seed = get(UInt64.self),
              dim > 0, m > 0, n64 >= 0, n64 < 1 << 31 else { return nil }
        let n = Int(n64)
        let index = HNSWIndex(dimension: Int(dim), m: Int(m), efConstruction: Int(efc), efSearch: Int(efs))
        guard let ids = array(n, Int64.self), let vbits = array(n * Int(dim), UInt32.self),
              let links = array(n * index.m0, Int32.self), let counts = array(n, Int32.self), let lv = array(n, Int8.self) else { return nil }
        index.ids = ids
        index.vectors = vbits.map { Float(bitPattern: $0) }
        index.compact = bfloat16(index.vectors)
        index.links0 = links
        index.links0Count = counts
        index.levels = lv
        index.visitedMark = [UInt32](repeating: 0, count: n)
        while let node = get(Int32.self), node >= 0 {
            guard Int(node) < n else { return nil }
            var lists: [[Int32]] = []
            for _ in 0..<Int(lv[Int(node)]) {
                guard let c = get(Int32.self), let list = array(Int(c), Int32.self) else { return nil }
                lists.append(list)
            }
            index.upper[node] = lists
        }
        guard let nd = get(Int64.self), let dead = array(Int(nd), Int32.self) else { return nil }
        index.deleted = Set(dead)
        index.entry = entry
        index.topLevel = Int(top)
        index.rng = seed
        for (k, id) in ids.enumerated() where !index.deleted.contains(Int32(k)) { index.position[id] = Int32(k) }
        return index
    }
}

/// A binary min-heap of (key, node); a max-heap is the same with negated keys.
struct MinHeap {
    private(set) var items: [(Float, Int32)] = []

    var count: Int { items.count }
    /// The smallest key; only valid when count > 0.
    var topKey: Float { items[0].0 }

    mutating func reserve(_ n: Int) { items.reserveCapacity(n) }

    mutating func push(_ key: Float, _ node: Int32) {
        items.append((key, node))
        var c = items.count - 1
        while c > 0 {   // sift up with a hole: one write per level instead of a swap
            let p = (c - 1) / 2
            if items[p].0 <= key { break }
            items[c] = items[p]
            c = p
        }
        items[c] = (key, node)
    }

    mutating func pop() -> (Float, Int32)? {
        guard !items.isEmpty else { return nil }
        let first = items[0]
        let last = items.removeLast()
        let n = items.count
        if n > 0 {
            var i = 0
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                let r = l + 1
                let b = r < n && items[r].0 < items[l].0 ? r : l
                if items[b].0 >= last.0 { break }
                items[i] = items[b]
                i = b
            }
            items[i] = last
        }
        return first
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
