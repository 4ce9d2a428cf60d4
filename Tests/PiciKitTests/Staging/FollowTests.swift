import Foundation
import PiciKit
import XCTest

/// Followers (pici-stage(1) "Following"): a running session's output captured whole with
/// `zmx tail`, joined to its history, under a monitor that runs every second.
final class FollowTests: XCTestCase {
    /// 20,000 numbered lines, every 7th in colour, every 1,000th 300 columns wide, after 3 s.
    static let bigStep = #"""
        sleep 3
        seq 1 20000 | awk '{ if ($1 % 1000 == 0) printf "%d %0300d\n", $1, 0; else if ($1 % 7 == 0) printf "\033[31m%d red\033[0m\n", $1; else print "line " $1 }'
        """#

    static func expectedBig() -> String {
        (1...20000).map { i in
            i % 1000 == 0 ? "\(i) " + String(repeating: "0", count: 300) : i % 7 == 0 ? "\(i) red" : "line \(i)"
        }.joined(separator: "\n") + "\n"
    }

    /// A monitor running in the background, as a user would leave one.
    struct Monitor {
        let process: Process
        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    func startMonitor(_ world: Support.ZmxWorld, art: String, out: String) throws -> Monitor {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Support.scriptsDir + "/pici-monitor")
        p.arguments = ["--interval", "1s", "--no-sync", "--artifact-dir", art]
        p.environment = world.env
        if !FileManager.default.fileExists(atPath: out) { XCTAssertTrue(FileManager.default.createFile(atPath: out, contents: nil)) }
        let handle = FileHandle(forWritingAtPath: out)!
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        p.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try p.run()
        addTeardownBlock { if p.isRunning { p.terminate() } }
        return Monitor(process: p)
    }

    /// The followers of job `id` whose artifact dir is `art` (the same test may run in another
    /// checkout at the same time).
    func followers(_ world: Support.ZmxWorld, _ id: String, art: String) -> [String] {
        world.sh("ps -eo args | grep -F -- '--follow ci.demo.\(id).' | grep -F -- '--artifact-dir \(art)' | grep -v grep || true").stdout.split(separator: "\n").map(String.init)
    }

    /// The step of the issue's "done when", with the monitor stopped and started again while
    /// the step waits: its follower outlives the first monitor.
    func testTwentyThousandLinesUnderAMonitorAreAllThereOnceInOrder() throws {
        let world = Support.ZmxWorld(self)
        let base = Support.tempDir(self, "follow")
        let art = base + "/art", out = base + "/status.jsonl"
        let id = "b16b16b1"
        try FollowTests.bigStep.write(toFile: base + "/big.sh", atomically: true, encoding: .utf8)
        let first = try startMonitor(world, art: art, out: out)
        let started = world.sh("""
            zmx run ci.demo.\(id).step.big -d bash '\(base)/big.sh' &&
            zmx run ci.demo.\(id).runner -d bash -c 'sleep 1; ZMX_SESSION_PREFIX=ci.demo.\(id).step. zmx wait big'
            """)
        XCTAssertEqual(started.status, 0, started.stderr)
        Support.waitFor("the step's follower", seconds: 20) { FileManager.default.fileExists(atPath: "\(art)/.pici/follow/ci.demo.\(id).step.big/1/pid") }
        first.stop()
        XCTAssertFalse(followers(world, id, art: art).isEmpty, "the follower ended with the monitor")
        let second = try startMonitor(world, art: art, out: out)
        Support.waitFor("the job's status line", seconds: 90) {
            ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("\"job_id\":\"\(id)\",\"status\":\"success\"")
                || ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("\"status\":\"success\"")
        }
        second.stop()
        let txt = try String(contentsOfFile: "\(art)/demo/\(id)/big.txt", encoding: .utf8)
        let all = txt.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let lines = FollowTests.checkUncheckedNotes(all)
        XCTAssertEqual(lines.count, 20000)
        XCTAssertTrue(lines.joined(separator: "\n") + "\n" == FollowTests.expectedBig(), "the log differs: \(txt.prefix(300))…\(txt.suffix(300))")
        // The burst outran zmx's scrollback: the lines the follower could not check are the
        // tail's text, and the output is coloured, so the log says so after them.
        XCTAssertGreaterThan(all.count - lines.count, 0, "a note")
        let html = try String(contentsOfFile: "\(art)/demo/\(id)/big.html", encoding: .utf8)
        XCTAssertTrue(html.contains("The first \(all.count - 2000) lines are not shown here: <a href=\"big.txt\">the whole log</a>"), String(html.prefix(3000)))
        XCTAssertTrue(html.contains(all[all.count - 2000] + "\n"), "the page starts 2,000 lines from the end")
        XCTAssertFalse(html.contains(all[all.count - 2001] + "\n"))
        XCTAssertTrue(html.contains("20000 " + String(repeating: "0", count: 300)))
        // Nothing left running or behind.
        XCTAssertEqual(followers(world, id, art: art), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(art)/.pici/follow/ci.demo.\(id).step.big"))
    }

    /// A log's lines without its unchecked notes (`LogFragment.uncheckedNote`), each checked to
    /// follow as many lines as it says, since the log's start or the note before.
    static func checkUncheckedNotes(_ lines: [String], file: StaticString = #filePath, line: UInt = #line) -> [String] {
        var out: [String] = []
        var since = 0
        for l in lines {
            guard l.hasPrefix("[pici: the "), l.contains(" above could not be checked against zmx's scrollback") else {
                out.append(l)
                since += 1
                continue
            }
            let n = Int(l.dropFirst("[pici: the ".count).prefix { $0.isNumber }) ?? -1
            XCTAssertTrue(n > 0 && n <= since, "\(l) after \(since) lines", file: file, line: line)
            XCTAssertEqual(l, LogFragment.uncheckedNote(lines: n), file: file, line: line)
            since = 0
        }
        return out
    }

    /// A step started and finished between two passes: zmx's scrollback is all there is; the
    /// log says where rows were lost, and the rest is intact.
    func testAStepFinishedBetweenPassesSaysWhereRowsWereLost() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let id = "5a5a5a5a"
        let ran = world.sh("zmx run ci.demo.\(id).step.quick -d bash -c 'seq 1 5000 | sed \"s/^/line /\"' && zmx run ci.demo.\(id).runner -d true")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        world.waitUntilEnded()
        for _ in 0..<2 { world.sh("pici-monitor --once --no-sync --artifact-dir '\(art)'") }
        let lines = try String(contentsOfFile: "\(art)/demo/\(id)/quick.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, LogFragment.gapNote(rows: nil))
        let numbers = lines.dropFirst().map { Int($0.dropFirst("line ".count)) ?? -1 }
        XCTAssertEqual(numbers.last, 5000)
        XCTAssertGreaterThan(numbers.count, 700)
        XCTAssertEqual(numbers, Array((5001 - numbers.count)...5000), "the rest is intact")
    }

    /// pici-run starts the runner's follower as soon as it has started the runner; a killed
    /// session's follower is ended and its log kept.
    func testPiciRunFollowsTheRunnerAndAKilledSessionsFollowerEnds() throws {
        let world = Support.ZmxWorld(self)
        let base = Support.tempDir(self)
        let art = base + "/art", ws = base + "/ws"
        try FileManager.default.createDirectory(atPath: ws, withIntermediateDirectories: true)
        try "echo runner-started\nzmx run slow -d bash -c 'echo slow-started; sleep 60'\nsleep 60\n".write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        let ran = world.sh("TMPDIR='\(base)' pici-run --artifact-dir '\(art)'", input: #"{"type":"push","name":"demo","workspace":"\#(ws)"}"#)
        XCTAssertEqual(ran.status, 0, ran.stdout + ran.stderr)
        let id = String(ran.stdout.split(separator: "\n").first?.suffix(8) ?? "")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(art)/.pici/follow/ci.demo.\(id).runner"), "no runner follower")
        Support.waitFor("followers of both", seconds: 20) {
            world.sh("pici-monitor --once --no-sync --artifact-dir '\(art)'")
            return self.followers(world, id, art: art).count == 2
                && ((try? String(contentsOfFile: "\(art)/demo/\(id)/slow.txt", encoding: .utf8)) ?? "").contains("slow-started")
        }
        world.sh("zmx kill 'ci.demo.\(id).*'")
        world.sh("pici-monitor --once --no-sync --artifact-dir '\(art)'")
        Support.waitFor("no follower left", seconds: 10) { self.followers(world, id, art: art).isEmpty }
        XCTAssertEqual(FileSystem.list("\(art)/.pici/follow"), [])
        XCTAssertTrue(try String(contentsOfFile: "\(art)/demo/\(id)/slow.txt", encoding: .utf8).hasPrefix("slow-started\n"))
        XCTAssertTrue(try String(contentsOfFile: "\(art)/demo/\(id)/runner.txt", encoding: .utf8).hasPrefix("runner-started\n"))
    }

    /// A follower that has not taken its first history yet knows nothing of what came
    /// before: its capture never replaces a log staged from the history, neither while it
    /// runs nor when its session is killed (the race behind a flaky follow test).
    func testAFollowerWithoutItsFirstHistoryLeavesTheStagedLogAlone() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let id = "d0d0d0d0", session = "ci.demo.d0d0d0d0.step.slow"
        XCTAssertEqual(world.sh("zmx run \(session) -d bash -c 'echo slow-started; sleep 60' >/dev/null && zmx run ci.demo.\(id).runner -d sleep 60 >/dev/null").status, 0)
        Support.waitFor("the step's output", seconds: 10) { world.sh("zmx history \(session)").stdout.contains("slow-started\n") }
        let pass = "pici-list | pici-group | pici-stage --artifact-dir '\(art)' >/dev/null"
        XCTAssertEqual(world.sh("pici-list | pici-group | pici-stage --no-follow --artifact-dir '\(art)' >/dev/null").status, 0)
        XCTAssertEqual(try String(contentsOfFile: "\(art)/demo/\(id)/slow.txt", encoding: .utf8), "slow-started\n")
        // As pici-stage leaves it between claiming a follower and the follower's first history.
        let follow = "\(art)/.pici/follow/\(session)"
        try FileManager.default.createDirectory(atPath: follow + "/1", withIntermediateDirectories: true)
        try "slow\t\(id)\tslow\n".write(toFile: follow + "/meta", atomically: true, encoding: .utf8)
        try "".write(toFile: follow + "/1/stream", atomically: true, encoding: .utf8)
        XCTAssertEqual(world.sh(pass).status, 0)
        XCTAssertEqual(try String(contentsOfFile: "\(art)/demo/\(id)/slow.txt", encoding: .utf8), "slow-started\n", "while it starts")
        world.sh("zmx kill \(session)")
        XCTAssertEqual(world.sh(pass).status, 0)
        XCTAssertEqual(try String(contentsOfFile: "\(art)/demo/\(id)/slow.txt", encoding: .utf8), "slow-started\n", "after the kill")
        XCTAssertFalse(FileManager.default.fileExists(atPath: follow))
        world.sh("zmx kill 'ci.demo.\(id).*'")
    }

    /// Runs passes until the job's status line is out (at most `seconds`).
    func passUntilDone(_ world: Support.ZmxWorld, art: String, id: String, seconds: Double = 60) {
        Support.waitFor("the job's end", seconds: seconds) {
            world.sh("pici-monitor --once --no-sync --artifact-dir '\(art)'").stdout.contains("\"job_id\":\"\(id)\"")
        }
    }

    /// A `zmx tail` that connects seconds after its follower started it (a loaded machine):
    /// the history is taken only once the tail is connected, so no line printed meanwhile is
    /// lost, and none is doubled.
    func testATailThatConnectsLateLosesNoLine() throws {
        let world = Support.ZmxWorld(self, extra: ["ZMX_STANDIN_TAIL_DELAY": "2"])
        let art = Support.tempDir(self, "art")
        let id = "1a7e1a7e"
        let ran = world.sh("""
            zmx run ci.demo.\(id).step.steady -d bash -c 'for i in $(seq 1 300); do echo "line $i"; sleep 0.01; done' &&
            zmx run ci.demo.\(id).runner -d bash -c 'sleep 1; ZMX_SESSION_PREFIX=ci.demo.\(id).step. zmx wait steady'
            """)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        passUntilDone(world, art: art, id: id)
        let txt = try String(contentsOfFile: "\(art)/demo/\(id)/steady.txt", encoding: .utf8)
        XCTAssertEqual(txt, (1...300).map { "line \($0)\n" }.joined())
    }

    /// A tail seen connected only by its first bytes, which come in a burst larger than the
    /// scrollback: the history taken then holds only the burst's end, which the stream has
    /// too; it is not put before the stream (no line doubled), and the log says that what
    /// came before the stream is not known.
    func testAHistoryThatNoLongerReachesTheStreamsStartDoublesNothing() throws {
        let world = Support.ZmxWorld(self, extra: ["ZMX_STANDIN_TAIL_UNLISTED": "1"])
        // The burst comes once the follower runs (and its tail has had time to connect).
        let lines = try burstLog(world, id: "b0b0b0b0", printing: #"seq 1 3000 | sed "s/^/line /""#, after: "pid")
        let body = Array(lines.drop { LogFragment.isGapNote($0) })
        XCTAssertEqual(Set(body).count, body.count, "a line doubled")
        XCTAssertEqual(body, (3001 - body.count...3000).map { "line \($0)" })
        XCTAssertEqual(body.count, 3000, "the tail connected before the burst: it has every line")
        // Most of the burst left the scrollback before a check, but plain ASCII text is what
        // the tail passes unharmed: no note.
        XCTAssertEqual(FollowTests.checkUncheckedNotes(lines), lines)
    }

    /// The `.txt` of step `burst` of job `demo` `id`, which runs `printing` once its follower
    /// has written `after` (its pid, or its head) and the tail has had half a second, under
    /// `pici-monitor --once` passes until the job is published.
    func burstLog(_ world: Support.ZmxWorld, id: String, printing: String, after: String) throws -> [String] {
        let art = Support.tempDir(self, "art")
        let goDir = Support.tempDir(self, "go"), go = goDir + "/go"
        let step = Support.tempDir(self, "step") + "/step.sh"
        try """
            until [ -e \(go) ] || [ ! -d \(goDir) ]; do sleep 0.1; done; sleep 0.5
            \(printing)
            sleep 1

