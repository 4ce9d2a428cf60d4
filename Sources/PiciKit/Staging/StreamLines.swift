/// A stream of bytes from `zmx tail` to lines as `zmx history` (plain) shows them: the real
/// tail passes CR, BS and TAB through and the terminal behind the history does not, so each
/// line is rendered as a row of cells would be (a CR goes back to the start of the 120-column
/// row, a BS one column, a TAB to the next multiple of 8). Escape sequences are dropped, also
/// one cut across two reads (the real tail strips them; a tail that passed them on must not
/// put them in a log). A line longer than `maxLine` bytes is cut there, the last bytes that
/// could start a secret carried into the next piece so that masking still sees it whole.
struct StreamLines {
    static let maxLine = 1 << 20
    /// Bytes carried from one piece of an overlong line to the next: a secret's length.
    let carry: Int
    private var partial: [UInt8] = []
    private var state = Escape.ground

    private enum Escape { case ground, escape, csi, string, stringEscape }

    init(carry: Int = 0) { self.carry = max(0, carry) }

    mutating func feed<C: Collection>(_ chunk: C) -> [String] where C.Element == UInt8 {
        var out: [String] = []
        for b in chunk {
            switch state {
            case .ground:
                if b == 0x1B {
                    state = .escape
                } else if b == 0x0A {
                    out.append(StreamLines.render(partial))
                    partial.removeAll(keepingCapacity: true)
                } else {
                    partial.append(b)
                }
            case .escape:
                switch b {
                case UInt8(ascii: "["): state = .csi
                case UInt8(ascii: "]"), UInt8(ascii: "P"), UInt8(ascii: "X"), UInt8(ascii: "^"), UInt8(ascii: "_"): state = .string
                case 0x20...0x2F: break  // an intermediate byte: the final one follows
                default: state = .ground
                }
            case .csi:
                if (0x40...0x7E).contains(b) { state = .ground }
            case .string:
                if b == 0x07 { state = .ground } else if b == 0x1B { state = .stringEscape }
            case .stringEscape:
                state = b == UInt8(ascii: "\\") ? .ground : .string
            }
        }
        if partial.count > StreamLines.maxLine {
            let keep = min(carry, partial.count)
            out.append(StreamLines.render(Array(partial[0..<(partial.count - keep)])))
            partial.removeFirst(partial.count - keep)
        }
        return out
    }

    /// The last line, when the stream did not end with a newline.
    mutating func finish() -> [String] {
        guard !partial.isEmpty else { return [] }
        defer { partial = [] }
        return [StreamLines.render(partial)]
    }

    static let columns = 120

    /// One line as the terminal shows it: characters in cells, the controls moving the cursor.
    static func render(_ raw: [UInt8]) -> String {
        var plain = true
        for b in raw where b < 0x20 || b == 0x7F { plain = false; break }
        if plain { return String(decoding: raw, as: UTF8.self) }
        var cells: [Unicode.Scalar?] = []
        var col = 0
        for u in String(decoding: raw, as: UTF8.self).unicodeScalars {
            switch u.value {
            case 0x0D: col = col == 0 ? 0 : (col - 1) / columns * columns
            case 0x08: if col > 0 && col % columns != 0 { col -= 1 }
            case 0x09: col = (col / 8 + 1) * 8
            case 0..<0x20, 0x7F: break
            default:
                while cells.count <= col { cells.append(nil) }
                cells[col] = u
                col += 1
            }
        }
        var s = String.UnicodeScalarView()
        for cell in cells { s.append(cell ?? " ") }
        return String(s)
    }
}
