@testable import PiciKit
import XCTest

/// HistoryRows and LogFragment: the page's log, in zmx's colours where zmx still has them.
final class LogFragmentTests: XCTestCase {
    let fragment = """
        <style>:root{--vt-palette-0: #000000;}</style>
        <div style="font-family: monospace; white-space: pre;">typed; echo ZMX_TASK_COMPLETED:ab12:$?
        $ typed; echo ZMX_TASK_COMPLETED:ab12:$?
        <span style="color: red">red one
        red two</span> plain &amp; &lt;b&gt;
        ZMX_TASK_COMPLETED:ab12:0
        $</div>

        """

    func testRowsStandOnTheirOwn() {
        let rows = HistoryRows(fragment: fragment)
        XCTAssertEqual(rows.style, "<style>:root{--vt-palette-0: #000000;}</style>")
        XCTAssertEqual(rows.rows.map(\.plain), [
            "typed; echo ZMX_TASK_COMPLETED:ab12:$?", "$ typed; echo ZMX_TASK_COMPLETED:ab12:$?",
            "red one", "red two plain & <b>", "ZMX_TASK_COMPLETED:ab12:0", "$",
        ])
        // The span over two rows is closed after the first and opened again before the second.
        XCTAssertEqual(rows.rows[2].html, #"<span style="color: red">red one</span>"#)
        XCTAssertEqual(rows.rows[3].html, #"<span style="color: red">red two</span> plain &amp; &lt;b&gt;"#)
    }

    /// zmx's own markup (ghostty's): a styled run is an inline div, and a link may outlive the
    /// style it started in. Each row keeps its runs and its link.
    func testZmxsInlineDivsAndLinksStayOnTheirRows() {
        let red = #"<div style="display: inline;color: var(--vt-palette-1);">"#, bold = #"<div style="display: inline;font-weight: bold;">"#
        let rows = HistoryRows(fragment: #"<style>:root{--vt-palette-1: #ff0000;}</style><div style="font-family: monospace; white-space: pre;">"#
            + red + "red</div> x\n" + bold + #"<a href="https://e.x/">bold link</div> plain</a>"# + "\nafter</div>")
        XCTAssertEqual(rows.rows.map(\.plain), ["red x", "bold link plain", "after"])
        XCTAssertEqual(rows.rows[0].html, red + "red</div> x")
        XCTAssertEqual(rows.rows[1].html, bold + #"<a href="https://e.x/">bold link</div> plain</a>"#)
        XCTAssertEqual(rows.rows[2].html, "after")
        let page = ZmxHTML(parsing: LogFragment.html(lines: ["red x", "bold link plain", "after"], history: rows, masker: Masker())).html
        XCTAssertEqual(page, #"<pre style="--vt-palette-1: #ff0000;">"# + "\n" + #"<span style="color: var(--vt-palette-1);">red</span> x"# + "\n"
            + #"<a href="https://e.x/" rel="nofollow noopener noreferrer"><span style="font-weight: bold;">bold link</span> plain</a>"# + "\nafter</pre>")
    }

    func testTheLogsLastLinesTakeZmxsHTML() throws {
        let rows = HistoryRows(fragment: fragment)
        let html = LogFragment.html(lines: ["from the stream", "red one", "red two plain & <b>"], history: rows, masker: Masker())
        XCTAssertEqual(html, """
            <style>:root{--vt-palette-0: #000000;}</style>
            <div style="font-family: monospace; white-space: pre;">from the stream
            <span style="color: red">red one</span>
            <span style="color: red">red two</span> plain &amp; &lt;b&gt;</div>

            """)
    }

    func testALineHoldingASecretLosesItsColours() throws {
        let rows = HistoryRows(fragment: "<div><span style=\"color: red\">key hunter22</span>\nok</div>")
        let masker = try Masker(secrets: ["hunter22"])
        let html = LogFragment.html(lines: ["key ***", "ok"], history: rows, masker: masker)
        XCTAssertEqual(html, "<div style=\"font-family: monospace; white-space: pre;\">key ***\nok</div>\n")
    }

    /// Rows of a wrapped line are joined on the page as in the text.
    func testWrappedRowsAreOneLine() {
        let a = String(repeating: "a", count: 120)
        let rows = HistoryRows(fragment: "<div><b>\(a)\nb</b>\nc</div>")
        XCTAssertEqual(rows.lines.map(\.plain), [a + "b", "c"])
        XCTAssertEqual(rows.lines[0].html, "<b>\(a)</b><b>b</b>")
    }

    /// A byte that is not UTF-8 reads as U+FFFD in the log's line and in the history's row
    /// alike: the line still takes zmx's colours, and so do the lines above it.
    func testALineWithABadByteKeepsItsColours() {
        let wrapper = #"<div style="font-family: monospace; white-space: pre;">"#
        let red = #"<div style="display: inline;color: var(--vt-palette-1);">"#
        let rows = HistoryRows(fragment: Array((wrapper + red + "above</div>\n" + red + "a").utf8) + [0xFF] + Array("</div>\n</div>".utf8))
        XCTAssertEqual(rows.plainLines, ["above", "a\u{FFFD}"])
        XCTAssertEqual(LogFragment.html(lines: rows.plainLines, history: rows, masker: Masker()),
                       wrapper + red + "above</div>\n" + red + "a\u{FFFD}</div></div>\n")
    }

    /// The rows of a wrapped line are read each on its own: a character cut by zmx's row end
    /// (not UTF-8 on either row) stays two U+FFFD, not joined back into one character.
    func testACharacterCutAtARowsEndIsNotJoined() {
        let x = String(repeating: "x", count: 119)
        let rows = HistoryRows(fragment: Array("<div>\(x)".utf8) + [0xE4, 0xB8, 0x0A, 0xAD] + Array("b</div>".utf8))
        XCTAssertEqual(rows.plainLines, [x + "\u{FFFD}\u{FFFD}b"])
        XCTAssertEqual(rows.plainLines, LogCleaner.unwrap(rows.rows.map(\.plain)))
    }

    /// The log's line and the history's are compared as text: the same characters in another
    /// form (é as e and a combining accent) still take zmx's colours.
    func testTheSameTextInAnotherFormTakesTheColours() {
        let red = #"<div style="display: inline;color: var(--vt-palette-1);">"#
        let rows = HistoryRows(fragment: "<div>" + red + "caf\u{65}\u{301}</div></div>")
        XCTAssertTrue(LogFragment.html(lines: ["caf\u{E9}"], history: rows, masker: Masker()).contains(red))
    }

    func testNoHistoryIsPlainEscapedText() {
        XCTAssertEqual(
            LogFragment.html(lines: ["<x> & y"], history: nil, masker: Masker()),
            "<div style=\"font-family: monospace; white-space: pre;\">&lt;x&gt; &amp; y</div>\n")
    }

    /// A long log: the page shows its last 2,000 lines and links the whole .txt.
    func testALongLogShowsItsEndAndLinksTheText() {
        let lines = (1...2500).map { "line \($0)" }
        let log = SessionLog(lines: lines, history: nil, masker: Masker())
        XCTAssertEqual(log.hiddenLines, 500)
        XCTAssertEqual(log.text.count, lines.reduce(0) { $0 + $1.utf8.count + 1 })
        XCTAssertEqual(log.log.text.split(separator: "\n").first, "line 501")
        XCTAssertFalse(log.log.text.contains("line 500\n"))
        var page = SessionPage(jobName: "demo", jobID: "0badc0de", sessionName: "ci.demo.0badc0de.step.t", short: "t",
                               status: .success, duration: "1s", exitCode: 0, log: log.log)
        page.hiddenLines = log.hiddenLines
        XCTAssertTrue(page.html.contains("The first 500 lines are not shown here: <a href=\"t.txt\">the whole log</a>"), page.html)
        let short = SessionLog(lines: ["a"], history: nil, masker: Masker())
        XCTAssertEqual(short.hiddenLines, 0)
    }

    /// The rows' text is gathered a buffer at a time: whatever the runs, references and row
    /// ends, and wherever the buffer fills, the rows read back as the text HistoryText (a
    /// parser of its own) reads from the same fragment.
    func testTheRowsHoldTheFragmentsText() {
        let pieces = [
            "plain ", "&amp;", "&lt;ok&gt;", "&quot;q&quot;", "&#39;", "&#233;", "&nbsp;", "&#x1F600;", "&bogus;", "a < b",
            "\n", "\n", "<br>", "é日本", String(repeating: "x", count: 300), String(repeating: "y", count: 5000),
            #"<span style="color: red">red</span>"#, "\u{1B}[0m", "&",
        ]
        var seed: UInt64 = 0xD1B5_4A32_D192_ED03
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        for round in 0..<120 {
            let body = (0..<(1 + next(round % 2 == 0 ? 40 : 4000))).map { _ in pieces[next(pieces.count)] }.joined()
            let fragment = "<style>:root{--vt-palette-1: #cc6666;}</style>\n" + #"<div style="font-family: monospace; white-space: pre;">"# + body + "</div>"
            for textFirst in [true, false] {
                let rows = HistoryRows(fragment: Array(fragment.utf8), textFirst: textFirst)
                XCTAssertEqual(rows.rows.map { $0.plain + "\n" }.joined(), HistoryText.plain(fromHTML: fragment), "round \(round)")
            }
        }
    }

    /// Where a run of text fills the rows' 4 KB buffer, whatever comes next (a reference, a
    /// row end, a tag, a character of several bytes, the end) is read whole.
    func testTheRowsTextIsWholeAtTheBuffersEdge() {
        let wrapper = #"<div style="font-family: monospace; white-space: pre;">"#
        for lead in ["", "ab\n", "&amp;x"] {
            for length in (4_080...4_110).map({ $0 }) + [8, 16, 8_184, 8_192] {
                for next in ["&lt;", "\n", "<br>", ">", "&", "<3", "é", "&#233;", "</div>", ""] {
                    let fragment = wrapper + lead + String(repeating: "x", count: length) + next + "y</div>"
                    let rows = HistoryRows(fragment: Array(fragment.utf8), textFirst: true)
                    XCTAssertEqual(rows.rows.map { $0.plain + "\n" }.joined(), HistoryText.plain(fromHTML: fragment),
                                   "\(lead.debugDescription) + \(length) bytes + \(next.debugDescription)")
                }
            }
        }
    }

    /// The rows' text is read eight bytes at a time: in any word (bytes of every value,
    /// UTF-8's included), the first byte the parser looks at on its own is the one found.
    func testTheFirstSpecialByteOfAWordIsFound() {
        var seed: UInt64 = 0xA076_1D64_78BD_642F
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        let specials: [UInt8] = [0x3C, 0x3E, 0x26, 0x0A]
        for _ in 0..<20_000 {
            // Mostly bytes next to the special ones (a borrow's neighbours), some anything.
            var bytes = (0..<8).map { _ in next(3) == 0 ? UInt8(next(256)) : [0x3B, 0x3D, 0x3F, 0x25, 0x27, 0x09, 0x0B, 0x00, 0x01, 0x80, 0xBC, 0xFF][next(12)] }
            if next(2) == 0 { bytes[next(8)] = specials[next(4)] }
            if next(4) == 0 { bytes[next(8)] = specials[next(4)] }
            let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            let found = HistoryRows.specialBytes(word)
            let first = bytes.firstIndex(where: HistoryRows.isSpecial)
            XCTAssertEqual(found == 0 ? nil : found.trailingZeroBitCount >> 3, first, "\(bytes)")
        }
    }

    /// A log whose history has no markup takes the page's lines from the `.txt`'s last lines
    /// (no String a line); it is the log the lines themselves give.
    func testAPlainLogsPageIsTheTextsLastLines() {
        let pieces = ["plain", "", "<x> & \"y\"", "caf\u{65}\u{301} 日本", "  \t ", "\u{1B}[31m\u{7F}"]
        let histories: [HistoryRows?] = [
            nil,
            HistoryRows(fragment: #"<div style="font-family: monospace; white-space: pre;">plain</div>"#),
            HistoryRows(fragment: "<style>:root{--vt-palette-1: #cc6666;}</style>\n" + #"<div style="font-family: monospace; white-space: pre;">plain</div>"#),
        ]
        var seed: UInt64 = 0x5851_F42D_4C95_7F2D
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        for round in 0..<60 {
            let count = [0, 1, 2, LogFragment.shownLines - 1, LogFragment.shownLines, LogFragment.shownLines + 1, 2500][round % 7]
            let lines = (0..<count).map { _ in pieces[next(pieces.count)] }
            let history = histories[round % histories.count]
            XCTAssertNotEqual(history?.textOnly == nil, history != nil, "read for its text alone")
            let log = SessionLog(lines: lines, history: history, masker: Masker())
            let shown = Array(lines.suffix(LogFragment.shownLines))
            XCTAssertEqual(log.log, LogFragment.log(lines: shown, history: history, masker: Masker()), "\(count) lines")
            XCTAssertEqual(log.hiddenLines, lines.count - shown.count)
            XCTAssertEqual(log.text, Array(lines.map { $0 + "\n" }.joined().utf8))
        }
    }

    /// A history whose rows hold no markup is read for its text alone (most builds print no
    /// colour); it gives what reading its HTML as well gives, its HTML included when asked.
    func testAHistoryWithoutMarkupIsReadForItsTextAloneAndGivesTheSame() {
        let plain = [
            "plain", "&amp; &lt;b&gt; &quot;q&quot; &#39;s&#39; &#233; &nbsp;", "a < b > c & d", "&bogus; &#xZZ;", "  \t ", "",
            String(repeating: "w", count: 120) + "\nrapped", "caf\u{65}\u{301} 日本", "</div> stray", "</span> closes none",
            "<!-- a comment -->", "<br>", "<br/>x", "\u{1B}[31m\u{7F}\u{85}",
        ]
        let marked = [
            #"<span style="color: red">red</span>"#, #"<div style="display: inline;color: var(--vt-palette-1);">pal</div>"#,
            #"<a href="https://e.x/">link</a>"#, "<b>bold <i>both</b> i</i>", "<span style=\"color: red\">open over\nrows</span>",
            "<b>never closed", #"<div style="display: inline;">to the end"#,
        ]
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        var textOnly = 0
        for round in 0..<600 {
            var pieces = (0..<(1 + next(10))).map { _ in plain[next(plain.count)] }
            // A third with markup somewhere (first, last or between), which is read again.
            if round % 3 == 0 { pieces.insert(marked[next(marked.count)], at: next(pieces.count + 1)) }
            let body = pieces.joined(separator: next(3) == 0 ? "" : "\n")
            let palette = next(2) == 0 ? "" : "<style>:root{--vt-palette-1: #cc6666;}</style>\n"
            let wrapped = next(6) == 0 ? body : #"<div style="font-family: monospace; white-space: pre;">"# + body + "</div>"
            var bytes = Array((palette + wrapped).utf8)
            if next(8) == 0 { bytes.insert(0xFF, at: next(bytes.count + 1)) }
            let read = HistoryRows(fragment: bytes), full = HistoryRows(fragment: bytes, textFirst: false)
            if read.textOnly != nil { textOnly += 1 }
            XCTAssertEqual(read.textOnly != nil, !full.hasMarkup, body)
            XCTAssertEqual(read.count, full.count, body)
            XCTAssertEqual(read.style, full.style, body)
            XCTAssertEqual(read.rows, full.rows, body)
            XCTAssertEqual(read.lines, full.lines, body)
            XCTAssertEqual(read.plainLines, full.plainLines, body)
            XCTAssertEqual(read.hasMarkup, full.hasMarkup, body)
            for l in 0..<full.lineCount {
                XCTAssertEqual(read.lineHasMarkup(l), full.lineHasMarkup(l), body)
                XCTAssertEqual(read.htmlLine(l), full.htmlLine(l), body)
                XCTAssertEqual(read.withPlainLine(l) { Array($0) }, full.withPlainLine(l) { Array($0) }, body)
            }
            let lines = full.plainLines
            XCTAssertEqual(LogFragment.log(lines: lines, history: read, masker: Masker()).html,
                           LogFragment.log(lines: lines, history: full, masker: Masker()).html, body)
        }
        XCTAssertGreaterThan(textOnly, 300, "most were read for their text alone")
    }

    /// The page's log is built from values (`LogFragment.log`), not written as a fragment and
    /// parsed back; the page must read the same either way, hostile markup and secrets included.
    func testTheLogReadsAsItsFragmentWouldReadBack() throws {
        let pieces = [
            "plain", "&amp; &lt;b&gt; &quot;q&quot; &#39;s&#39; &#233; &nbsp;", "a < b > c & d", "&bogus; &#xZZ;",
            #"<span style="color: red">red</span>"#, #"<div style="display: inline;color: var(--vt-palette-1);">pal</div>"#,
            #"<div style="display: inline;font-weight: bold;"><a href="https://e.x/?a=1&amp;b=2">link</div> on</a>"#,
            #"<a href="javascript:alert(1)">js</a>"#, "<script>alert(1)</script>", #"<img src=x onerror="alert(1)">"#,
            "<b>bold <i>both</b> i</i>", "<span style=\"color: red\">open over\nrows</span>", "  \t ", "",
            String(repeating: "w", count: 120) + "\nrapped", "key hunter22 here", "\u{1B}[31m\u{7F}\u{85}", "</div> stray",
        ]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        let masker = try Masker(secrets: ["hunter22"])
        for _ in 0..<400 {
            let body = (0..<(1 + next(8))).map { _ in pieces[next(pieces.count)] }.joined(separator: next(3) == 0 ? "" : "\n")
            let palette = next(2) == 0 ? "" : "<style>:root{--vt-palette-1: #cc6666;}</style>\n"
            let rows = HistoryRows(fragment: palette + #"<div style="font-family: monospace; white-space: pre;">"# + body + "</div>")
            // The rows joined into lines are the rows' text joined as LogCleaner.unwrap joins it.
            XCTAssertEqual(rows.plainLines, LogCleaner.unwrap(rows.rows.map(\.plain)), body)
            XCTAssertEqual(HistoryRows(rows: rows.rows, style: rows.style).lines, rows.lines, body)
            var lines = rows.plainLines.map { masker.mask($0) }
            if next(3) == 0 { lines.insert("from the stream <x>", at: 0) }
            if next(4) == 0 && !lines.isEmpty { lines.removeLast() }
            let history = next(5) == 0 ? nil : rows
            let expected = ZmxHTML(parsing: LogFragment.html(lines: lines, history: history, masker: masker)).html
            XCTAssertEqual(LogFragment.log(lines: lines, history: history, masker: masker).html, expected, body)
        }
    }
}
