/// The tokens of zmx's `history --html` fragment: text, start tags with their attributes, end
/// tags, and everything else that looks like markup. Only a reader: what it finds is judged by
/// `ZmxHTML`, and nothing of the input is ever written back as markup, so where this reading
/// differs from a browser's it can cost a style, never a script.
struct ZmxMarkup {
    enum Token {
        /// Text, character references decoded.
        case text(String)
        /// A start tag: its lowercased name, its attributes (lowercased names, decoded values)
        /// and where its source is.
        case start(String, [(name: String, value: String)], Range<Int>)
        case end(String, Range<Int>)
        /// The text of a `<style>` element (raw text: its content is not markup).
        case styleSheet(String)
        /// Something else that is markup (a comment, a doctype, an unfinished tag).
        case other(Range<Int>)
    }

    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { b = bytes }

    private static let lt = UInt8(ascii: "<"), gt = UInt8(ascii: ">"), amp = UInt8(ascii: "&")
    private static let slash = UInt8(ascii: "/"), eq = UInt8(ascii: "=")

    mutating func next() -> Token? {
        guard i < b.count else { return nil }
        if b[i] == ZmxMarkup.lt, let tag = tag() { return tag }
        // Text runs to the next `<` that starts something (a lone `<` is text, as `a < b`).
        let start = i
        i += 1
        while i < b.count, b[i] != ZmxMarkup.lt { i += 1 }
        return .text(decode(start..<i))
    }

    /// The tag at `b[i] == "<"`, or nil (and `i` untouched) when that `<` is text.
    private mutating func tag() -> Token? {
        let start = i
        guard i + 1 < b.count else { return nil }
        let next = b[i + 1]
        if next == UInt8(ascii: "!") || next == UInt8(ascii: "?") {
            i = hasPrefix("<!--", at: i) ? (find("-->", from: i + 4).map { $0 + 3 } ?? b.count) : tagEnd(from: i + 2)
            return .other(start..<i)
        }
        let closing = next == ZmxMarkup.slash
        var j = closing ? i + 2 : i + 1
        guard j < b.count, ASCIIBytes.isLetter(b[j]) else { return nil }
        let nameStart = j
        while j < b.count, !isSpace(b[j]), b[j] != ZmxMarkup.slash, b[j] != ZmxMarkup.gt { j += 1 }
        let name = lowercased(nameStart..<j)
        var attributes: [(name: String, value: String)] = []
        // Attributes: name, name=value, name="value", name='value'; `/` between them is noise.
        while true {
            while j < b.count, isSpace(b[j]) || b[j] == ZmxMarkup.slash { j += 1 }
            guard j < b.count else {
                // A tag the input never finishes is not a tag (a browser drops it): show it.
                i = b.count
                return .other(start..<i)
            }
            if b[j] == ZmxMarkup.gt { j += 1; break }
            let attrStart = j
            j += 1  // a name may start with `=`
            while j < b.count, !isSpace(b[j]), b[j] != ZmxMarkup.slash, b[j] != ZmxMarkup.gt, b[j] != ZmxMarkup.eq { j += 1 }
            let attrName = lowercased(attrStart..<j)
            while j < b.count, isSpace(b[j]) { j += 1 }
            var value = ""
            if j < b.count, b[j] == ZmxMarkup.eq {
                j += 1
                while j < b.count, isSpace(b[j]) { j += 1 }
                if j < b.count, b[j] == UInt8(ascii: "\"") || b[j] == UInt8(ascii: "'") {
                    let quote = b[j]
                    let valueStart = j + 1
                    j = valueStart
                    while j < b.count, b[j] != quote { j += 1 }
                    value = decode(valueStart..<j)
                    if j < b.count { j += 1 }
                } else {
                    let valueStart = j
                    while j < b.count, !isSpace(b[j]), b[j] != ZmxMarkup.gt { j += 1 }
                    value = decode(valueStart..<j)
                }
            }
            if !attributes.contains(where: { $0.name == attrName }) { attributes.append((attrName, value)) }
        }
        i = j
        if closing { return .end(name, start..<i) }
        if name == "style" {
            // Raw text up to `</style`; the end tag is consumed with it.
            let contentStart = i
            var k = i
            while let at = find("</", from: k) {
                if at + 7 <= b.count, lowercased((at + 2)..<(at + 7)) == "style",
                   at + 7 == b.count || !ASCIIBytes.isLetter(b[at + 7]) {
                    i = tagEnd(from: at + 7)
                    return .styleSheet(source(contentStart..<at))
                }
                k = at + 2
            }
            i = b.count
            return .styleSheet(source(contentStart..<i))
        }
        return .start(name, attributes, start..<i)
    }

    /// Past the `>` that ends a tag, skipping quoted values; the end of the input without one.
    private func tagEnd(from start: Int) -> Int {
        HistoryText.tagEnd(b, from: start)
    }

    /// The bytes as text with character references decoded (`&amp;`, `&#NN;`, `&#xNN;`, …).
    private func decode(_ range: Range<Int>) -> String {
        guard b[range].contains(ZmxMarkup.amp) else { return source(range) }
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var j = range.lowerBound
        while j < range.upperBound {
            if b[j] == ZmxMarkup.amp, let entity = HistoryText.entityAt(UnsafeBufferPointer(rebasing: b[..<range.upperBound]), j) {
                appendScalar(entity.scalar, to: &out)
                j = entity.end
            } else {
                out.append(b[j])
                j += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The input's bytes in `range` as they are.
    func source(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[range]), as: UTF8.self)
    }

    private func lowercased(_ range: Range<Int>) -> String {
        String(decoding: b[range].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    private func hasPrefix(_ prefix: String, at start: Int) -> Bool {
        var j = start
        for p in prefix.utf8 {
            guard j < b.count, b[j] == p else { return false }
            j += 1
        }
        return true
    }

    private func find(_ needle: String, from start: Int) -> Int? {
        var j = start
        while j < b.count {
            if hasPrefix(needle, at: j) { return j }
            j += 1
        }
        return nil
    }

    private func appendScalar(_ value: UInt32, to out: inout [UInt8]) {
        if value < 0x80 { return out.append(UInt8(value)) }
        out.append(contentsOf: String(Character(Unicode.Scalar(value) ?? "\u{FFFD}")).utf8)
    }

    private func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 12 || c == 13 }
}
