import Glibc

/// The log on a session's page: the last lines of the build's output (the page of a long log
/// shows only its end and links the whole `.txt`, so it opens fast on a phone), in zmx's
/// colours where zmx's `history --html` still holds those lines.
public enum LogFragment {
    /// How many lines a session page shows.
    public static let shownLines = 2000

    /// The fragment for `lines` (cleaned and masked, the last of the log): zmx's `<style>`,
    /// then a `white-space: pre` div with one line per line. The lines at the end that
    /// `history`'s rows also hold (compared after masking) take zmx's HTML, unless a secret
    /// is in them: those are shown as masked plain text, colours lost.
    public static func html(lines: [String], history: HistoryRows?, masker: Masker) -> String {
        var rendered = lines.map { HTML.escape($0) }
        for (l, row) in coloured(lines: lines, history: history, masker: masker) { rendered[l] = row.html }
        var out = history?.style ?? ""
        if !out.isEmpty && !out.hasSuffix("\n") { out += "\n" }
        out += wrapper
        out += rendered.joined(separator: "\n")
        out += "</div>\n"
        return out
    }

    /// What `ZmxHTML(parsing: html(…))` reads, without writing the fragment and parsing it
    /// back: a line that takes zmx's HTML is read alone (its row stands on its own), every other
    /// line, and a row without markup, is its own text. A page of a running build is rebuilt
    /// every pass, so this is most of what a pass costs.
    public static func log(lines: [String], history: HistoryRows?, masker: Masker) -> ZmxHTML {
        var log = ZmxHTML()
        var zmxRows: [Int: HistoryRows.Row] = [:]
        for (l, row) in coloured(lines: lines, history: history, masker: masker) where hasMarkup(row.html) {
            zmxRows[l] = row
        }
        if let style = history?.style, !style.isEmpty { log.palette = palettes.palette(of: style) }
        // Plain lines gathered into one run: a running build's page is mostly those.
        var plain = ""
        for (l, line) in lines.enumerated() {
            if l > 0 { plain += "\n" }
            guard let row = zmxRows[l] else {
                plain += line
                continue
            }
            log.append(ZmxHTML.Run(plain))
            plain = ""
            for run in ZmxHTML(parsing: wrapper + row.html + "</div>").runs { log.append(run) }
        }
        log.append(ZmxHTML.Run(plain))
        return log
    }

    private static func hasMarkup(_ html: String) -> Bool {
        var html = html
        return html.withUTF8 { $0.count > 0 && memchr($0.baseAddress!, 0x3C, $0.count) != nil }
    }

    private static let palettes = PaletteMemo()

    private static let wrapper = "<div style=\"font-family: monospace; white-space: pre;\">"

    /// The lines (by index) that take zmx's HTML, with the row: the log's last lines that
    /// `history`'s rows also hold (compared after masking), unless a secret is in them.
    private static func coloured(lines: [String], history: HistoryRows?, masker: Masker) -> [(Int, HistoryRows.Row)] {
        var out: [(Int, HistoryRows.Row)] = []
        if let history {
            let coloured = history.lines
            var h = coloured.count - 1
            var l = lines.count - 1
            // zmx's marker and prompt (and a glued last line) end the history, not the log:
            // find where the log's last lines start among the history's last rows.
            var start: (Int, Int)? = nil
            search: for skipLog in 0..<min(3, lines.count) {
                for skipHistory in 0..<min(6, coloured.count) {
                    let li = lines.count - 1 - skipLog, hi = coloured.count - 1 - skipHistory
                    if masker.mask(coloured[hi].plain) == lines[li] {
                        start = (li, hi)
                        break search
                    }
                }
            }
            if let (li, hi) = start {
                l = li
                h = hi
                while l >= 0, h >= 0 {
                    let row = coloured[h]
                    let masked = masker.mask(row.plain)
                    guard masked == lines[l] else { break }
                    if masked == row.plain { out.append((l, row)) }
                    l -= 1
                    h -= 1
                }
            }
        }
        return out
    }

    /// The line a log holds where rows were lost.
    public static func gapNote(rows: Int?) -> String {
        let count = rows.map { "\($0) row\($0 == 1 ? "" : "s")" } ?? "an unknown number of rows"
        return "[pici: output missing here: \(count) scrolled out of zmx's scrollback before pici could follow this session]"
    }

    /// After lines whose text from zmx tail a follower could not check against zmx's history
    /// (they had left its scrollback), in a session whose output zmx tail is known to mangle
    /// (`FollowCapture`).
    public static func uncheckedNote(lines: Int) -> String {
        "[pici: the \(lines) line\(lines == 1 ? "" : "s") above could not be checked against zmx's scrollback:"
            + " they are as zmx tail streamed them, which may have left the end of a cut colour code in them (like 1m),"
            + " dropped their non-ASCII characters, or lost text and whole lines]"
    }

    /// Whether a log line is one of pici's gap notes.
    public static func isGapNote(_ line: String) -> Bool {
        line.hasPrefix("[pici: output missing here: ") || line.hasPrefix("[pici: the live stream")
    }
}
