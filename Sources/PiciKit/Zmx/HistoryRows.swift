import Glibc

/// zmx's `history --html` fragment cut into its rows, each row both as plain text and as HTML
/// that stands on its own: the tags open at the start of a row (a colour span that runs over
/// several rows) are opened again before it and closed after it. So rows can be dropped,
/// joined back into lines or replaced one by one, and the page stays well formed.
///
/// The rows are kept as two byte buffers and where each row ends in them: a history is
/// staged on every pass that finds its session changed, and two Strings a row cost more
/// than reading the fragment.
public struct HistoryRows: Sendable {
    public struct Row: Sendable, Equatable {
        public var plain: String
        public var html: String

        public init(plain: String, html: String) {
            self.plain = plain
            self.html = html
        }
    }

    /// Where a row ends in `plainBytes` and `htmlBytes`, and whether its HTML holds a tag.
    struct End: Sendable {
        var plain: Int
        var html: Int
        var markup: Bool
    }

    /// Every row's plain text, one after another.
    private(set) var plainBytes: [UInt8] = []
    /// Every row's HTML, one after another (each row's starts with the tags it opens again;
    /// those after the last row are for one that never came).
    private(set) var htmlBytes: [UInt8] = []
    private(set) var ends: [End] = []
    /// Each line's rows (`LogCleaner.unwrap`'s joining): the first row of every line.
    private(set) var lineStarts: [Int] = []

    /// The fragment's `<style>` element (zmx's palette), kept for the page.
    public var style: String = ""

    /// The fragment, when its rows hold no markup and so their HTML was not written: most
    /// builds print no colour, and their page needs only the text. Read again, whole, by
    /// what asks for the HTML.
    private(set) var textOnly: [UInt8]? = nil

    public init(rows: [Row], style: String = "") {
        self.style = style
        var builder = Builder()
        for row in rows {
            builder.html += row.html.utf8
            builder.plain += row.plain.utf8
            builder.endRow()
        }
        adopt(builder)
    }

    public init(fragment: [UInt8]) {
        self.init(fragment: fragment, textFirst: true)
    }

    /// `textFirst` false: the HTML is written whatever the rows hold.
    init(fragment: [UInt8], textFirst: Bool) {
        if textFirst && fragment.withUnsafeBufferPointer({ parse($0, html: false) }) {
            textOnly = fragment
            return
        }
        style = ""
        _ = fragment.withUnsafeBufferPointer { parse($0, html: true) }
    }

    /// These rows with their HTML written (read again from the fragment when it was left
    /// out: take it once for many lines).
    var withHTML: HistoryRows {
        guard let textOnly else { return self }
        var full = HistoryRows(rows: [])
        _ = textOnly.withUnsafeBufferPointer { full.parse($0, html: true) }
        return full
    }

    public init(fragment: String) {
        self.init(fragment: Array(fragment.utf8))
    }

    /// The number of rows.
    public var count: Int { ends.count }

    /// The bytes of all the rows' plain text.
    var plainByteCount: Int { plainBytes.count }

    /// The rows as Strings.
    public var rows: [Row] {
        let full = withHTML
        return (0..<count).map { Row(plain: full.plain(row: $0), html: full.html(row: $0)) }
    }

    /// The rows joined back into lines, as `LogCleaner.unwrap` joins plain rows.
    public var lines: [Row] {
        let full = withHTML
        return (0..<lineCount).map { Row(plain: full.plainLine($0), html: full.htmlLine($0)) }
    }

    /// The lines' plain text: `LogCleaner.unwrap(rows.map(\.plain))`.
    public var plainLines: [String] { (0..<lineCount).map(plainLine) }

    var lineCount: Int { lineStarts.count }

    func rowsOfLine(_ l: Int) -> Range<Int> {
        lineStarts[l]..<(l + 1 < lineStarts.count ? lineStarts[l + 1] : ends.count)
    }

    /// A line's text. The rows of a wrapped line are read each on its own and joined, as
    /// they were when each row was a String: a byte that is not UTF-8 at a row's end stays
    /// a U+FFFD of that row.
    func plainLine(_ l: Int) -> String {
        let rows = rowsOfLine(l)
        return rows.count == 1 ? plain(row: rows.lowerBound) : rows.map(plain(row:)).joined()
    }

    /// A line's HTML: its rows', one after another.
    func htmlLine(_ l: Int) -> String {
        if textOnly != nil { return withHTML.htmlLine(l) }
        let rows = rowsOfLine(l)
        return rows.count == 1 ? html(row: rows.lowerBound) : rows.map(html(row:)).joined()
    }

    /// Whether any row's HTML holds a tag.
    var hasMarkup: Bool { ends.contains { $0.markup } }

