import PiciKit
import XCTest

/// LogCleaner: only the build's output out of what zmx shows (pici-stage(1), "Only the
/// build's output").
final class LogCleanerTests: XCTestCase {
    let typed = "bash -c 'echo hello; exit 3'; echo ZMX_TASK_COMPLETED:dbd4:$?"

    /// ZMX.md's own example, as the real zmx 0.7 prints it.
    func testDropsTypedLinePromptMarkerAndFinalPrompt() {
        let history = """
            \(typed)
            ci@buildhost:/srv/ci/work$ \(typed)
            hello
            ZMX_TASK_COMPLETED:dbd4:3
            ci@buildhost:/srv/ci/work$

            """
        let c = LogCleaner.clean(history: history, exitCode: 3)
        XCTAssertEqual(c.lines, ["hello"])
        XCTAssertEqual(c.hex, "dbd4")
        XCTAssertTrue(c.headFound)
        XCTAssertTrue(c.markerFound)
        XCTAssertFalse(c.headLost)
    }

    func testGluedLastLineKeepsTheBuildsPart() {
        let history = "\(typed)\nroot@vm:/tmp# \(typed)\nno newline at endZMX_TASK_COMPLETED:dbd4:0\nroot@vm:/tmp#\n"
        XCTAssertEqual(LogCleaner.clean(history: history).lines, ["no newline at end"])
    }

    func testLookAlikeMarkersOfTheBuildAreKept() {
        let history = """
            \(typed)
            $ \(typed)
            ZMX_TASK_COMPLETED:beef:0
            echo ZMX_TASK_COMPLETED:dbd4:$?
            x ZMX_TASK_COMPLETED:dbd4:7 y
            ZMX_TASK_COMPLETED:dbd4:1
            $

            """
        XCTAssertEqual(
            LogCleaner.clean(history: history, exitCode: 1).lines,
            ["ZMX_TASK_COMPLETED:beef:0", "echo ZMX_TASK_COMPLETED:dbd4:$?", "x ZMX_TASK_COMPLETED:dbd4:7 y"])
    }

    /// The typed line's echo is dropped after a prompt of at most 256 bytes; after a longer
    /// one, the line is the build's.
    func testTheEchosPromptIsAtMost256Bytes() {
        for (length, dropped) in [(255, true), (256, true), (257, false)] {
            let echo = String(repeating: "p", count: length) + typed
            let c = LogCleaner.clean([typed, echo, "out"])
            XCTAssertEqual(c.lines, dropped ? ["out"] : [echo, "out"], "a prompt of \(length) bytes")
            XCTAssertTrue(c.headFound)
        }
    }

    /// A marker's code has at most ten digits: with eleven, the line is the build's.
    func testAMarkersCodeHasAtMostTenDigits() {
        for (code, isMarker) in [("0", true), ("0000000000", true), ("00000000000", false)] {
            let lines = ["out", "ZMX_TASK_COMPLETED:dbd4:" + code, "$"]
            XCTAssertEqual(LogCleaner.clean(lines, hex: "dbd4").lines, isMarker ? ["out"] : lines, "code \(code)")
        }
    }

    func testTypedLineWrappedOverSeveralRows() {
        let long = "bash -c 'echo " + String(repeating: "x", count: 200) + "'; echo ZMX_TASK_COMPLETED:a1b2:$?"
        let prompted = "root@vm:/tmp/pici-ABCDEF# " + long
        let rows = chunks(long) + chunks(prompted) + ["out", "ZMX_TASK_COMPLETED:a1b2:0", "root@vm:/tmp/pici-ABCDEF#"]
        let c = LogCleaner.clean(LogCleaner.unwrap(rows))
        XCTAssertEqual(c.lines, ["out"])
        XCTAssertEqual(c.hex, "a1b2")
    }

    /// A typed line exactly 240 columns wide: its last row is full, so unwrap joins the
    /// prompt line to it; the head is split there again.
    func testTypedLineFillingItsLastRow() {
        var long = "echo " + String(repeating: "y", count: 240)
        let tail = "; echo ZMX_TASK_COMPLETED:0f0f:$?"
        long = String(long.prefix(240 - tail.count)) + tail
        XCTAssertEqual(long.count, 240)
        let rows = chunks(long) + chunks("$ " + long) + ["first line of output", "ZMX_TASK_COMPLETED:0f0f:0", "$"]
        XCTAssertEqual(LogCleaner.clean(LogCleaner.unwrap(rows)).lines, ["first line of output"])
    }

    /// The marker itself wrapped: the build's last line filled its row but for five columns.
    func testMarkerWrappedAcrossRows() {
        let last = String(repeating: "z", count: 115)
        let rows = [typed, "$ " + typed] + chunks(last + "ZMX_TASK_COMPLETED:dbd4:0") + ["$"]
        XCTAssertEqual(rows.count, 5)
        XCTAssertEqual(LogCleaner.clean(LogCleaner.unwrap(rows)).lines, [last])
    }

