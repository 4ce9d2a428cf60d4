@testable import PiciKit
import XCTest

/// What the real `zmx tail` 0.7 emits (observed; see `StreamRepair`) made into the lines
/// `zmx history` shows: rendered, and put right against a history.
final class StreamRepairTests: XCTestCase {
    func lines(_ chunks: [String]) -> [String] {
        var s = StreamLines()
        var out: [String] = []
        for c in chunks { out += s.feed(Array(c.utf8)) }
        return out + s.finish()
    }

    func testTailLinesAreRenderedAsTheHistoryShowsThem() {
        // Bytes as the real tail gave them for printf 'abc\rxy\n', 'bs ab\bc\n', 'tab\there\n'.
        XCTAssertEqual(lines(["a\r\nb\r\n", "10%\r50%\r100%\r\n", "abc\rxy\r\n", "bs ab\u{8}c\r\n", "tab\there\r\n", "\r     ok\r\n", "part"]),
                       ["a", "b", "100%", "xyc", "bs ac", "tab     here", "     ok", "part"])
    }

    func testACarriageReturnInAWrappedLineGoesBackToItsRow() {
        XCTAssertEqual(lines([String(repeating: "x", count: 130) + "\ry\r\n"]), [String(repeating: "x", count: 120) + "y" + String(repeating: "x", count: 9)])
    }

    func testEscapeSequencesAreDroppedAlsoWhenCutAcrossReads() {
        XCTAssertEqual(lines(["\u{1B}[3", "1m1092 red\u{1B}", "[0m\r\n", "\u{1B}]8;;https://e.com/", "?a=1\u{1B}", "\\link\u{1B}]8;;\u{7}\r\n"]),
                       ["1092 red", "link"])
    }

    func testCutSequencesEndsAreReplacedByTheHistorysLines() {
        // What the real tail made of `printf "\033[31m%d red\033[0m\n"` when a read cut a sequence.
        let streamed = ["line 1", "31m2 red", "line 3", "4 red[0m", "m5 red", "[0m"]
        let history = ["$ typed", "line 0", "line 1", "2 red", "line 3", "4 red", "5 red", "", "line 7"]
        let r = StreamRepair.repair(context: [], streamed: streamed, history: history)
        XCTAssertEqual(r.lines, ["line 1", "2 red", "line 3", "4 red", "5 red", ""])
        XCTAssertTrue(r.reached)
    }

    func testLinesTheTailSwallowedArePutBackAndUTF8Restored() {
        // printf '\xe2\x9d\x8c fail\nnext line\nthird\n'; printf 'é ü € ✓ 日本 ok\n': the real
        // tail dropped the non-ASCII bytes, and 0x9D opened a string that ate three lines.
        let streamed = ["$ bash t.sh", "     ok", "after"]
        let history = ["$ bash t.sh", "❌ fail", "next line", "third", "é ü € ✓ 日本 ok", "after", "ZMX_TASK_COMPLETED:22a2:0"]
        XCTAssertEqual(StreamRepair.repair(context: [], streamed: streamed, history: history).lines, Array(history[0...5]))
        // After the lines already written, the ones lost right after them come back too.
        XCTAssertEqual(StreamRepair.repair(context: ["$ bash t.sh"], streamed: ["     ok", "after"], history: history).lines, Array(history[1...5]))
    }

    func testAStreamThatBeganMidLineGetsTheWholeLine() {
        XCTAssertEqual(StreamRepair.repair(context: [], streamed: ["def", "next"], history: ["abcdef", "next"]).lines, ["abcdef", "next"])
    }

    func testLinesTheHistoryNoLongerHoldsAreKeptAsStreamed() {
        let r = StreamRepair.repair(context: ["x0"], streamed: ["x1", "31mx2", "x3", "x4"], history: ["x3", "x4", "x5"])
        XCTAssertEqual(r.lines, ["x1", "31mx2", "x3", "x4"])
        XCTAssertFalse(r.reached)
        XCTAssertEqual(StreamRepair.repair(context: [], streamed: ["a", "b"], history: ["x", "y", "z"]).lines, ["a", "b"])
        // Lines that only look alike are not taken for each other.
        let far = StreamRepair.repair(context: [], streamed: ["line 255", "31m256 red", "line 257"], history: ["line 19255", "19256 red", "line 19257"])
        XCTAssertEqual(far.lines, ["line 255", "31m256 red", "line 257"])
    }

