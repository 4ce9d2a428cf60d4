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
        // Most builds print no colour: their page needs only the text, which goes from the
        // rows' bytes to the `.txt` without a String a line.
        if !rows.hasMarkup, let lines = rows.utf8Lines {
            self.init(cleaning: lines, history: rows, hex: hex, exitCode: session.exitCode, masker: masker)
            return
        }
        let cleaned = LogCleaner.clean(rows.plainLines, hex: hex, exitCode: session.exitCode)
        var lines = cleaned.lines.map { masker.mask($0) }
        if cleaned.headLost { lines.insert(LogFragment.gapNote(rows: nil), at: 0) }
        self.init(lines: lines, history: rows, masker: masker)
    }

    /// From the whole log's lines (cleaned and masked) and what zmx's history holds of its end.
    public init(lines: [String], history: HistoryRows?, masker: Masker = Masking.active) {
        var text: [UInt8] = []
        text.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 1 })
        let hidden = max(0, lines.count - LogFragment.shownLines)
        var shownStart = 0
        for (l, line) in lines.enumerated() {
            if l == hidden { shownStart = text.count }
            text.append(utf8: line)
            text.append(0x0A)
        }
        if let history, history.hasMarkup {
            let log = LogFragment.log(lines: Array(lines.suffix(LogFragment.shownLines)), history: history, masker: masker)
            self.init(text: text, hiddenLines: hidden, log: log)
        } else {
            self.init(text: text, shownStart: shownStart, hiddenLines: hidden, history: history)
        }
    }

    /// `init(lines:…)` of `LogCleaner.clean(lines…)`'s lines, masked, with the gap note where
    /// the head was lost: straight into the `.txt`, each line's bytes copied once when no
    /// secret is declared.
    private init<Lines: CleanerLines>(cleaning lines: Lines, history: HistoryRows, hex: String?, exitCode: Int?, masker: Masker) {
        let head = LogCleaner.head(of: lines)
        let build = LinesAfterHead(lines: lines, head: head)
        let marker = LogCleaner.marker(in: build, hex: head?.hex ?? hex, exitCode: exitCode)
        let gap = head == nil && marker != nil ? LogFragment.gapNote(rows: nil) : nil
        // The build's lines: those before the marker, and what came before it on its line.
        let kept = marker.map { $0.line + ($0.kept > 0 ? 1 : 0) } ?? build.count
        let gapLines = gap == nil ? 0 : 1
        let hidden = max(0, kept + gapLines - LogFragment.shownLines)
        var shownStart = 0
        // Each line is a part of the rows' text of its own, and masking shortens what it
        // changes (a secret of at least 4 bytes in every form becomes `***`).
        let bound = history.plainByteCount + (gap?.utf8.count ?? 0) + kept + gapLines
        let text = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            guard let to = buffer.baseAddress else { return }  // nothing to write
            func add(_ line: UnsafeBufferPointer<UInt8>) {
                precondition(count + line.count < buffer.count, "a log line outgrew the rows")
                if !line.isEmpty { (to + count).update(from: line.baseAddress!, count: line.count) }
                to[count + line.count] = 0x0A
                count += line.count + 1
            }
            if var gap { gap.withUTF8 { add($0) } }
            build.forEachLine(0..<kept) { i, line in
                if i + gapLines == hidden { shownStart = count }
                let line = i == marker?.line ? UnsafeBufferPointer(rebasing: line[..<marker!.kept]) : line
                if masker.isEmpty { return add(line) }
                masker.mask(Array(line)).withUnsafeBufferPointer { add($0) }
            }
        }
        self.init(text: text, shownStart: shownStart, hiddenLines: hidden, history: history)
    }

    /// A log whose page is the `.txt`'s last lines, from `shownStart` on.
    private init(text: [UInt8], shownStart: Int, hiddenLines: Int, history: HistoryRows?) {
        // Nothing of zmx's to show but the text: the page's lines are the `.txt`'s last.
        let log = LogFragment.log(text: text[shownStart..<max(shownStart, text.count - 1)], history: history)
        self.init(text: text, hiddenLines: hiddenLines, log: log)
    }

    private init(text: [UInt8], hiddenLines: Int, log: ZmxHTML) {
        self.text = text
        self.hiddenLines = hiddenLines
        self.log = log
    }
}
