/// zmx's `history --html` fragment cut into its rows, each row both as plain text and as HTML
/// that stands on its own: the tags open at the start of a row (a colour span that runs over
/// several rows) are opened again before it and closed after it. So rows can be dropped,
/// joined back into lines or replaced one by one, and the page stays well formed.
public struct HistoryRows: Sendable {
    public struct Row: Sendable, Equatable {
        public var plain: String
        public var html: String
    }

    public var rows: [Row] = []
    /// The fragment's `<style>` element (zmx's palette), kept for the page.
    public var style: String = ""

    public init(rows: [Row], style: String = "") {
        self.rows = rows
        self.style = style
    }

    public init(fragment: [UInt8]) {
        fragment.withUnsafeBufferPointer { parse($0) }
    }

    public init(fragment: String) {
        self.init(fragment: Array(fragment.utf8))
    }

    private mutating func parse(_ b: UnsafeBufferPointer<UInt8>) {
        var open: [(name: [UInt8], tag: [UInt8])] = []
        var html: [UInt8] = [], plain: [UInt8] = []
        var reopened: [UInt8] = []
        var depth = 0, sawDiv = false, inRow = false
        var outside: [Row] = []  // used only when there is no div
        var outsideHTML: [UInt8] = [], outsidePlain: [UInt8] = []
        let n = b.count
        var i = 0

        func finishRow() {
            var h = reopened + html
            for t in open.reversed() { h += Array("</".utf8) + t.name + [UInt8(ascii: ">")] }
            rows.append(Row(plain: String(decoding: plain, as: UTF8.self), html: String(decoding: h, as: UTF8.self)))
            html.removeAll(keepingCapacity: true)
            plain.removeAll(keepingCapacity: true)
            reopened = open.flatMap(\.tag)
            inRow = false
        }

        while i < n {
            let c = b[i]
            if c == UInt8(ascii: "<"), let tag = HistoryText.tagAt(b, i) {
                let raw = Array(b[i..<min(tag.end, n)])
                i = tag.end
                switch tag.name {
                case .style where !tag.closing:
                    let end = HistoryText.skipElement(b, from: i, closingName: "style")
                    if style.isEmpty { style = String(decoding: b[(i - raw.count)..<end], as: UTF8.self) }
                    i = end
                case .style:
                    break
                // zmx (ghostty) writes a styled run as `<div style="display: inline;…">`: an
                // inline element like a span, closed by the first `</div>` while one is open.
                case .div where depth > 0 && (tag.closing ? open.contains { $0.name == HistoryRows.div } : HistoryRows.isInline(raw)):
                    if tag.closing {
                        open.remove(at: open.lastIndex { $0.name == HistoryRows.div }!)
                        html += raw
                    } else {
                        open.append((HistoryRows.div, raw))
                        html += raw
                        inRow = true
                    }
                case .div:
                    if tag.closing {
                        if depth > 0 { depth -= 1 }
                    } else if !tag.selfClosing {
                        depth += 1
                        sawDiv = true
                    }
                case .br:
                    if depth > 0 { finishRow() }
                default:
                    guard depth > 0 else { continue }
                    let name = HistoryRows.tagName(raw)
                    if tag.closing {
                        // Only the element it names: zmx closes a style inside a link
                        // (`<div…><a…>x</div> y</a>`), and the link still runs on.
                        if let k = open.lastIndex(where: { $0.name == name }) {
                            open.remove(at: k)
                            html += raw
                        }
                    } else if !tag.selfClosing && !name.isEmpty && name.first != UInt8(ascii: "!") {
                        open.append((name, raw))
                        html += raw
                        inRow = true
                    }
                }
                continue
            }
            if c == UInt8(ascii: "&"), let entity = HistoryText.entityAt(b, i) {
                let raw = b[i..<entity.end]
                if depth > 0 {
                    html += raw
                    HistoryRows.append(entity.scalar, to: &plain)
                    inRow = true
                } else {
                    outsideHTML += raw
                    HistoryRows.append(entity.scalar, to: &outsidePlain)
                }
                i = entity.end
                continue
            }
            if depth > 0 {
                if c == UInt8(ascii: "\n") {
                    finishRow()
                } else if c != UInt8(ascii: "<") && c != UInt8(ascii: ">") && c != UInt8(ascii: "&") {
                    // Text up to the next markup, line end or entity, as it is in both forms:
                    // most of a history, copied a run at a time.
                    var j = i + 1
                    while j < n, !HistoryRows.isSpecial(b[j]) { j += 1 }
                    let text = UnsafeBufferPointer(rebasing: b[i..<j])
                    html.append(contentsOf: text)
                    plain.append(contentsOf: text)
                    inRow = true
                    i = j
                    continue
                } else {
                    // A bare `<` or `>` that is not markup is escaped, so a row stays well formed.
                    if c == UInt8(ascii: "<") { html += Array("&lt;".utf8) } else if c == UInt8(ascii: ">") { html += Array("&gt;".utf8) } else { html.append(c) }
                    plain.append(c)
                    inRow = true
                }
            } else {
                if c == UInt8(ascii: "\n") {
                    outside.append(Row(plain: String(decoding: outsidePlain, as: UTF8.self), html: String(decoding: outsideHTML, as: UTF8.self)))
                    outsideHTML.removeAll()
                    outsidePlain.removeAll()
                } else {
                    outsidePlain.append(c)
                    if c == UInt8(ascii: "<") { outsideHTML += Array("&lt;".utf8) } else if c == UInt8(ascii: ">") { outsideHTML += Array("&gt;".utf8) } else { outsideHTML.append(c) }
                }
            }
            i += 1
        }
        if sawDiv {
            // zmx leaves the last row's newline out of the div.
            if inRow || !html.isEmpty || !plain.isEmpty { finishRow() }
        } else {
            if !outsidePlain.isEmpty { outside.append(Row(plain: String(decoding: outsidePlain, as: UTF8.self), html: String(decoding: outsideHTML, as: UTF8.self))) }
            rows = outside
        }
    }

