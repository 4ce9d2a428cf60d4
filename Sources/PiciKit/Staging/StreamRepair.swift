/// `zmx tail`'s text is lossy, and a history taken soon after is not: the real zmx 0.7 strips
/// each chunk it read from the PTY on its own, so an escape sequence cut by a read leaves its
/// end in the text (`31m1092 red`, `17038 red[0m`); it drops every byte above 0x7F (all of
/// UTF-8), and one of those that opens a string sequence (0x90, 0x98, 0x9B, 0x9D-0x9F, as in
/// `❌`) swallows the rest of the chunk, whole lines included. A follower therefore takes a
/// history while what it streamed is still in it and uses this to put the history's lines in
/// the place of the streamed ones: in order, each once, lines the stream lost put back.
///
/// It is an alignment of the streamed lines (after `context`, the last lines already written)
/// into the history, free to start and end anywhere in it (the history holds older lines
/// before and may hold newer ones after). A line the history has as it is, or with its non-
/// ASCII characters dropped, matches; one that differs by what a cut sequence or a swallowed
/// part would explain is replaced, and one glued to a later line by a swallow is replaced by
/// the lines from it to that one (`StreamGlue`); a history line the stream lacks is put back between two
/// that match; a streamed line the history lacks (scrolled out already) is kept as streamed.
public enum StreamRepair {
    /// What the alignment cost: putting back a line is cheap, keeping one the history does
    /// not have is dear, so that a line is never dropped to save putting others back.
    static let insertCost: Int32 = 1, replaceCost: Int32 = 1, keepCost: Int32 = 3

    /// What became of the streamed lines.
    public struct Result {
        public var lines: [String]
        /// Whether the history reached back to their start.
        public var reached: Bool
        /// How many of `lines`, from the first, the history did not hold (they had left the
        /// scrollback): as streamed, unchecked.
        public var unchecked: Int
        /// Whether the tail's text differed from the history's: a line put right or back, or
        /// one with non-ASCII characters (which the tail drops). Evidence that the tail
        /// mangles this session's output.
        public var mangled: Bool
    }

    /// The repaired `streamed` lines.
    public static func repair(context: [String], streamed: [String], history: [String]) -> Result {
        if streamed.isEmpty { return Result(lines: [], reached: true, unchecked: 0, mangled: false) }
        let none = Result(lines: streamed, reached: false, unchecked: streamed.count, mangled: false)
        if history.isEmpty { return none }
        var p = context + streamed
        var c = context.count
        let pb0 = p.map { Array($0.utf8) }
        let hb0 = history.map { Array($0.utf8) }
        let hl0 = hb0.map { $0.filter { $0 < 0x80 } }
        // Only the part of the history from the context on matters: the alignment is then
        // about as large as what was streamed, not as the whole history.
        var from = 0
        if c > 0, let at = StreamRepair.find(pb0[0..<c], in: hb0, hl0) {
            from = at
        } else {
            // Without the context, nothing of the stream in the history: it is behind.
            let keys = Set(hb0[...].map { $0.hashValue } + hl0.map { $0.hashValue })
            if !pb0[c...].contains(where: { keys.contains($0.hashValue) }) { return none }
            p = streamed
            c = 0
        }
        let pb = c == context.count ? pb0 : Array(pb0[context.count...])
        let hb = Array(hb0[from...]), hl = Array(hl0[from...])
        let hn = zip(hb, hl).map { $0.count != $1.count }
        let n = p.count, m = hb.count
        let pk = pb.map { $0.hashValue }
        let hk = hb.map { $0.hashValue }, hlk = hl.map { $0.hashValue }
        func exact(_ i: Int, _ j: Int) -> Bool {
            (pk[i] == hk[j] && pb[i] == hb[j]) || (pk[i] == hlk[j] && pb[i] == hl[j])
        }
        func like(_ i: Int, _ j: Int) -> Bool { similar(pb[i], hl[j], nonASCII: hn[j], first: i == c) }
        let glue = StreamGlue(hb: hb, hl: hl)
        // Without context, the stream's first lines may have left the scrollback: the first
        // the history holds may be glued to one that is no longer in it.
        func before(_ i: Int) -> (k: Int, tail: Int)? { c == 0 ? glue.gluedBefore(pb[i]) : nil }
        // d[i][j]: the least cost of aligning p[0..<i] so that it ends just before history[j].
        let w = m + 1
        var d = [Int32](repeating: 0, count: (n + 1) * w)
        for i in 1...n {
            let row = i * w, up = (i - 1) * w
            d[row] = d[up] + keepCost
            // A glued line takes history lines j...k at once, as one replacement (the lines
            // between are its own, not lost ones): it ends just before k + 1.
            var glued: [Int: Int32] = [:]
            for j in 0..<m {
                guard let k = glue.glued(pb[i - 1], at: j) else { continue }
                let cost = d[up + j] + replaceCost
                if cost < glued[k + 1] ?? .max { glued[k + 1] = cost }
            }
            if let b = before(i - 1), d[up] + replaceCost < glued[b.k + 1] ?? .max { glued[b.k + 1] = d[up] + replaceCost }
            for j in 1...m {
                var best = d[up + j] + keepCost
                if let g = glued[j], g < best { best = g }
                let ins = d[row + j - 1] + insertCost
                if ins < best { best = ins }
                let diag = d[up + j - 1]
                if diag < best {
                    if exact(i - 1, j - 1) {
                        best = diag
                    } else if diag + replaceCost < best && like(i - 1, j - 1) {
                        best = diag + replaceCost
                    }
                }
                d[row + j] = best
            }
        }
        var end = 0
        for j in 0...m where d[n * w + j] < d[n * w + end] { end = j }
        // Walk back, then forward: what each streamed line becomes.
        enum Step { case take(Int, Int), keep(Int), putBack(Int, Int), glued(Int, Int, Int), gluedBefore(Int, Int, Int) }
        var steps: [Step] = []
        var i = n, j = end
        while i > 0 {
            let here = d[i * w + j]
            if j > 0 {
                let diag = d[(i - 1) * w + j - 1]
                if here == diag && exact(i - 1, j - 1) || here == diag + replaceCost && like(i - 1, j - 1) {
                    steps.append(.take(i - 1, j - 1))
                    i -= 1
                    j -= 1
                    continue
                }
                if here == d[i * w + j - 1] + insertCost {
                    steps.append(.putBack(i, j - 1))
                    j -= 1
                    continue
                }
                if let b = before(i - 1), b.k == j - 1, here == d[(i - 1) * w] + replaceCost {
                    steps.append(.gluedBefore(i - 1, b.k, b.tail))
                    i -= 1
                    j = 0
                    continue
                }
                if let j0 = (0..<(j - 1)).reversed().first(where: {
                    here == d[(i - 1) * w + $0] + replaceCost && glue.glued(pb[i - 1], at: $0) == j - 1
                }) {
                    steps.append(.glued(i - 1, j0, j - 1))
                    i -= 1
                    j = j0
                    continue
                }
            }
            steps.append(.keep(i - 1))
            i -= 1
        }
        var r = Result(lines: [], reached: false, unchecked: 0, mangled: false)
        var checked = false
        for step in steps.reversed() {
            switch step {
            case .take(let i, let j) where i >= c:
                if i == c { r.reached = true }
                checked = true
                r.lines.append(history[from + j])
                if hn[j] || !exact(i, j) { r.mangled = true }
            case .glued(let i, let j, let k) where i >= c:
                if i == c { r.reached = true }
                checked = true
                r.mangled = true
                r.lines += history[(from + j)...(from + k)]
            case .gluedBefore(let i, let k, let tail) where i >= c:
                // Its start is all that is left of lines the scrollback no longer holds.
                if !checked { r.unchecked += 1 }
                r.lines.append(String(decoding: pb[i].dropLast(tail), as: UTF8.self))
                checked = true
                r.mangled = true
                r.lines += history[from...(from + k)]
            case .keep(let i) where i >= c:
                if !checked { r.unchecked += 1 }
                r.lines.append(p[i])
            case .putBack(let before, let j) where before >= c && before > 0:
                // Lost between two lines of the stream (or after the context).
                checked = true
                r.mangled = true
                r.lines.append(history[from + j])
            default:
                break
            }
        }
        if !checked { r.unchecked = r.lines.count }
        return r
    }

