@testable import PiciKit
import XCTest

/// SessionLog: a session's `.txt` and the log on its page, out of one `zmx history --html`.
final class SessionLogTests: XCTestCase {
    /// A history without markup, its rows valid UTF-8, goes from its rows' bytes to the
    /// `.txt` without a String a line. Whatever its head, marker, prompts, wrapped rows,
    /// secrets and length, that log is the one its lines give: `LogCleaner.clean` of
    /// `plainLines`, each masked, the gap note where the head was lost.
    func testALogFromTheRowsBytesIsTheLogItsLinesGive() throws {
        let typed = "make test; echo ZMX_TASK_COMPLETED:c0ffee:$?"
        let rows = [
            typed, "$ " + typed, "$ " + typed + "first output", "compiling a.swift", "&lt;ok&gt; &amp; &quot;done&quot;", "é 日本 &#233;",
            "", "   ", "$ ", "user@host:~$", "ZMX_TASK_COMPLETED:c0ffee:0", "ZMX_TASK_COMPLETED:c0ffee:2  ", "ZMX_TASK_COMPLETED:beef:0",
            "tail ZMX_TASK_COMPLETED:c0ffee:0", "key hunter22 and hunter22", "hunter2", String(repeating: "w", count: 120),
            String(repeating: "v", count: 119) + "日", String(repeating: "t", count: 120 - typed.count) + typed, "9",
            // A secret with characters HTML and JSON write otherwise, in its plain and JSON forms.
            HTML.escape(#"key p&ss"w<o>rd'x here"#), HTML.escape(#"json "p&ss\"w<o>rd'x""#),
        ]
        let marked = #"<span style="color: red">red</span>"#
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        let secrets = try Masker(secrets: ["hunter22", #"p&ss"w<o>rd'x"#])
        var fromBytes = 0
        for round in 0..<1500 {
            let count = round % 50 == 0 ? LogFragment.shownLines - 2 + next(6) : next(12)
            var picked = (0..<count).map { _ in rows[next(rows.count)] }
            // Most begin with the typed line, as zmx's sessions do.
            if next(3) > 0 { picked.insert(next(4) == 0 ? rows[18] : typed, at: 0) }
            if next(10) == 0 { picked.insert(marked, at: next(picked.count + 1)) }
            var bytes = Array((#"<div style="font-family: monospace; white-space: pre;">"# + picked.joined(separator: "\n")).utf8)
            if next(10) == 0 { bytes.insert(0xFF, at: 55 + next(bytes.count - 54)) }
            bytes += Array("</div>".utf8)
            let session = SessionRecord(name: "ci.r.0badc0de.step.t", created: 1, exitCode: [nil, 0, 2][next(3)], status: .success)
            let hex = [nil, "c0ffee", "beef"][next(3)]
            let masker = next(3) == 0 ? secrets : Masker()

            let log = SessionLog(history: bytes, session: session, hex: hex, masker: masker)
            let history = HistoryRows(fragment: bytes)
            let cleaned = LogCleaner.clean(history.plainLines, hex: hex, exitCode: session.exitCode)
            var lines = cleaned.lines.map { masker.mask($0) }
            if cleaned.headLost { lines.insert(LogFragment.gapNote(rows: nil), at: 0) }
            let expected = SessionLog(lines: lines, history: history, masker: masker)
            let context = "round \(round): \(String(decoding: bytes, as: UTF8.self).debugDescription)"
            XCTAssertEqual(String(decoding: log.text, as: UTF8.self), String(decoding: expected.text, as: UTF8.self), context)
            XCTAssertEqual(log.text, expected.text, context)
            XCTAssertEqual(log.hiddenLines, expected.hiddenLines, context)
            XCTAssertEqual(log.log, expected.log, context)
            if !history.hasMarkup && history.utf8Lines != nil { fromBytes += 1 }
        }
        // Most took the rows' bytes; the rest (markup, a byte not UTF-8) the lines.
        XCTAssertGreaterThan(fromBytes, 1000)
        XCTAssertLessThan(fromBytes, 1400)
    }

    /// A character cut by a row's end is not UTF-8 on either row, though the rows' bytes
    /// together are: the rows' bytes are not taken as the lines' (each row shows U+FFFD).
    func testACharacterCutByARowsEndIsNotTakenFromTheBytes() {
        let x = String(repeating: "x", count: 119)
        let bytes = Array(#"<div style="font-family: monospace; white-space: pre;">\#(x)"#.utf8) + [0xE4, 0xB8, 0x0A, 0xAD] + Array("b</div>".utf8)
        let history = HistoryRows(fragment: bytes)
        XCTAssertNil(history.utf8Lines)
        let log = SessionLog(history: bytes, session: SessionRecord(name: "ci.r.0badc0de.step.t", created: 1, status: .success), masker: Masker())
        XCTAssertEqual(String(decoding: log.text, as: UTF8.self), x + "\u{FFFD}\u{FFFD}b\n")
    }
}