    static let div = Array("div".utf8)

    /// A byte the parser looks at on its own: markup, a line end, an entity.
    @inline(__always)
    static func isSpecial(_ c: UInt8) -> Bool {
        c == UInt8(ascii: "<") || c == UInt8(ascii: ">") || c == UInt8(ascii: "&") || c == UInt8(ascii: "\n")
    }

    /// Whether a `<div …>` tag says `display: inline`.
    static func isInline(_ raw: [UInt8]) -> Bool {
        let needle = Array("display: inline".utf8)
        guard raw.count >= needle.count else { return false }
        return (0...(raw.count - needle.count)).contains { i in
            needle.indices.allSatisfy { (raw[i + $0] | (raw[i + $0] >= 65 && raw[i + $0] <= 90 ? 0x20 : 0)) == needle[$0] }
        }
    }

    /// `span` of `<span style=…>` or `</span>`, lowercased.
    static func tagName(_ raw: [UInt8]) -> [UInt8] {
        var j = 1
        if j < raw.count, raw[j] == UInt8(ascii: "/") { j += 1 }
        var name: [UInt8] = []
        while j < raw.count {
            var c = raw[j]
            guard (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "!") else { break }
            if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c += 32 }
            name.append(c)
            j += 1
        }
        return name
    }

    private static func append(_ value: UInt32, to out: inout [UInt8]) {
        if value < 0x80 {
            out.append(UInt8(value))
        } else {
            out.append(contentsOf: String(Character(Unicode.Scalar(value) ?? "\u{FFFD}")).utf8)
        }
    }

    /// The rows joined back into lines, as `LogCleaner.unwrap` joins plain rows.
    public var lines: [Row] {
        var out: [Row] = []
        var pending: Row? = nil
        for row in rows {
            if pending != nil {
                pending!.plain += row.plain
                pending!.html += row.html
            } else {
                pending = row
            }
            if !LogCleaner.isFull(row.plain) {
                out.append(pending!)
                pending = nil
            }
        }
        if let pending { out.append(pending) }
        return out
    }
}