    /// The head scrolled out of zmx's scrollback: the hex is unknown, so only a marker with
    /// the session's exit code, at the very end, before a prompt, is taken.
    func testWithoutTheHeadOnlyTheFinalMarkerWithTheExitCode() {
        let lines = ["line 4254", "line 5000", "ZMX_TASK_COMPLETED:9c9c:2", "root@vm:~#"]
        let c = LogCleaner.clean(lines, exitCode: 2)
        XCTAssertEqual(c.lines, ["line 4254", "line 5000"])
        XCTAssertTrue(c.headLost)
        // Another code, a build line after it, or a running session: left as it is.
        XCTAssertEqual(LogCleaner.clean(lines, exitCode: 0).lines, lines)
        XCTAssertEqual(LogCleaner.clean(lines + ["more output"], exitCode: 2).lines, lines + ["more output"])
        XCTAssertEqual(LogCleaner.clean(lines).lines, lines)
        XCTAssertFalse(LogCleaner.clean(lines).headLost)
        // A hex seen before (the follower's first look) is enough.
        XCTAssertEqual(LogCleaner.clean(lines, hex: "9c9c").lines, ["line 4254", "line 5000"])
    }

    func testUnrecognisedSessionIsLeftAlone() {
        let lines = ["$ make", "cc -o x x.c", "$"]
        XCTAssertEqual(LogCleaner.clean(lines, exitCode: 0), LogCleaner.Cleaned(lines: lines, hex: nil, headFound: false, markerFound: false))
        XCTAssertEqual(LogCleaner.clean([]).lines, [])
    }

    /// A running session: the head goes, nothing else (there is no marker yet).
    func testRunningSession() {
        let c = LogCleaner.clean([typed, "$ " + typed, "step 1", "step 2"])
        XCTAssertEqual(c.lines, ["step 1", "step 2"])
        XCTAssertFalse(c.markerFound)
    }

    func testUnwrapJoinsFullRowsOnly() {
        let full = String(repeating: "a", count: 120)
        XCTAssertEqual(LogCleaner.unwrap([full, full, "b", "c"]), [full + full + "b", "c"])
        XCTAssertEqual(LogCleaner.unwrap([String(repeating: "a", count: 119), "b"]), [String(repeating: "a", count: 119), "b"])
        XCTAssertEqual(LogCleaner.unwrap([full]), [full])
        // Wide characters take two columns: 60 of them fill a row.
        let wide = String(repeating: "漢", count: 60)
        XCTAssertEqual(LogCleaner.unwrap([wide, "x"]), [wide + "x"])
    }

    private func chunks(_ s: String) -> [String] {
        var out: [String] = []
        var rest = Substring(s)
        while !rest.isEmpty {
            out.append(String(rest.prefix(LogCleaner.columns)))
            rest = rest.dropFirst(LogCleaner.columns)
        }
        return out
    }

    /// With the hex known, the marker is looked for from the last line up, each line's end
    /// first: lines ending in every way (a digit, blanks or CR after it, look-alike markers
    /// with another hex or no code) give what a look at every whole line gives.
    func testTheMarkerIsFoundWhereverItEndsALine() {
        let pieces = [
            "ok", "line 12", "ZMX_TASK_COMPLETED:dbd4:0", "ZMX_TASK_COMPLETED:dbd4:17  ", "ZMX_TASK_COMPLETED:dbd4:3\r",
            "ZMX_TASK_COMPLETED:beef:0", "ZMX_TASK_COMPLETED:dbd4:", "ZMX_TASK_COMPLETED:dbd4:x1", "echo ZMX_TASK_COMPLETED:dbd4:$?",
            " ", "\r", "$ ", "9", "é 7",
        ]
        var seed: UInt64 = 0x94D0_49BB_1331_11EB
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        for _ in 0..<3000 {
            let lines = (0..<(1 + next(6))).map { _ in (0..<(1 + next(3))).map { _ in pieces[next(pieces.count)] }.joined() }
            var stripped = lines
            let found = LogCleaner.stripMarker(&stripped, hex: "dbd4", exitCode: nil)
            // The definition: the last line whose end is a marker of this hex is cut there.
            var expected = lines, expectedFound = false
            for i in lines.indices.reversed() {
                var end = lines[i].endIndex
                while end > lines[i].startIndex, [" ", "\r"].contains(lines[i][lines[i].index(before: end)]) { end = lines[i].index(before: end) }
                let body = lines[i][..<end]
                guard let colon = body.lastIndex(of: ":"), body[body.index(after: colon)...].allSatisfy(\.isASCII),
                      !body[body.index(after: colon)...].isEmpty, body[body.index(after: colon)...].allSatisfy({ $0.isNumber }),
                      body[..<colon].hasSuffix("ZMX_TASK_COMPLETED:dbd4") else { continue }
                let start = body[..<colon].range(of: "ZMX_TASK_COMPLETED:dbd4", options: .backwards)!.lowerBound
                expected = Array(lines[..<i])
                if start > lines[i].startIndex { expected.append(String(lines[i][..<start])) }
                expectedFound = true
                break
            }
            XCTAssertEqual(found, expectedFound, "\(lines)")
            XCTAssertEqual(stripped, expected, "\(lines)")
        }
    }
}
