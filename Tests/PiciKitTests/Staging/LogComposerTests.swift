import Foundation
import XCTest
@testable import PiciKit

/// The joining of a follower's history and stream (pici-stage(1) "Following").
final class LogComposerTests: XCTestCase {
    func testOverlap() {
        XCTAssertEqual(LogComposer.overlap(["a", "b", "c"][...], ["b", "c", "d"]).k, 2)
        XCTAssertEqual(LogComposer.overlap(["a", "b"][...], ["c"]).k, 0)
        XCTAssertEqual(LogComposer.overlap([][...], ["c"]).k, 0)
        // The history was taken mid-line: its last line is the start of the stream's.
        let partial = LogComposer.overlap(["a", "b", "hal"][...], ["b", "half a line", "next"])
        XCTAssertEqual(partial.k, 2)
        XCTAssertTrue(partial.replaceLast)
        // Repeated lines: the largest overlap.
        XCTAssertEqual(LogComposer.overlap(["x", "x", "x"][...], ["x", "x", "y"]).k, 2)
    }

    /// Composes `head` and `stream` as a follower left them; returns the file and the page lines.
    func compose(_ generations: [(head: String?, stream: String)], history: [String]? = nil, exitCode: Int? = 0) throws -> (text: String, lines: [String]) {
        let dir = Support.tempDir(self)
        let out = dir + "/out.txt"
        let file = try AtomicFile(out)
        var c = LogComposer(fd: file.fd, hex: nil)
        for (i, g) in generations.enumerated() {
            let head = g.head.map { LogCleaner.rows($0) } ?? []
            if i == 0, let first = head.first { c.headLost = LogCleaner.typedLineEnd(Array(first.utf8)) == nil }
            c.add(head, gapIfNoOverlap: i > 0)
            try g.stream.write(toFile: dir + "/stream\(i)", atomically: true, encoding: .utf8)
            c.add(streamFile: dir + "/stream\(i)", gapIfNoOverlap: false)
        }
        if let history, !c.endsWithMarker(exitCode: exitCode) { c.add(history, gapIfNoOverlap: true) }
        let end = c.finish(exitCode: exitCode)
        XCTAssertEqual(end.error, 0)
        try file.commit()
        return (try String(contentsOfFile: out, encoding: .utf8), end.lines)
    }

    let typed = "bash step.sh; echo ZMX_TASK_COMPLETED:ab12:$?"

    func testHeadAndStreamJoinedWithoutDoublingALine() throws {
        let head = "\(typed)\n$ \(typed)\none\ntwo\nthr\n"
        let stream = "two\nthree\nfour\nZMX_TASK_COMPLETED:ab12:0\n$\n"
        let r = try compose([(head, stream)])
        XCTAssertEqual(r.text, "one\ntwo\nthree\nfour\n")
        XCTAssertEqual(r.lines, ["one", "two", "three", "four"])
    }

    func testAStreamThatStartedBeforeTheEchoIsCleanedToo() throws {
        let r = try compose([("", "\(typed)\n$ \(typed)\nout\nZMX_TASK_COMPLETED:ab12:0\n")])
        XCTAssertEqual(r.text, "out\n")
    }

    /// A follower that died, and another started later: where their captures do not meet,
    /// the log says so.
    func testARestartedFollowerThatMissedRowsLeavesANote() throws {
        let r = try compose([
            ("\(typed)\n$ \(typed)\n1\n", "1\n2\n"),
            ("5\n6\n", "6\n7\nZMX_TASK_COMPLETED:ab12:0\n"),
        ])
        XCTAssertEqual(r.text, "1\n2\n\(LogFragment.gapNote(rows: nil))\n5\n6\n7\n")
        // And where they do meet, nothing is said and nothing doubled.
        let joined = try compose([
            ("\(typed)\n$ \(typed)\n1\n", "1\n2\n"),
            ("1\n2\n3\n", "3\n4\nZMX_TASK_COMPLETED:ab12:0\n"),
        ])
        XCTAssertEqual(joined.text, "1\n2\n3\n4\n")
    }

