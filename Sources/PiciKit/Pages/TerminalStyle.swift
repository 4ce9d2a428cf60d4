/// How a run of terminal text looks, as zmx's `history --html` describes it in an inline
/// `style` attribute (ghostty's HTML formatter writes it): colours, the lines of a text
/// decoration, bold, italic, faint, invisible, inverse. A typed value, so what pici writes back
/// (`css`) is built from numbers and known words only: nothing of the input's text survives.
public struct TerminalStyle: Equatable, Sendable {
    public enum Color: Equatable, Sendable {
        /// An entry of the 256-colour palette, written as `var(--vt-palette-N)`.
        case palette(UInt8)
        case rgb(UInt8, UInt8, UInt8)

        /// `var(--vt-palette-N)`, `rgb(R, G, B)` or `#rrggbb`; nil for anything else.
        init?(css value: Substring) {
            if let n = TerminalStyle.call(value, "var"), n.hasPrefix("--vt-palette-"),
               let index = TerminalStyle.byte(n.dropFirst("--vt-palette-".count)) {
                self = .palette(index)
            } else if let args = TerminalStyle.call(value, "rgb") {
                let parts = args.split(separator: ",", omittingEmptySubsequences: false).map { TerminalStyle.trim($0) }
                guard parts.count == 3, let r = TerminalStyle.byte(parts[0]), let g = TerminalStyle.byte(parts[1]),
                      let b = TerminalStyle.byte(parts[2]) else { return nil }
                self = .rgb(r, g, b)
            } else if let rgb = TerminalPalette.hexColor(value) {
                self = .rgb(rgb.r, rgb.g, rgb.b)
            } else {
                return nil
            }
        }

        var css: String {
            switch self {
            case .palette(let n): return "var(--vt-palette-\(n))"
            case .rgb(let r, let g, let b): return "rgb(\(r), \(g), \(b))"
            }
        }
    }

    /// The style of an underline (`text-decoration-style`).
    public enum Underline: String, Equatable, Sendable, CaseIterable {
        case solid, double, wavy, dotted, dashed
    }

    public var foreground: Color?
    public var background: Color?
    public var decorationColor: Color?
    public var underline: Underline?
    public var lineThrough = false
    public var overline = false
    public var blink = false
    public var bold = false
    public var italic = false
    public var faint = false
    public var invisible = false
    public var inverse = false

    public init() {}

    /// The plain style: nothing set.
    public var isPlain: Bool { self == TerminalStyle() }

    /// The declarations of a `style` attribute (already free of character references) that
    /// pici keeps; `display: inline` is noted in `inline`. Unknown properties and values that
    /// are not exactly what a terminal style can be are dropped.
    public init(css: String) {
        self.init()
        _ = parse(css)
    }

    /// Parses `css` into this style; whether it said `display: inline` (zmx's mark of a run of
    /// styled text, as opposed to the block that holds the whole history).
    mutating func parse(_ css: String) -> Bool {
        var inline = false
        var lines: [Substring] = []
        var decorationStyle: Underline?
        for declaration in css.split(separator: ";") {
            guard let colon = declaration.firstIndex(of: ":") else { continue }
            let name = TerminalStyle.trim(declaration[..<colon]).lowercased()
            let value = TerminalStyle.trim(declaration[declaration.index(after: colon)...])
            switch name {
            case "display": inline = value == "inline"
            case "color": foreground = Color(css: value)
            case "background-color": background = Color(css: value)
            case "text-decoration-color": decorationColor = Color(css: value)
            case "text-decoration-line": lines = value.split(separator: " ")
            case "text-decoration-style": decorationStyle = Underline(rawValue: String(value))
            case "font-weight": bold = value == "bold"
            case "font-style": italic = value == "italic"
            case "opacity": faint = value == "0.5"
            case "visibility": invisible = value == "hidden"
            case "filter": inverse = value == "invert(100%)"
            default: break
            }
        }
        underline = lines.contains("underline") ? (decorationStyle ?? .solid) : nil
        lineThrough = lines.contains("line-through")
        overline = lines.contains("overline")
        blink = lines.contains("blink")
        return inline
    }