    /// Whether a streamed line is the history's line (non-ASCII dropped) with the end of a cut
    /// sequence added somewhere (`31m` before, `[0m` after), or with its start or end missing
    /// (the stream began mid-line; a string sequence swallowed the rest).
    static func similar(_ s: [UInt8], _ h: [UInt8], nonASCII: Bool, first: Bool) -> Bool {
        if h.isEmpty { return isSequenceEnd(s) }
        let short = min(s.count, h.count)
        guard short > 0 else { return false }
        var a = 0
        while a < short && s[a] == h[a] { a += 1 }
        var b = 0
        while b < short && s[s.count - 1 - b] == h[h.count - 1 - b] { b += 1 }
        // Only a line with non-ASCII characters can have been swallowed (its rest, or a middle
        // part up to where the read ended), and only the first can have been joined mid-line.
        if s.count <= h.count { return (nonASCII && a + b >= s.count) || (first && b == s.count) }
        let extra = s.count - h.count
        guard extra <= 16, a + b >= h.count else { return false }
        // The added piece starts where the common start may end and the common end begin.
        for at in max(0, h.count - b)...min(a, h.count) where isSequenceEnd(Array(s[at..<(at + extra)])) { return true }
        return false
    }

    /// Where `lines` first come in the history, whole, as they are or with non-ASCII dropped.
    static func find(_ lines: ArraySlice<[UInt8]>, in hb: [[UInt8]], _ hl: [[UInt8]]) -> Int? {
        guard !lines.isEmpty, hb.count >= lines.count else { return nil }
        for at in 0...(hb.count - lines.count) {
            var all = true
            for (k, line) in lines.enumerated() where line != hb[at + k] && line != hl[at + k] {
                all = false
                break
            }
            if all { return at }
        }
        return nil
    }

    /// What a read leaves of a cut CSI sequence: `[0m`, `31m`, `m`.
    static func isSequenceEnd(_ s: [UInt8]) -> Bool {
        guard let last = s.last, (0x40...0x7E).contains(last), s.count <= 16 else { return false }
        let body = s.dropLast().drop(while: { $0 == UInt8(ascii: "[") })
        return body.allSatisfy { (0x20...0x3F).contains($0) }
    }
}