    /// A head taken before the tail was proven connected: the bridge (the history taken at the
    /// stream's first bytes) joins the two, or the log says where rows were lost.
    func testABridgeJoinsAHeadTakenBeforeTheTailConnectedOrTheGapIsNoted() throws {
        func bridged(_ head: String, _ bridge: String, _ stream: String) throws -> String {
            let dir = Support.tempDir(self)
            let file = try AtomicFile(dir + "/out.txt")
            var c = LogComposer(fd: file.fd, hex: nil)
            c.add(LogCleaner.rows(head), gapIfNoOverlap: false)
            c.add(LogCleaner.rows(bridge), gapIfNoOverlap: true)
            try stream.write(toFile: dir + "/stream", atomically: true, encoding: .utf8)
            c.add(streamFile: dir + "/stream", gapIfNoOverlap: true)
            XCTAssertEqual(c.finish(exitCode: 0).error, 0)
            try file.commit()
            return try String(contentsOfFile: dir + "/out.txt", encoding: .utf8)
        }
        let head = "\(typed)\n$ \(typed)\n1\n2\n"
        let gap = LogFragment.gapNote(rows: nil)
        // 3 and 4 came before the tail connected: only the bridge has them.
        XCTAssertEqual(try bridged(head, "1\n2\n3\n4\n5\n", "5\n6\nZMX_TASK_COMPLETED:ab12:0\n"), "1\n2\n3\n4\n5\n6\n")
        // More than the scrollback came meanwhile: the bridge does not reach back to the head.
        XCTAssertEqual(try bridged(head, "800\n801\n", "801\n802\nZMX_TASK_COMPLETED:ab12:0\n"), "1\n2\n\(gap)\n800\n801\n802\n")
        // A stream that does not begin inside its bridge lost rows too.
        XCTAssertEqual(try bridged(head, "1\n2\n", "9\nZMX_TASK_COMPLETED:ab12:0\n"), "1\n2\n\(gap)\n9\n")
    }

    /// The follower was killed before the end: the last history gives the rest.
    func testTheLastHistoryGivesWhatTheStreamMissed() throws {
        let r = try compose([("\(typed)\n$ \(typed)\n", "1\n2\n")], history: ["1", "2", "3", "ZMX_TASK_COMPLETED:ab12:0", "$"])
        XCTAssertEqual(r.text, "1\n2\n3\n")
        // A stream that saw the end takes nothing from the history.
        let whole = try compose([("\(typed)\n$ \(typed)\n", "1\nZMX_TASK_COMPLETED:ab12:0\n")], history: ["other", "ZMX_TASK_COMPLETED:ab12:0"])
        XCTAssertEqual(whole.text, "1\n")
    }

    /// The stream's last lines damaged by zmx tail (a `❌` ate its line and the marker): the
    /// last history joins the log where it holds the lines before them and stands in for them,
    /// with no gap note and nothing doubled (a clean CI run's log had the whole history again).
    func testTheLastHistoryStandsInForADamagedEndOfTheStream() throws {
        let r = try compose([("\(typed)\n$ \(typed)\n", "1\n2\n3\n\n")],
                            history: [typed, "$ \(typed)", "1", "2", "3", "❌ fail", "next", "ZMX_TASK_COMPLETED:ab12:0", "$"])
        XCTAssertEqual(r.text, "1\n2\n3\n❌ fail\nnext\n")
        // Where the history does not reach back to them, the gap is still said.
        let far = try compose([("\(typed)\n$ \(typed)\n", "1\n2\n3\n\n")], history: ["800", "801", "ZMX_TASK_COMPLETED:ab12:0"])
        XCTAssertEqual(far.text, "1\n2\n3\n\n\(LogFragment.gapNote(rows: nil))\n800\n801\n")
    }

    func testAHeadThatScrolledOutIsNoted() throws {
        let r = try compose([("line 4000\nline 4001\n", "line 4002\nZMX_TASK_COMPLETED:ab12:0\n")], exitCode: 0)
        XCTAssertEqual(r.text, "\(LogFragment.gapNote(rows: nil))\nline 4000\nline 4001\nline 4002\n")
    }

    /// More lines than the page holds: written as they come, the last 2,000 kept.
    func testALongStreamIsWrittenWhole() throws {
        let body = (1...5000).map { "n\($0)" }
        let r = try compose([("\(typed)\n$ \(typed)\n", body.joined(separator: "\n") + "\nZMX_TASK_COMPLETED:ab12:0\n$\n")])
        XCTAssertEqual(r.text, body.joined(separator: "\n") + "\n")
        XCTAssertEqual(r.lines, Array(body.suffix(2000)))
    }

    /// A stream file is composed as its lines given one by one would be: the same file, the
    /// same lines left for the page and for the next generation to join (a long stream's
    /// lines are not each made a String; `LogComposer.addRest`). Random heads and streams of
    /// up to 16,000 lines: around the page's 2,000 and the 64 KB writes, lines of 100 and 300 KB,
    /// lines ending in CR, UTF-8 and bytes that are not, a second generation overlapping or not.
    func testAStreamFileIsComposedAsItsLinesWouldBe() throws {
        try composeBothWays(rounds: 36, seed: 0x5EED_10C5)
    }