    /// This style inside `outer`: what this one sets wins, the rest is inherited.
    func inside(_ outer: TerminalStyle) -> TerminalStyle {
        var s = self
        s.foreground = foreground ?? outer.foreground
        s.background = background ?? outer.background
        s.decorationColor = decorationColor ?? outer.decorationColor
        s.underline = underline ?? outer.underline
        s.lineThrough = lineThrough || outer.lineThrough
        s.overline = overline || outer.overline
        s.blink = blink || outer.blink
        s.bold = bold || outer.bold
        s.italic = italic || outer.italic
        s.faint = faint || outer.faint
        s.invisible = invisible || outer.invisible
        s.inverse = inverse || outer.inverse
        return s
    }

    /// The declarations, in ghostty's order, each ending in `;`; empty for the plain style.
    public var css: String {
        var out = ""
        if let c = foreground { out += "color: \(c.css);" }
        if let c = background { out += "background-color: \(c.css);" }
        if let c = decorationColor { out += "text-decoration-color: \(c.css);" }
        if underline != nil || lineThrough || overline || blink {
            out += "text-decoration-line:"
            if underline != nil { out += " underline" }
            if lineThrough { out += " line-through" }
            if overline { out += " overline" }
            if blink { out += " blink" }
            out += ";"
        }
        if let u = underline { out += "text-decoration-style: \(u.rawValue);" }
        if bold { out += "font-weight: bold;" }
        if italic { out += "font-style: italic;" }
        if faint { out += "opacity: 0.5;" }
        if invisible { out += "visibility: hidden;" }
        if inverse { out += "filter: invert(100%);" }
        return out
    }

    // MARK: Small CSS pieces

    /// The argument of `name(…)`, or nil when `value` is not that call.
    static func call(_ value: Substring, _ name: String) -> Substring? {
        guard value.hasPrefix(name + "("), value.hasSuffix(")") else { return nil }
        return trim(value.dropFirst(name.count + 1).dropLast())
    }

    /// A decimal 0…255 of at most three digits.
    static func byte(_ digits: Substring) -> UInt8? {
        guard (1...3).contains(digits.utf8.count), digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return UInt8(digits)
    }

    /// Without CSS whitespace (space, tab, newline, CR, form feed) at either end.
    static func trim(_ s: Substring) -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0C}" || $0 == "\r\n" }
        guard let first = s.firstIndex(where: { !blank($0) }), let last = s.lastIndex(where: { !blank($0) }) else { return "" }
        return s[first...last]
    }
}

/// The 256-colour palette zmx's fragment starts with (`<style>:root{--vt-palette-0: #1d1f21;…}`):
/// a build can change entries (OSC 4), so the page keeps them; entries equal to ghostty's
/// default palette, which the stylesheet already holds, are left out of every page.
public struct TerminalPalette: Equatable, Sendable {
    public struct RGB: Equatable, Sendable {
        public var r: UInt8, g: UInt8, b: UInt8
        public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { (self.r, self.g, self.b) = (r, g, b) }
        var hex: String {
            let digits = Array("0123456789abcdef".unicodeScalars)
            var out = "#"
            for v in [r, g, b] {
                out.unicodeScalars.append(digits[Int(v >> 4)])
                out.unicodeScalars.append(digits[Int(v & 0xF)])
            }
            return out
        }
    }

    /// The entries the fragment set, by index.
    public var entries: [UInt8: RGB] = [:]

    public init(entries: [UInt8: RGB] = [:]) { self.entries = entries }

