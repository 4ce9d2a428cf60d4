/// Lines the real `zmx tail` ran together (see `StreamRepair`), found against a history.
///
/// zmx 0.7 strips each read from the PTY (at most 4,096 bytes) with a fresh ghostty parser, in
/// which a UTF-8 byte 0x9D opens an OSC string and 0x90, 0x98, 0x9E, 0x9F a DCS or SOS one: the
/// string eats what follows, line ends included, until an ESC (a later line's colour code) or
/// the end of the read, and the text goes on from there. So a character such as `❤` or `❌`
/// (E2 9D xx), or Cyrillic `А` (D0 90), ends its line's text in the stream and glues it to
/// the end of a later line, or to a piece of a later line that was itself cut by such a
/// character (`2299 2662 ZMX_TASK_COMPLETED:739e:0`: three reads). Such a streamed line is the
/// history's lines from the first to the last it touches.
struct StreamGlue {
    /// How far a string may reach past where it began, in bytes of the lines it ate: one read.
    static let reach = 4096
    /// How many reads one streamed line may span.
    static let depth = 4

    let hl: [[UInt8]]
    /// For each history line, where (in `hl`, non-ASCII dropped) a character that opens a
    /// string stood; empty for most lines.
    let openers: [[Int]]

    /// `hb`: the history's lines as UTF-8; `hl`: the same with non-ASCII bytes dropped.
    init(hb: [[UInt8]], hl: [[UInt8]]) {
        self.hl = hl
        openers = hb.map { StreamGlue.openers(in: $0) }
    }

    /// Where in `line` (counted in its ASCII bytes) a character whose UTF-8 holds a byte that
    /// opens a string stood.
    static func openers(in line: [UInt8]) -> [Int] {
        var out: [Int] = []
        var ascii = 0, start = 0, opens = false
        for b in line {
            if b < 0x80 {
                ascii += 1
                continue
            }
            if b >= 0xC0 {  // a character starts
                start = ascii
                opens = false
            }
            if !opens && (b == 0x90 || b == 0x98 || b >= 0x9D && b <= 0x9F) {
                opens = true
                if out.last != start { out.append(start) }
            }
        }
        return out
    }

    /// The last history line a streamed line glued to line `j` reaches: its text is the start
    /// of line `j` up to one of its openers, then the rest of a later line (or of pieces).
    func glued(_ s: [UInt8], at j: Int) -> Int? {
        guard !openers[j].isEmpty else { return nil }
        let h = hl[j]
        var a = 0
        while a < s.count && a < h.count && s[a] == h[a] { a += 1 }
        for p in openers[j].reversed() where p <= a && p < s.count {
            if let k = rest(s, from: p, after: j, depth: 1) { return k }
        }
        return nil
    }

    /// For a stream whose earlier lines left the scrollback: a streamed line whose start is
    /// not in the history and whose end is the end of history line k (at least 4 bytes of it,
    /// within one read of the history's start). Returns k and how many bytes of the line
    /// are k's.
    func gluedBefore(_ s: [UInt8]) -> (k: Int, tail: Int)? {
        var between = 0
        for (k, t) in hl.enumerated() {
            var b = 0
            while b < s.count && b < t.count && s[s.count - 1 - b] == t[t.count - 1 - b] { b += 1 }
            if b >= 4 && b < s.count { return (k, b) }
            between += t.count + 1
            if between > StreamGlue.reach { break }
        }
        return nil
    }

    /// Whether `r` is the end of line `t`, also with the end of a colour code cut by a read
    /// before or after it (`31m19684 red`, `19684 red[0m`).
    static func isEnd(_ r: ArraySlice<UInt8>, of t: [UInt8]) -> Bool {
        let n = r.count
        func cut(_ piece: ArraySlice<UInt8>) -> Bool { piece.isEmpty || StreamRepair.isSequenceEnd(Array(piece)) }
        for pre in 0...min(16, n - 1) where cut(r.prefix(pre)) {
            for post in 0...min(16, n - 1 - pre) where cut(r.suffix(post)) {
                let middle = r.dropFirst(pre).dropLast(post)
                if middle.count <= t.count && t[(t.count - middle.count)...].elementsEqual(middle) { return true }
            }
        }
        return false
    }

    /// The line that `s[from...]` ends in, when it is the end of a line after `j`, or a piece
    /// of one cut by an opener followed by more of the same.
    private func rest(_ s: [UInt8], from o: Int, after j: Int, depth: Int) -> Int? {
        let n = s.count - o
        var between = 0
        var k = j + 1
        while k < hl.count {
            let t = hl[k]
            if StreamGlue.isEnd(s[o...], of: t) { return k }
            if depth < StreamGlue.depth {
                // A piece of line k, from where a read began (its start, or anywhere for a
                // piece of 4 bytes or more) to one of its openers.
                for y in openers[k] where y > 0 && y <= t.count {
                    for x in 0..<y where y - x < n && (x == 0 || y - x >= 4) && t[x..<y].elementsEqual(s[o..<(o + y - x)]) {
                        if let last = rest(s, from: o + y - x, after: k, depth: depth + 1) { return last }
                    }
                }
            }
            between += t.count + 1
            if between > StreamGlue.reach { break }
            k += 1
        }
        return nil
    }
}
