/// How many terminal columns text takes, and text cut to a number of them: a running line
/// wider than the terminal would wrap onto a second row, and the next pass, which moves the
/// cursor up one row a line to erase them, would leave the first rows behind.
///
/// Widths follow the common cases of wcwidth(3), without a locale: East Asian wide and
/// fullwidth characters and emoji take 2 columns, combining marks and zero-width characters
/// none, the rest 1. An escape sequence (`ESC [ … letter`, pici's own colours) takes none.
public enum DisplayWidth {
    public static func of(_ text: String) -> Int {
        var width = 0
        var inEscape = false
        for u in text.unicodeScalars {
            if inEscape {
                inEscape = !endsEscape(u)
            } else if u == "\u{1B}" {
                inEscape = true
            } else {
                width += self.width(u)
            }
        }
        return width
    }

    /// `text` as it fits in `columns` columns: whole when it does, else cut, with `...` at
    /// its end (the colour it cut off ended). Unchanged for fewer than 4 columns.
    public static func fit(_ text: String, columns: Int) -> String {
        guard columns >= 4, of(text) > columns else { return text }
        var out = String.UnicodeScalarView()
        var used = 0
        var sequence: String.UnicodeScalarView? = nil  // the escape sequence being copied
        var coloured = false  // from an `ESC [ … m` until pici's reset, `ESC [ 0 m`
        for u in text.unicodeScalars {
            if sequence != nil || u == "\u{1B}" {
                out.append(u)
                sequence = (sequence ?? String.UnicodeScalarView()) + [u]
                if u != "\u{1B}" && endsEscape(u) {
                    if u == "m" { coloured = String(sequence!) != reset }
                    sequence = nil
                }
                continue
            }
            let w = width(u)
            if used + w > columns - 3 { break }
            out.append(u)
            used += w
        }
        return String(out) + "..." + (coloured ? reset : "")
    }

    private static let reset = "\u{1B}[0m"

    /// The final byte of a CSI sequence (`ESC [ 3 1 m`): a letter.
    private static func endsEscape(_ u: Unicode.Scalar) -> Bool {
        (0x41...0x5A).contains(u.value) || (0x61...0x7A).contains(u.value)
    }

    /// The columns one scalar takes.
    static func width(_ u: Unicode.Scalar) -> Int {
        let v = u.value
        if v < 0x300 { return 1 }
        switch u.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if wide.contains(where: { $0.contains(v) }) { return 2 }
        return 1
    }

    /// East Asian Wide and Fullwidth ranges, and the emoji blocks terminals draw two wide.
    private static let wide: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0...0x23F0,
        0x23F3...0x23F3, 0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F...0x267F,
        0x2693...0x2693, 0x26A1...0x26A1, 0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5,
        0x26CE...0x26CE, 0x26D4...0x26D4, 0x26EA...0x26EA, 0x26F2...0x26F3, 0x26F5...0x26F5,
        0x26FA...0x26FA, 0x26FD...0x26FD, 0x2705...0x2705, 0x270A...0x270B, 0x2728...0x2728,
        0x274C...0x274C, 0x274E...0x274E, 0x2753...0x2755, 0x2757...0x2757, 0x2795...0x2797,
        0x27B0...0x27B0, 0x27BF...0x27BF, 0x2B1B...0x2B1C, 0x2B50...0x2B50, 0x2B55...0x2B55,
        0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
        0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F,
        0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x18CFF, 0x1B000...0x1B2FF, 0x1F004...0x1F004,
        0x1F0CF...0x1F0CF, 0x1F18E...0x1F18E, 0x1F191...0x1F19A, 0x1F200...0x1F251,
        0x1F300...0x1F64F, 0x1F680...0x1F6FF, 0x1F7E0...0x1F7EB, 0x1F90C...0x1F9FF,
        0x1FA70...0x1FAFF, 0x20000...0x3FFFD,
    ]
}
