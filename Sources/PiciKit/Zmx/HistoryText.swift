/// The plain text of zmx's `history NAME --html` fragment: the text `zmx history NAME` prints
/// but for the rows' trailing blanks, which the fragment keeps and plain `history` drops; so
/// one zmx call per session gives both the page and the `.txt` (the seed made two).
///
/// The fragment is `<style>…</style>`, then a `white-space: pre` `<div>` holding the escaped,
/// styled text. The text is what the divs hold (all of it when there is no div), with tags
/// dropped, `<br>` as a newline and character references decoded. A history ends with a
/// newline, which zmx leaves out of the div, so one is added when missing.
/// Any input, however malformed, gives some text: nothing here can fail.
public enum HistoryText {
    public static func plain(fromHTML html: String) -> String {
        var copy = html
        return copy.withUTF8 { plain(fromHTML: $0) }
    }

    public static func plain(fromHTML html: [UInt8]) -> String {
        html.withUnsafeBufferPointer { plain(fromHTML: $0) }
    }

    public static func plain(fromHTML b: UnsafeBufferPointer<UInt8>) -> String {
        var inside: [UInt8] = []  // text within a <div>
        var outside: [UInt8] = []  // text outside every <div>, used only when there is none
        inside.reserveCapacity(b.count)
        var depth = 0
        var sawDiv = false
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c == lt, let tag = tagAt(b, i) {
                i = tag.end
                switch tag.name {
                case .style where !tag.closing:
                    i = skipElement(b, from: i, closingName: "style")
                case .div:
                    if tag.closing {
                        if depth > 0 { depth -= 1 }
                    } else if !tag.selfClosing {
                        depth += 1
                        sawDiv = true
                    }
                case .br:
                    if depth > 0 { inside.append(newline) } else { outside.append(newline) }
                default:
                    break
                }
                continue
            }
            if c == amp, let entity = entityAt(b, i) {
                i = entity.end
                if depth > 0 { appendScalar(entity.scalar, to: &inside) } else { appendScalar(entity.scalar, to: &outside) }
                continue
            }
            if depth > 0 { inside.append(c) } else { outside.append(c) }
            i += 1
        }
        var text = sawDiv ? inside : outside
        if let last = text.last, last != newline { text.append(newline) }
        return String(decoding: text, as: UTF8.self)
    }

    private static let lt = UInt8(ascii: "<"), gt = UInt8(ascii: ">"), amp = UInt8(ascii: "&")
    private static let semicolon = UInt8(ascii: ";"), slash = UInt8(ascii: "/"), newline = UInt8(ascii: "\n")

    enum TagName { case style, div, br, other }

    struct Tag {
        var name: TagName
        var closing: Bool
        var selfClosing: Bool
        /// The index just past the tag's `>` (or the end of the input when it has none).
        var end: Int
    }

    /// The tag starting at `b[i] == "<"`, or nil when that `<` is text (`a < b`). Comments,
    /// doctypes and processing instructions are tags named `other`.
    static func tagAt(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Tag? {
        let n = b.count
        guard i + 1 < n else { return nil }
        let next = b[i + 1]
        if next == UInt8(ascii: "!") || next == UInt8(ascii: "?") {
            if hasPrefix(b, at: i + 1, "!--") {
                return Tag(name: .other, closing: false, selfClosing: false, end: find(b, "-->", from: i + 4).map { $0 + 3 } ?? n)
            }
            return Tag(name: .other, closing: false, selfClosing: false, end: tagEnd(b, from: i + 2))
        }
        let closing = next == slash
        let nameStart = closing ? i + 2 : i + 1
        guard nameStart < n, ASCIIBytes.isLetter(b[nameStart]) else { return nil }
        var j = nameStart
        while j < n, ASCIIBytes.isLetter(b[j]) || isDigit(b[j]) || b[j] == UInt8(ascii: "-") { j += 1 }
        let name: TagName
        if equalsLowercased(b, nameStart..<j, "style") { name = .style }
        else if equalsLowercased(b, nameStart..<j, "div") { name = .div }
        else if equalsLowercased(b, nameStart..<j, "br") { name = .br }
        else { name = .other }
        let end = tagEnd(b, from: j)
        let selfClosing = end >= 2 && end <= n && b[end - 1] == gt && b[end - 2] == slash
        return Tag(name: name, closing: closing, selfClosing: selfClosing, end: end)
    }

    /// Past the `>` that ends a tag, skipping quoted attribute values; the end of the input
    /// when the tag is never closed.
    static func tagEnd(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var quote: UInt8 = 0
        var j = start
        while j < b.count {
            let c = b[j]
            if quote != 0 {
                if c == quote { quote = 0 }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == gt {
                return j + 1
            }
            j += 1
        }
        return b.count
    }

    /// Past the closing tag `</name…>` of a raw-text element such as `<style>`, whose content
    /// is not markup; the end of the input when it is never closed.
    static func skipElement(_ b: UnsafeBufferPointer<UInt8>, from start: Int, closingName: String) -> Int {
        var j = start
        while let at = find(b, "</", from: j) {
            let nameStart = at + 2
            let nameEnd = nameStart + closingName.utf8.count
            if nameEnd <= b.count, equalsLowercased(b, nameStart..<nameEnd, closingName),
               nameEnd == b.count || !ASCIIBytes.isLetter(b[nameEnd]) {
                return tagEnd(b, from: nameEnd)
            }
            j = at + 2
        }
        return b.count
    }

    /// A character reference at `b[i] == "&"`: `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`,
    /// `&apos;`, `&nbsp;`, `&#NN;`, `&#xNN;`. Anything else is text, and left as it is.
    static func entityAt(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (scalar: UInt32, end: Int)? {
        // zmx escapes every `<`, `>`, `&` and `"` of a log: those first, without the search below.
        if i + 3 < b.count, b[i + 3] == semicolon, b[i + 2] == UInt8(ascii: "t") {
            if b[i + 1] == UInt8(ascii: "l") { return (0x3C, i + 4) }
            if b[i + 1] == UInt8(ascii: "g") { return (0x3E, i + 4) }
        }
        if i + 4 < b.count, b[i + 4] == semicolon, b[i + 1] == UInt8(ascii: "a"), b[i + 2] == UInt8(ascii: "m"), b[i + 3] == UInt8(ascii: "p") {
            return (0x26, i + 5)
        }
        if i + 5 < b.count, b[i + 5] == semicolon, b[i + 1] == UInt8(ascii: "q"), b[i + 2] == UInt8(ascii: "u"), b[i + 3] == UInt8(ascii: "o"),
           b[i + 4] == UInt8(ascii: "t") {
            return (0x22, i + 6)
        }
        let limit = min(b.count, i + 32)  // room for `&#x0000000041;`, no more
        var semi = i + 1
        while semi < limit, b[semi] != semicolon { semi += 1 }
        guard semi < limit, semi > i + 1 else { return nil }
        let body = (i + 1)..<semi
        if b[i + 1] == UInt8(ascii: "#") {
            var value: UInt32 = 0
            var j = i + 2
            let hex = j < semi && (b[j] == UInt8(ascii: "x") || b[j] == UInt8(ascii: "X"))
            if hex { j += 1 }
            guard j < semi else { return nil }
            while j < semi {
                let c = b[j]
                let digit: UInt32
                if isDigit(c) { digit = UInt32(c - UInt8(ascii: "0")) }
                else if hex, let h = hexValue(c) { digit = h }
                else { return nil }
                // Saturate: an absurd number is still one replacement character, not a trap.
                value = value > 0x10FFFF ? value : value * (hex ? 16 : 10) + digit
                j += 1
            }
            let valid = value != 0 && value <= 0x10FFFF && !(0xD800...0xDFFF).contains(value)
            return (valid ? value : 0xFFFD, semi + 1)
        }
        // Named references are case-sensitive (`&AMP;` is not one of ours); compared byte by
        // byte, as a log holds several on most lines.
        func named(_ name: StaticString) -> Bool {
            body.count == name.utf8CodeUnitCount && body.indices.allSatisfy { b[$0] == name.utf8Start[$0 - body.lowerBound] }
        }
        switch b[i + 1] {
        case UInt8(ascii: "a") where named("amp"): return (0x26, semi + 1)
        case UInt8(ascii: "a") where named("apos"): return (0x27, semi + 1)
        case UInt8(ascii: "l") where named("lt"): return (0x3C, semi + 1)
        case UInt8(ascii: "g") where named("gt"): return (0x3E, semi + 1)
        case UInt8(ascii: "q") where named("quot"): return (0x22, semi + 1)
        case UInt8(ascii: "n") where named("nbsp"): return (0xA0, semi + 1)
        default: return nil
        }
    }

    private static func appendScalar(_ value: UInt32, to out: inout [UInt8]) {
        if value < 0x80 {
            out.append(UInt8(value))
        } else {
            let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
            out.append(contentsOf: String(Character(scalar)).utf8)
        }
    }

    private static func find(_ b: UnsafeBufferPointer<UInt8>, _ needle: String, from start: Int) -> Int? {
        let first = needle.utf8.first!
        var j = start
        while j < b.count {
            if b[j] == first && hasPrefix(b, at: j, needle) { return j }
            j += 1
        }
        return nil
    }

    private static func hasPrefix(_ b: UnsafeBufferPointer<UInt8>, at start: Int, _ prefix: String) -> Bool {
        var j = start
        for p in prefix.utf8 {
            guard j < b.count, b[j] == p else { return false }
            j += 1
        }
        return true
    }

    /// ASCII case-insensitive comparison of `b[range]` with a lowercase word.
    private static func equalsLowercased(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ word: String) -> Bool {
        guard range.count == word.utf8.count else { return false }
        var j = range.lowerBound
        for w in word.utf8 {
            var c = b[j]
            if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c += 32 }
            guard c == w else { return false }
            j += 1
        }
        return true
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