    func testRepeatedLinesAreNeitherDoubledNorDropped() {
        let h = Array(repeating: "ok", count: 6) + ["done"]
        XCTAssertEqual(StreamRepair.repair(context: ["ok", "ok"], streamed: ["ok", "ok"], history: h).lines, ["ok", "ok"])
        XCTAssertEqual(StreamRepair.repair(context: ["ok"], streamed: ["ok", "ok", "done"], history: ["ok", "ok", "ok", "", "done"]).lines, ["ok", "ok", "", "done"])
    }
    func testALineGluedToALaterOneByASwallowIsReplacedAndWhatWasEatenPutBack() {
        // `❤` (E2 9D A4) opened an OSC string in the real tail's parser: the rest of line
        // 19316 and the lines after it went, until the colour code of 19320 ended the string.
        let history = ["line 19315", "19316 é ✓ ❤ 日本 ok", "line 19317", "line 19318", "line 19319", "19320 red", "line 19321"]
        let streamed = ["line 19315", "19316   19320 red", "line 19321"]
        XCTAssertEqual(StreamRepair.repair(context: [], streamed: streamed, history: history).lines, history)
        // The string ended at the end of a read instead: the next read began mid-line.
        let h2 = ["line 2177", "2178 é ✓ ❤ 日本 ok", "line 2179", "line 2180", "line 2181", "line 2182"]
        XCTAssertEqual(StreamRepair.repair(context: [], streamed: ["line 2177", "2178   ine 2181", "line 2182"], history: h2).lines, h2)
        // A line whose first character opened the string is eaten whole: what is left is the
        // end of a later line (here zmx's prompt, after the marker the tail never showed).
        let h3 = ["last", "❌ fail", "next", "ZMX_TASK_COMPLETED:1b80:1", "ci@host:/w$"]
        XCTAssertEqual(StreamRepair.repair(context: [], streamed: ["last", "$"], history: h3).lines, h3)
    }

    func testALineGluedOverSeveralReadsIsReplacedByAllItTouches() {
        // Three reads: the first ended in 2299's string, the second began at line 2662 and
        // ended in its string, the third is zmx's marker, which the tail never showed apart.
        let history = ["line 2298", "2299 ❤ ok"] + (2300...2661).map { "line \($0)" } + ["2662 ❤ ok", "line 2663", "ZMX_TASK_COMPLETED:739e:0", "ci@host:/w$"]
        let r = StreamRepair.repair(context: ["line 2298"], streamed: ["2299 2662 ZMX_TASK_COMPLETED:739e:0", "ci@host:/w$"], history: history)
        XCTAssertEqual(r.lines, Array(history.dropFirst()))
        XCTAssertEqual(r.unchecked, 0)
        XCTAssertTrue(r.mangled)
        // The string ended by a later colour code, whose reset was then cut by a read.
        let h3 = ["line 19678", "19679 é ✓ ❤ 日本 ok"] + (19680...19683).map { "line \($0)" } + ["19684 red", "line 19685"]
        XCTAssertEqual(StreamRepair.repair(context: [], streamed: ["line 19678", "19679   19684 red[0m", "line 19685"], history: h3).lines, h3)
        // A string that the end of a read ended within its own line: its middle is gone.
        let h2 = ["line 19898", "19899 é ✓ ❤ 日本 ok", "line 19900"]
        XCTAssertEqual(StreamRepair.repair(context: [], streamed: ["line 19898", "19899    ok", "line 19900"], history: h2).lines, h2)
        // A character that opens no string (✓, é) ends no line's text: no glue there.
        XCTAssertEqual(StreamGlue.openers(in: Array("a ✓ é ❤ b ❌ А".utf8)), [4, 7, 8])
    }

    func testALineGluedToOneTheScrollbackNoLongerHoldsKeepsItsStartAndIsMarkedUnchecked() {
        // The stream's first lines left the scrollback; its last such line was cut by a string
        // that ate up to the middle of line 2296, the history's sixth.
        let history = (2291...2300).map { "line \($0)" }
        let r = StreamRepair.repair(context: [], streamed: ["line 1935", "1936 line 2296", "line 2297", "line 2298"], history: history)
        XCTAssertEqual(r.lines, ["line 1935", "1936 "] + (2291...2298).map { "line \($0)" })
        XCTAssertEqual(r.unchecked, 2)
        XCTAssertTrue(r.mangled)
    }

    func testALineThatOnlyLooksGluedIsKeptAsTheBuildPrintedIt() {
        // The build printed the look-alike itself: the history has it, so it stays.
        let history = ["19316 é ✓ ❤ ok", "19316   19320 red", "line 19317", "19320 red"]
        XCTAssertEqual(StreamRepair.repair(context: [], streamed: ["19316   ", "19316   19320 red", "line 19317", "19320 red"], history: history).lines, history)
        // And when the lines between are in the stream, nothing is glued: no line doubled.
        let h2 = ["x ✓ y", "l1", "t z"]
        XCTAssertEqual(StreamRepair.repair(context: [], streamed: ["x   z", "l1", "t z"], history: h2).lines, ["x   z", "l1", "t z"])
    }
}