    /// And masked as its lines would be (a secret in one line in twenty): none is left.
    func testAStreamFileIsMaskedAsItsLinesWouldBe() throws {
        let secret = "hunter2-s3cret"
        let before = Masking.active
        defer { Masking.active = before }
        Masking.active = try Masker(secrets: [secret])
        let texts = try composeBothWays(rounds: 8, seed: 0x5EC2E7, secret: secret)
        for text in texts { XCTAssertFalse(String(decoding: text, as: UTF8.self).contains(secret)) }
        XCTAssertTrue(texts.contains { String(decoding: $0, as: UTF8.self).contains("***") }, "the test can fail")
    }

    /// Composes random heads and streams from the stream files and from their lines; checks
    /// that both give the same; returns the files.
    @discardableResult
    func composeBothWays(rounds: Int, seed: UInt64, secret: String? = nil) throws -> [[UInt8]] {
        var random = SeededRandom(seed: seed)
        let dir = Support.tempDir(self)
        var texts: [[UInt8]] = []
        // UTF-8 without CRs is copied a run at a time, the rest line by line.
        enum Kind { case plain, utf8, crs, mixed }
        func line(_ random: inout SeededRandom, _ kind: Kind) -> [UInt8] {
            if random.below(3_000) == 0 { return Array(repeating: UInt8(ascii: "x"), count: random.pick([100_000, 100_000, 300_000])) }
            let n = random.below(100)
            if let secret, random.chance(5) { return Array("token \(secret) used".utf8) }
            let kept = switch kind {
            case .plain: false
            case .utf8: n <= 3
            case .crs: n >= 6 && n <= 8
            case .mixed: true
            }
            switch kept ? n : 99 {
            case 0...3: return Array("caf\u{E9} \u{2764}".utf8)
            case 4...5: return [0x61, 0xFF, 0xFE, 0x62]
            case 6...8: return Array("cr\r".utf8)
            case 9...11: return []
            default: return Array("\(random.below(50)) \(String(repeating: "o", count: random.below(90)))".utf8)
            }
        }
        // As the composer reads a line of a file: without a CR before the newline, repaired.
        func text(_ bytes: [UInt8]) -> String {
            String(decoding: bytes.last == 0x0D ? bytes.dropLast() : bytes[...], as: UTF8.self)
        }
        for round in 0..<rounds {
            let kind = [Kind.plain, .utf8, .crs, .mixed][round % 4]
            // Around each place where the window is flushed (every 9 lines past 2,008).
            let sizes = [0, 1, 5, 1_990] + [2_000, 4_000, 6_000, 16_000].map { $0 + random.below(18) }
            let head = (0..<random.pick([0, 3, 700, 2_500])).map { _ in text(line(&random, kind)) }
            // A first line no line before it ends as, so that both read it after the head.
            var streams: [[[UInt8]]] = []
            for g in 0..<2 {
                var lines = [Array("stream \(g) of round \(round)".utf8)]
                lines += (0..<random.pick(sizes)).map { _ in line(&random, kind) }
                streams.append(lines)
            }
            // The second generation's head repeats the end of the first stream, or not; it
            // joins only if the window holds all it repeats (2,000 to 2,008 lines are held).
            let repeated = streams[0].suffix(random.pick([0, 4, 2_000 + random.below(10)])).map(text)
            let head2 = repeated + ["after \(round)"]
            var results: [(text: [UInt8], lines: [String], written: Int, held: [Int])] = []
            for fromFile in [false, true] {
                let file = try AtomicFile(dir + "/out-\(fromFile)")
                var c = LogComposer(fd: file.fd, hex: nil)
                var held: [Int] = []
                c.headLost = round % 3 == 0
                for (g, stream) in streams.enumerated() {
                    c.add(g == 0 ? head : head2, gapIfNoOverlap: g > 0)
                    if fromFile {
                        var bytes: [UInt8] = []
                        for l in stream { bytes += l + [0x0A] }
                        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/stream"))
                        c.add(streamFile: dir + "/stream", gapIfNoOverlap: false)
                    } else {
                        c.add(stream.map(text), gapIfNoOverlap: false)
                    }
                    held.append(c.count)
                }
                let end = c.finish(exitCode: 0)
                XCTAssertEqual(end.error, 0)
                try file.commit()
                results.append((Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/out-\(fromFile)"))), end.lines, c.written, held))
            }
            XCTAssertEqual(results[1].held, results[0].held, "round \(round): lines held after each stream")
            XCTAssertEqual(results[1].written, results[0].written, "round \(round)")
            XCTAssertEqual(results[1].lines, results[0].lines, "round \(round)")
            XCTAssertTrue(results[1].text == results[0].text, "round \(round): the files differ")
            texts.append(results[1].text)
        }
        return texts
    }
}
