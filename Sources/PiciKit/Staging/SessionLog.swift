/// A session's log as pici stages it: only the build's output (zmx's typed line, marker and
/// prompts dropped, wrapped rows joined back), secrets masked, a note where rows were lost;
/// the whole of it for the `.txt`, its last lines (in zmx's colours) for the page.
public struct SessionLog {
    /// The `.txt`.
    public var text: [UInt8]
    /// The log part of the page (see `LogFragment`).
    public var log: ZmxHTML
    /// Lines of the `.txt` the page leaves out.
    public var hiddenLines: Int

    /// From one `zmx history NAME --html`: what zmx still holds of the session.
    public init(history fragment: [UInt8], session: SessionRecord, hex: String? = nil, masker: Masker = Masking.active) {
        let rows = HistoryRows(fragment: fragment)
        let cleaned = LogCleaner.clean(rows.plainLines, hex: hex, exitCode: session.exitCode)
        var lines = cleaned.lines.map { masker.mask($0) }
        if cleaned.headLost { lines.insert(LogFragment.gapNote(rows: nil), at: 0) }
        self.init(lines: lines, history: rows, masker: masker)
    }

    /// From the whole log's lines (cleaned and masked) and what zmx's history holds of its end.
    public init(lines: [String], history: HistoryRows?, masker: Masker = Masking.active) {
        var text: [UInt8] = []
        text.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 1 })
        hiddenLines = max(0, lines.count - LogFragment.shownLines)
        var shownStart = 0  // where the page's lines start in `text`
        for (l, line) in lines.enumerated() {
            if l == hiddenLines { shownStart = text.count }
            text.append(utf8: line)
            text.append(0x0A)
        }
        self.text = text
        if let history, history.hasMarkup {
            log = LogFragment.log(lines: Array(lines.suffix(LogFragment.shownLines)), history: history, masker: masker)
        } else {
            // Nothing of zmx's to show but the text: the page's lines are the `.txt`'s last.
            log = LogFragment.log(text: text[shownStart..<max(shownStart, text.count - 1)], history: history)
        }
    }
}
