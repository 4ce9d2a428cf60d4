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
        if let history = history?.withHTML {
            for (l, h) in coloured(lines: lines, history: history, masker: masker) { rendered[l] = history.htmlLine(h) }
        }
        var out = history?.style ?? ""
        if !out.isEmpty && !out.hasSuffix("\n") { out += "\n" }
        out += wrapper
        out += rendered.joined(separator: "\n")
        out += "</div>\n"
        return out
    }

    /// What `ZmxHTML(parsing: html(…))` reads, without writing the fragment and parsing it
    /// back: a line that takes zmx's HTML is read alone (its rows stand on their own), every
    /// other line, and a line without markup, is its own text. A page of a running build is
    /// rebuilt every pass, so this is most of what a pass costs.
    public static func log(lines: [String], history: HistoryRows?, masker: Masker) -> ZmxHTML {
        var log = ZmxHTML()
        var zmxLines: [Int: Int] = [:]
        // A history without colours or links has nothing to give the page but its text.
        if let history, history.hasMarkup {
            for (l, h) in coloured(lines: lines, history: history, masker: masker) where history.lineHasMarkup(h) {
                zmxLines[l] = h
            }
        }
        if let style = history?.style, !style.isEmpty { log.palette = palettes.palette(of: style) }
        // Plain lines gathered into one run: a running build's page is mostly those.
        var plain: [UInt8] = []
        for (l, line) in lines.enumerated() {
            if l > 0 { plain.append(0x0A) }
            guard let history, !zmxLines.isEmpty, let h = zmxLines[l] else {
                plain.append(utf8: line)
                continue
            }
            log.append(ZmxHTML.Run(String(decoding: plain, as: UTF8.self)))
            plain.removeAll(keepingCapacity: true)
            for run in ZmxHTML(parsing: wrapper + history.htmlLine(h) + "</div>").runs { log.append(run) }
        }
        log.append(ZmxHTML.Run(String(decoding: plain, as: UTF8.self)))
        return log
    }

    /// `log(lines:…)` for lines whose history has no markup, given as their text joined by
    /// newlines (valid UTF-8: the lines' own), without a String per line.
    static func log(text: ArraySlice<UInt8>, history: HistoryRows?) -> ZmxHTML {
        var log = ZmxHTML()
        if let style = history?.style, !style.isEmpty { log.palette = palettes.palette(of: style) }
        log.append(ZmxHTML.Run(String(decoding: text, as: UTF8.self)))
        return log
    }

    private static let palettes = PaletteMemo()

    private static let wrapper = "<div style=\"font-family: monospace; white-space: pre;\">"

    /// The lines (by index) that take zmx's HTML, with the history's line that holds them: the
    /// log's last lines that `history`'s lines also hold (compared after masking), unless a
    /// secret is in them.
    private static func coloured(lines: [String], history: HistoryRows, masker: Masker) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        // Whether the history's line `h`, masked, is the log's line `l`; and whether masking
        // left it as it was (no secret in it).
        func compare(_ l: Int, _ h: Int) -> (equal: Bool, unmasked: Bool) {
            if masker.isEmpty {
                var line = lines[l]
                let same = line.withUTF8 { a in
                    history.withPlainLine(h) { b in a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0) }
                }
                // Bytes that differ may still be the same text: a byte that is not UTF-8 (a
                // U+FFFD in the line), or another form of the same characters.
                return (same || history.plainLine(h) == line, true)
            }
            let plain = history.plainLine(h)
            let masked = masker.mask(plain)
            return (masked == lines[l], masked == plain)
        }
        let count = history.lineCount
        // zmx's marker and prompt (and a glued last line) end the history, not the log:
        // find where the log's last lines start among the history's last lines.
        var start: (Int, Int)? = nil
        search: for skipLog in 0..<min(3, lines.count) {
            for skipHistory in 0..<min(6, count) where compare(lines.count - 1 - skipLog, count - 1 - skipHistory).equal {
                start = (lines.count - 1 - skipLog, count - 1 - skipHistory)
                break search
            }
        }
        guard var (l, h) = start else { return out }
        while l >= 0, h >= 0 {
            let (equal, unmasked) = compare(l, h)
            guard equal else { break }
            if unmasked { out.append((l, h)) }
            l -= 1
            h -= 1
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