    /// The `--vt-palette-N: #rrggbb` declarations of a `<style>` element's text; anything else
    /// in it is ignored.
    mutating func parse(styleSheet text: String) {
        // zmx's sheet is ASCII, where a Character is a byte (or CR LF, which changes nothing
        // here): read as bytes, which is far cheaper (every page parses 256 entries). Anything
        // else as Characters.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            var text = text
            text.withUTF8 { b in
                var start = 0
                for i in 0...b.count where i == b.count || b[i] == 0x3B || b[i] == 0x7B || b[i] == 0x7D {
                    if i > start { parse(declaration: UnsafeBufferPointer(rebasing: b[start..<i])) }
                    start = i + 1
                }
            }
            return
        }
        for piece in text.split(whereSeparator: { $0 == ";" || $0 == "{" || $0 == "}" }) {
            guard let colon = piece.firstIndex(of: ":") else { continue }
            let name = TerminalStyle.trim(piece[..<colon])
            guard name.hasPrefix("--vt-palette-"), let index = TerminalStyle.byte(name.dropFirst("--vt-palette-".count)),
                  let rgb = TerminalPalette.hexColor(TerminalStyle.trim(piece[piece.index(after: colon)...])) else { continue }
            entries[index] = rgb
        }
    }

    private static let entryPrefix = Array("--vt-palette-".utf8)

    /// One `name: value` of an ASCII sheet, as the loop above reads a piece.
    private mutating func parse(declaration d: UnsafeBufferPointer<UInt8>) {
        guard let colon = d.firstIndex(of: 0x3A) else { return }
        let name = TerminalPalette.trim(d[..<colon]), value = TerminalPalette.trim(d[(colon + 1)...])
        let prefix = TerminalPalette.entryPrefix
        guard name.count > prefix.count, name.starts(with: prefix) else { return }
        let digits = name.dropFirst(prefix.count)
        guard digits.count <= 3, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return }
        let number = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
        guard number <= 255, let rgb = TerminalPalette.hexColor(Substring(String(decoding: value, as: UTF8.self))) else { return }
        entries[UInt8(number)] = rgb
    }

    /// Without CSS whitespace at either end, as `TerminalStyle.trim`.
    private static func trim(_ s: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0x0C }
        guard let first = s.firstIndex(where: { !blank($0) }), let last = s.lastIndex(where: { !blank($0) }) else { return s[s.startIndex..<s.startIndex] }
        return s[first...last]
    }

    /// The entries that differ from the default, as custom-property declarations for a
    /// `style` attribute; empty when the build kept the default palette.
    public var changedCSS: String {
        var out = ""
        // In index order without sorting the keys: asked for every page written.
        for index in 0...255 {
            guard let rgb = entries[UInt8(index)], rgb != TerminalPalette.defaults[index] else { continue }
            out += "--vt-palette-\(index): \(rgb.hex);"
        }
        return out
    }

    /// The default palette as one CSS rule for `selector`: the stylesheet's, so a page only
    /// carries what its build changed.
    public static func defaultRule(_ selector: String) -> String {
        var out = selector + " {"
        for (index, rgb) in defaults.enumerated() {
            out += (index % 6 == 0 ? "\n  " : " ") + "--vt-palette-\(index): \(rgb.hex);"
        }
        return out + "\n}\n"
    }

    /// ghostty's default palette (src/terminal/color.zig): sixteen named colours, the 6×6×6
    /// cube, the grey ramp.
    public static let defaults: [RGB] = {
        var p: [RGB] = [
            RGB(0x1D, 0x1F, 0x21), RGB(0xCC, 0x66, 0x66), RGB(0xB5, 0xBD, 0x68), RGB(0xF0, 0xC6, 0x74),
            RGB(0x81, 0xA2, 0xBE), RGB(0xB2, 0x94, 0xBB), RGB(0x8A, 0xBE, 0xB7), RGB(0xC5, 0xC8, 0xC6),
            RGB(0x66, 0x66, 0x66), RGB(0xD5, 0x4E, 0x53), RGB(0xB9, 0xCA, 0x4A), RGB(0xE7, 0xC5, 0x47),
            RGB(0x7A, 0xA6, 0xDA), RGB(0xC3, 0x97, 0xD8), RGB(0x70, 0xC0, 0xB1), RGB(0xEA, 0xEA, 0xEA),
        ]
        let level: (Int) -> UInt8 = { $0 == 0 ? 0 : UInt8($0 * 40 + 55) }
        for r in 0..<6 { for g in 0..<6 { for b in 0..<6 { p.append(RGB(level(r), level(g), level(b))) } } }
        for i in 0..<24 { let v = UInt8(i * 10 + 8); p.append(RGB(v, v, v)) }
        return p
    }()

    /// `#rrggbb` (either case) or `#rgb`.
    static func hexColor(_ value: Substring) -> RGB? {
        guard value.first == "#" else { return nil }
        var digits: [UInt8] = []
        for c in value.utf8.dropFirst() {
            switch c {
            case 48...57: digits.append(c - 48)
            case 97...102: digits.append(c - 87)
            case 65...70: digits.append(c - 55)
            default: return nil
            }
        }
        switch digits.count {
        case 6: return RGB(digits[0] << 4 | digits[1], digits[2] << 4 | digits[3], digits[4] << 4 | digits[5])
        case 3: return RGB(digits[0] * 17, digits[1] * 17, digits[2] * 17)
        default: return nil
        }
    }
}
