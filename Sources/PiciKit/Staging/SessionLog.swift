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
        for line in lines {
            text.append(utf8: line)
            text.append(0x0A)
        }
        self.text = text
        let shown = lines.suffix(LogFragment.shownLines)
        hiddenLines = lines.count - shown.count
        log = LogFragment.log(lines: Array(shown), history: history, masker: masker)
    }
}