    /// Whether a line's HTML holds a tag (colour, a link), not only text.
    func lineHasMarkup(_ l: Int) -> Bool { rowsOfLine(l).contains { ends[$0].markup } }

    /// Calls `body` with the bytes of a line's plain text (as zmx gave them: a line with a byte
    /// that is not UTF-8 differs from `plainLine(l)`'s).
    func withPlainLine<R>(_ l: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let rows = rowsOfLine(l)
        let range = plainStart(rows.lowerBound)..<ends[rows.upperBound - 1].plain
        return plainBytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// The lines' plain text as `LogCleaner` reads it, when every row's bytes are valid
    /// UTF-8 (then each line's bytes are its String's, `plainLine(l)`); otherwise nil.
    var utf8Lines: PlainLines? {
        let valid = plainBytes.withUnsafeBufferPointer { p in
            // Rows that are valid together, none starting inside a character (on a
            // continuation byte), are each valid on their own.
            ByteScan.isASCII(p)
                || (JSONParser.utf8String(UnsafeRawBufferPointer(p), ascii: false) != nil
                    && ends.dropLast().allSatisfy { $0.plain >= p.count || p[$0.plain] & 0xC0 != 0x80 })
        }
        return valid ? PlainLines(rows: self) : nil
    }

    /// The lines' plain text, a line's bytes at a time.
    struct PlainLines: CleanerLines {
        let rows: HistoryRows
        var count: Int { rows.lineCount }
        func withLine<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { rows.withPlainLine(i, body) }

        func forEachLine(_ lines: Range<Int>, _ body: (Int, UnsafeBufferPointer<UInt8>) -> Void) {
            rows.plainBytes.withUnsafeBufferPointer { p in
                rows.ends.withUnsafeBufferPointer { ends in
                    rows.lineStarts.withUnsafeBufferPointer { starts in
                        for l in lines {
                            let first = starts[l], next = l + 1 < starts.count ? starts[l + 1] : ends.count
                            let start = first == 0 ? 0 : ends[first - 1].plain
                            body(l, UnsafeBufferPointer(rebasing: p[start..<ends[next - 1].plain]))
                        }
                    }
                }
            }
        }
    }

    private func plainStart(_ row: Int) -> Int { row == 0 ? 0 : ends[row - 1].plain }
    private func htmlStart(_ row: Int) -> Int { row == 0 ? 0 : ends[row - 1].html }

    private func plain(row r: Int) -> String {
        String(decoding: plainBytes[plainStart(r)..<ends[r].plain], as: UTF8.self)
    }

    /// A row's HTML, which stands on its own.
    private func html(row r: Int) -> String {
        String(decoding: htmlBytes[htmlStart(r)..<ends[r].html], as: UTF8.self)
    }

    /// Rows as they are read: the two buffers, and where each row ends in them.
    private struct Builder {
        var plain: [UInt8] = []
        var html: [UInt8] = []
        var ends: [End] = []

        /// Ends a row; `plainEnd` when its text is not all in `plain` yet.
        mutating func endRow(plainEnd: Int? = nil) {
            let start = ends.last?.html ?? 0
            let markup = html.withUnsafeBufferPointer { h in
                h.count > start && memchr(h.baseAddress! + start, 0x3C, h.count - start) != nil
            }
            ends.append(End(plain: plainEnd ?? plain.count, html: html.count, markup: markup))
        }
    }

    private mutating func adopt(_ builder: Builder) {
        plainBytes = builder.plain
        htmlBytes = builder.html
        ends = builder.ends
        // A row exactly as wide as the terminal, followed by another, was wrapped there.
        lineStarts = []
        var lineEnded = true
        plainBytes.withUnsafeBufferPointer { p in
            for r in ends.indices {
                if lineEnded { lineStarts.append(r) }
                lineEnded = !LogCleaner.isFull(UnsafeBufferPointer(rebasing: p[plainStart(r)..<ends[r].plain]))
            }
        }
    }

    /// Reads the fragment into rows; with `html` false only their text, and false as soon as
    /// a row holds markup (the fragment is then to be read again with its HTML).
    private mutating func parse(_ b: UnsafeBufferPointer<UInt8>, html: Bool) -> Bool {
        // The elements open where the parse is: each tag's lowercased name and where it is in
        // `b` (written again at the start of every row until it closes).
        var open: [(name: [UInt8], tag: Range<Int>)] = []
        var rows = Builder()
        // Where the row being read starts in the buffers, after the tags opened again for it.
        var rowHTML = 0, rowPlain = 0
        var depth = 0, sawDiv = false, inRow = false
        var outside = Builder()  // used only when there is no div
        let n = b.count
        var i = 0
        // The rows' text is gathered here and moved to `rows.plain` a buffer at a time: a
        // history is short runs of text between character references, and an append to the
        // array for each cost more than the run.
        let pendingSize = 4096
        let pending = UnsafeMutablePointer<UInt8>.allocate(capacity: pendingSize)
        defer { pending.deallocate() }
        var pendingCount = 0
        func flushPlain() {
            guard pendingCount > 0 else { return }
            rows.plain.append(contentsOf: UnsafeBufferPointer(start: pending, count: pendingCount))
            pendingCount = 0
        }
        func addPlain(_ text: UnsafeBufferPointer<UInt8>) {
            if pendingCount + text.count > pendingSize {
                flushPlain()
                if text.count > pendingSize { return rows.plain.append(contentsOf: text) }
            }
            var to = pending + pendingCount
            for c in text {
                to.pointee = c
                to += 1
            }
            pendingCount += text.count
        }
        func addPlain(scalar: UInt32) {
            guard scalar < 0x80, pendingCount < pendingSize else {
                flushPlain()
                return HistoryRows.append(scalar, to: &rows.plain)
            }
            pending[pendingCount] = UInt8(scalar)
            pendingCount += 1
        }

        // The rows' text so far, the pending part included.
        var plainCount: Int { rows.plain.count + pendingCount }

        func finishRow() {
            for t in open.reversed() {
                rows.html += "</".utf8
                rows.html += t.name
                rows.html.append(UInt8(ascii: ">"))
            }
            rows.endRow(plainEnd: plainCount)
            for t in open { rows.html.append(contentsOf: UnsafeBufferPointer(rebasing: b[t.tag])) }
            rowHTML = rows.html.count
            rowPlain = plainCount
            inRow = false
        }
        // The rows' text up to the next tag: runs, references and row ends, all of most
        // histories. A run is copied as it is looked at, eight bytes at a time: a word is
        // stored whole and counted up to its first special byte.
        func readText() {
            let src = b.baseAddress!
            while i < n {
                if pendingCount > pendingSize - 8 { flushPlain() }
                var k = pendingCount
                let runStart = i
                while i + 8 <= n && k + 8 <= pendingSize {
                    let word = UInt64(littleEndian: UnsafeRawPointer(src + i).loadUnaligned(as: UInt64.self))
                    UnsafeMutableRawPointer(pending + k).storeBytes(of: word.littleEndian, as: UInt64.self)
                    let special = HistoryRows.specialBytes(word)
                    let plain = special == 0 ? 8 : special.trailingZeroBitCount >> 3
                    k += plain
                    i += plain
                    if plain < 8 { break }
                }
                while i < n && k < pendingSize && !HistoryRows.isSpecial(src[i]) {
                    pending[k] = src[i]
                    k += 1
                    i += 1
                }
                pendingCount = k
                if i > runStart { inRow = true }
                guard i < n else { return }
                switch src[i] {
                case UInt8(ascii: "\n"):
                    finishRow()
                    i += 1
                case UInt8(ascii: "&"):
                    let entity = HistoryText.entityAt(b, i)
                    addPlain(scalar: entity?.scalar ?? UInt32(UInt8(ascii: "&")))
                    i = entity?.end ?? i + 1
                    inRow = true
                case UInt8(ascii: ">"):
                    addPlain(scalar: UInt32(UInt8(ascii: ">")))
                    i += 1
                    inRow = true
                case UInt8(ascii: "<"):
                    return
                default:
                    break  // the pending buffer is full
                }
            }
        }
        func appendEscaping(_ c: UInt8, to out: inout [UInt8]) {
            // A bare `<` or `>` that is not markup is escaped, so a row stays well formed.
            if c == UInt8(ascii: "<") { out += "&lt;".utf8 } else if c == UInt8(ascii: ">") { out += "&gt;".utf8 } else { out.append(c) }
        }

        while i < n {
            let c = b[i]
            if !html && depth > 0 && c != UInt8(ascii: "<") {
                readText()
                continue
            }
            if c == UInt8(ascii: "<"), let tag = HistoryText.tagAt(b, i) {
                let raw = i..<min(tag.end, n)
                i = tag.end
                switch tag.name {
                case .style where !tag.closing:
                    let end = HistoryText.skipElement(b, from: i, closingName: "style")
                    if style.isEmpty { style = String(decoding: UnsafeBufferPointer(rebasing: b[raw.lowerBound..<end]), as: UTF8.self) }
                    i = end
                case .style:
                    break
                // zmx (ghostty) writes a styled run as `<div style="display: inline;…">`: an
                // inline element like a span, closed by the first `</div>` while one is open.
                case .div where depth > 0 && (tag.closing ? open.contains { $0.name == HistoryRows.div } : HistoryRows.isInline(UnsafeBufferPointer(rebasing: b[raw]))):
                    guard html else { return false }
                    if tag.closing {
                        open.remove(at: open.lastIndex { $0.name == HistoryRows.div }!)
                    } else {
                        open.append((HistoryRows.div, raw))
                        inRow = true
                    }
                    rows.html.append(contentsOf: UnsafeBufferPointer(rebasing: b[raw]))
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
                    let name = HistoryRows.tagName(UnsafeBufferPointer(rebasing: b[raw]))
                    if tag.closing {
                        // Only the element it names: zmx closes a style inside a link
                        // (`<div…><a…>x</div> y</a>`), and the link still runs on.
                        if let k = open.lastIndex(where: { $0.name == name }) {
                            guard html else { return false }
                            open.remove(at: k)
                            rows.html.append(contentsOf: UnsafeBufferPointer(rebasing: b[raw]))
                        }
                    } else if !tag.selfClosing && !name.isEmpty && name.first != UInt8(ascii: "!") {
                        guard html else { return false }
                        open.append((name, raw))
                        rows.html.append(contentsOf: UnsafeBufferPointer(rebasing: b[raw]))
                        inRow = true
                    }
                }
                continue
            }
            if c == UInt8(ascii: "&"), let entity = HistoryText.entityAt(b, i) {
                let raw = UnsafeBufferPointer(rebasing: b[i..<entity.end])
                if depth > 0 {
                    if html { rows.html.append(contentsOf: raw) }
                    addPlain(scalar: entity.scalar)
                    inRow = true
                } else {
                    if html { outside.html.append(contentsOf: raw) }
                    HistoryRows.append(entity.scalar, to: &outside.plain)
                }
                i = entity.end
                continue
            }
            if depth > 0 {
                if c == UInt8(ascii: "\n") {
                    finishRow()
                } else if c != UInt8(ascii: "<") && c != UInt8(ascii: ">") && c != UInt8(ascii: "&") {
                    // Text up to the next markup, line end or entity, as it is in both forms:
                    // copied a run at a time.
                    var j = i + 1
                    while j < n, !HistoryRows.isSpecial(b[j]) { j += 1 }
                    let text = UnsafeBufferPointer(rebasing: b[i..<j])
                    if html { rows.html.append(contentsOf: text) }
                    addPlain(text)
                    inRow = true
                    i = j
                    continue
                } else {
                    if html { appendEscaping(c, to: &rows.html) }
                    addPlain(scalar: UInt32(c))
                    inRow = true
                }
            } else if c == UInt8(ascii: "\n") {
                outside.endRow()
            } else {
                outside.plain.append(c)
                if html { appendEscaping(c, to: &outside.html) }
            }
            i += 1
        }
        if sawDiv {
            // zmx leaves the last row's newline out of the div.
            if inRow || rows.html.count > rowHTML || plainCount > rowPlain { finishRow() }
            flushPlain()
            adopt(rows)
        } else {
            if outside.plain.count > (outside.ends.last?.plain ?? 0) { outside.endRow() }
            adopt(outside)
        }
        return true
    }

    static let div = Array("div".utf8)

    /// A byte the parser looks at on its own: markup, a line end, an entity.
    @inline(__always)
    static func isSpecial(_ c: UInt8) -> Bool {
        c < 0x40 && (specials >> UInt64(c)) & 1 != 0
    }

    /// The bytes of a word (the first in the low byte) that `isSpecial`, as their top bits,
    /// exact up to the first.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        ByteScan.bytesUpToFirst(word, equalTo: 0x3C) | ByteScan.bytesUpToFirst(word, equalTo: 0x3E)
            | ByteScan.bytesUpToFirst(word, equalTo: 0x26) | ByteScan.bytesUpToFirst(word, equalTo: 0x0A)
    }

    /// `<`, `>`, `&` and `\n` as bits.
    private static let specials: UInt64 = 1 << 0x3C | 1 << 0x3E | 1 << 0x26 | 1 << 0x0A

    private static let inline = Array("display: inline".utf8)

    /// Whether a `<div …>` tag says `display: inline`.
    static func isInline(_ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        let needle = inline
        guard raw.count >= needle.count else { return false }
        return (0...(raw.count - needle.count)).contains { i in
            needle.indices.allSatisfy { (raw[i + $0] | (raw[i + $0] >= 65 && raw[i + $0] <= 90 ? 0x20 : 0)) == needle[$0] }
        }
    }

    /// `span` of `<span style=…>` or `</span>`, lowercased.
    static func tagName(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8] {
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
}