            """.write(toFile: step, atomically: true, encoding: .utf8)
        let ran = world.sh("""
            zmx run ci.demo.\(id).step.burst -d bash '\(step)' &&
            zmx run ci.demo.\(id).runner -d bash -c 'sleep 1; ZMX_SESSION_PREFIX=ci.demo.\(id).step. zmx wait burst'
            """)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        Support.waitFor("the job's end", seconds: 60) {
            if FileManager.default.fileExists(atPath: "\(art)/.pici/follow/ci.demo.\(id).step.burst/1/\(after)") {
                XCTAssertTrue(FileManager.default.createFile(atPath: go, contents: nil))
            }
            return world.sh("pici-monitor --once --no-sync --artifact-dir '\(art)'").stdout.contains("\"job_id\":\"\(id)\"")
        }
        return try String(contentsOfFile: "\(art)/demo/\(id)/burst.txt", encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// A burst that outruns zmx's scrollback, with a character whose UTF-8 opens a string in
    /// zmx tail's parser (❤: its line and those after it, up to the next read, are eaten or
    /// run together): what no history held any more is the tail's text, and the log says so
    /// after it; every line from the first check on is whole and in order.
    func testLinesLeftUncheckedByABurstAreMarkedWhereTheTailManglesTheOutput() throws {
        let world = Support.ZmxWorld(self)
        let lines = try burstLog(
            world, id: "e0e0e0e0", printing: #"seq 1 3000 | awk '{ if ($1 % 11 == 0) printf "%d \342\235\244 ok\n", $1; else print "line " $1 }'"#,
            after: "head")
        let noted = lines.lastIndex { $0.contains(" above could not be checked") }
        XCTAssertNotNil(noted, "no note: \(lines.suffix(5))")
        XCTAssertEqual(FollowTests.checkUncheckedNotes(lines).count, lines.count - 1)
        let checked = Array(lines[((noted ?? 0) + 1)...])
        XCTAssertGreaterThan(checked.count, 100)
        let expected = (1...3000).map { $0 % 11 == 0 ? "\($0) ❤ ok" : "line \($0)" }
        XCTAssertEqual(checked, Array(expected.suffix(checked.count)), "checked lines are whole")
    }

    /// What the real zmx tail makes of coloured and non-ASCII output (the stand-in cuts its
    /// chunks every 101 bytes here, leaving the ends of cut sequences as text, and drops every
    /// byte above 0x7F, as the real one does): the log has the lines as zmx's history has them.
    func testTheLogHasTheLinesAsTheHistoryHasThemNotAsTheTailMangledThem() throws {
        let world = Support.ZmxWorld(self, extra: ["ZMX_STANDIN_TAIL_CUT": "101"])
        let art = Support.tempDir(self, "art")
        let id = "7a117a11"
        let step = #"sleep 1.5; for i in $(seq 1 200); do printf '\033[31m%d red\033[0m é ✓ \033[1mbold\033[0m\n' $i; if [ $((i % 20)) = 0 ]; then sleep 0.1; fi; done; printf '\xe2\x9d\x8c fail\nnext\n[31mliteral[0m 1m\n'; sleep 0.5"#
        try startStep(world, id: id, step: "colour", script: step)
        passUntilDone(world, art: art, id: id)
        let txt = try String(contentsOfFile: "\(art)/demo/\(id)/colour.txt", encoding: .utf8)
        XCTAssertEqual(txt, (1...200).map { "\($0) red é ✓ bold\n" }.joined() + "❌ fail\nnext\n[31mliteral[0m 1m\n")
    }

    /// Job `id` of demo: a step that runs `script`, and a runner that waits for it.
    func startStep(_ world: Support.ZmxWorld, id: String, step: String, script: String) throws {
        let path = Support.tempDir(self, "step") + "/step.sh"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let ran = world.sh("""
            zmx run ci.demo.\(id).step.\(step) -d bash '\(path)' &&
            zmx run ci.demo.\(id).runner -d bash -c 'sleep 1; ZMX_SESSION_PREFIX=ci.demo.\(id).step. zmx wait \(step)'
            """)
        XCTAssertEqual(ran.status, 0, ran.stderr)
    }

    /// zmx's plain `history` drops each row's trailing blanks, a wrapped row's too (as the
    /// real zmx 0.7 does, and the stand-in now): a line wrapped at a blank, or ending in
    /// blanks, is still one line, as printed, before the tail connected and after.
    func testALineWrappedAtABlankIsOneLineInAFollowedLog() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let id = "b1a4cb1a"
        let step = "printf '%0119d %s\\n' 0 head-after-blank; printf 'head-blanks   \\n'; sleep 3; "
            + "printf '%0119d %s\\n' 0 tail-after-blank; printf 'tail-blanks   \\n'; sleep 1.5"
        try startStep(world, id: id, step: "blank", script: step)
        // The first pass starts the follower while the step sleeps: the first two lines come
        // from its history, the last two from its tail, checked against later histories.
        Support.waitFor("a follower", seconds: 20) {
            world.sh("pici-monitor --once --no-sync --artifact-dir '\(art)'")
            return FileManager.default.fileExists(atPath: "\(art)/.pici/follow/ci.demo.\(id).step.blank")
        }
        passUntilDone(world, art: art, id: id)
        let zeros = String(repeating: "0", count: 119)
        let txt = try String(contentsOfFile: "\(art)/demo/\(id)/blank.txt", encoding: .utf8)
        XCTAssertEqual(txt, "\(zeros) head-after-blank\nhead-blanks   \n\(zeros) tail-after-blank\ntail-blanks   \n")
    }

    /// Once its follower runs, a running session costs no zmx call per pass: its follower
    /// made one `zmx tail` and one `zmx history` (and looked at `zmx list` for the tail's
    /// connection), and the passes none but their `zmx list` after the first.
    func testAFollowedSessionCostsNoZmxCallPerPass() throws {
        let calls = Support.tempDir(self) + "/calls"
        let world = Support.ZmxWorld(self, extra: ["ZMX_CALL_LOG": calls])
        let art = Support.tempDir(self, "art")
        let id = "c0c0c0c0"
        XCTAssertEqual(world.sh("zmx run ci.demo.\(id).step.slow -d bash -c 'echo one; sleep 30' >/dev/null").status, 0)
        let pass = "pici-list | pici-group | pici-stage --artifact-dir '\(art)' >/dev/null"
        XCTAssertEqual(world.sh(pass).status, 0)
        Support.waitFor("the follower's history", seconds: 10) { FileManager.default.fileExists(atPath: "\(art)/.pici/follow/ci.demo.\(id).step.slow/1/head") }
        let before = ((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "").split(separator: "\n").count
        for _ in 0..<3 { XCTAssertEqual(world.sh(pass).status, 0) }
        let log = ((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        XCTAssertEqual(log.filter { $0.hasPrefix("history ") }, ["history ci.demo.\(id).step.slow --html", "history ci.demo.\(id).step.slow --html"], "the pass's and the follower's")
        XCTAssertEqual(log.filter { $0.hasPrefix("tail ") }, ["tail ci.demo.\(id).step.slow"])
        XCTAssertEqual(Array(log[before...]), ["list", "list", "list"], "the passes after the first")
        XCTAssertEqual(try String(contentsOfFile: "\(art)/demo/\(id)/slow.txt", encoding: .utf8), "one\n")
        world.sh("zmx kill ci.demo.\(id).step.slow")
        Support.waitFor("the follower to end", seconds: 10) { self.followers(world, id, art: art).isEmpty }
    }

    /// Followers started by one pass share their looks at `zmx list` (the real zmx asks every
    /// session's daemon for each): the pass's listing is their count before, and one listing
    /// taken after their tails started proves them all connected. Each listed twice for
    /// itself before (12 listings for 6 sessions).
    func testFollowersStartedByOnePassShareTheirListings() throws {
        let calls = Support.tempDir(self) + "/calls"
        let world = Support.ZmxWorld(self, extra: ["ZMX_CALL_LOG": calls])
        let art = Support.tempDir(self, "art")
        let id = "5a5a5a5a"
        let steps = (1...6).map { "ci.demo.\(id).step.s\($0)" }
        for step in steps { XCTAssertEqual(world.sh("zmx run \(step) -d bash -c 'echo one; sleep 30' >/dev/null").status, 0) }
        XCTAssertEqual(world.sh("pici-list | pici-group | pici-stage --artifact-dir '\(art)' >/dev/null").status, 0)
        Support.waitFor("every follower's history", seconds: 20) {
            steps.allSatisfy { FileManager.default.fileExists(atPath: "\(art)/.pici/follow/\($0)/1/head") }
        }
        let log = ((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        XCTAssertEqual(log.filter { $0.hasPrefix("tail ") }.count, 6)
        // The pass's own listing, and the followers' (one, or a few on a loaded machine).
        XCTAssertLessThan(log.filter { $0 == "list" }.count, 1 + 6, "\(log)")
        for step in steps { world.sh("zmx kill \(step)") }
        Support.waitFor("the followers to end", seconds: 10) { self.followers(world, id, art: art).isEmpty }
    }
}
