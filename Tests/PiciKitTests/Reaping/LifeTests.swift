import Foundation
import XCTest
@testable import PiciKit

/// A job's whole life end to end, through pici-run and pici-monitor against the stand-in zmx:
/// deadlines, cleanup after --keep, gc's reports, --retain and --rerun.
final class LifeTests: XCTestCase {
    struct World {
        let zmx: Support.ZmxWorld
        let tmp: String
        let art: String
        let out: String
        let calls: String
        func sh(_ script: String, input: String = "") -> Support.Ran {
            zmx.sh("export TMPDIR='\(tmp)'\n" + script, input: input)
        }
        @discardableResult
        func pass(_ flags: String = "") -> Support.Ran {
            sh("pici-monitor --once --no-sync --artifact-dir '\(art)' \(flags) >> '\(out)'")
        }
        var lines: [[String: Any]] { Support.jsonLines((try? String(contentsOfFile: out, encoding: .utf8)) ?? "") }
        func lines(_ id: String) -> [[String: Any]] { lines.filter { $0["job_id"] as? String == id } }
        var workspaces: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).filter { $0.hasPrefix("pici-") } }
        var sessions: [String] {
            sh("zmx list 2>/dev/null").stdout.split(separator: "\n").compactMap { l in
                l.split(separator: "\t").first.map { String($0.dropFirst(2).dropFirst("name=".count)) }
            }
        }
        var callLog: [String] { ((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        func run(_ event: String, _ flags: String = "") -> (ran: Support.Ran, id: String) {
            let ran = sh("pici-run --artifact-dir '\(art)' \(flags)", input: event)
            let id = ran.stdout.split(separator: "\n").first { $0.hasPrefix("starting job ci.") }.map { String($0.suffix(8)) } ?? "none"
            return (ran, id)
        }
        /// Passes every `interval` seconds until `ids` are all published (or `seconds` pass).
        func passUntilPublished(_ ids: [String], flags: String = "", interval: Double = 0.5, seconds: Double = 40) {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                pass(flags)
                let done = Set(lines.filter { ($0["status"] as? String) != "running" }.compactMap { $0["job_id"] as? String })
                if ids.allSatisfy(done.contains) { return }
                usleep(useconds_t(interval * 1_000_000))
            }
        }
    }

    func world() -> World {
        let base = Support.tempDir(self, "life")
        let calls = base + "/calls"
        return World(zmx: Support.ZmxWorld(self, extra: ["ZMX_CALL_LOG": calls]), tmp: Support.tempDir(self, "tmp"), art: base + "/D", out: base + "/status.jsonl", calls: calls)
    }

    func workspace(_ pico: String?) -> String {
        let dir = Support.tempDir(self, "ws")
        if let pico { try! pico.write(toFile: dir + "/pico.sh", atomically: true, encoding: .utf8) }
        return dir
    }

    func event(_ name: String, _ ws: String, _ extra: String = "") -> String {
        #"{"type":"push","name":"\#(name)","workspace":"\#(ws)"\#(extra)}"#
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static let slow = "zmx run slow -d bash -c 'echo before-the-deadline; sleep 60'\nzmx wait '*'\n"
    static let quick = "zmx run ok -d echo fine\nzmx wait '*'\n"
    static let failing = "zmx run bad -d bash -c 'echo broken; exit 3'\nzmx wait '*'\n"

    // MARK: deadlines

    func testAJobPastItsTimeoutIsKilledAndPublishedOnceAsTimeoutWithinOneInterval() throws {
        let w = world()
        let (ran, id) = w.run(event("demo", workspace(LifeTests.slow), #","timeout":"3s""#))
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let launch = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(w.art)/.pici/launch/demo.\(id).json"))) as? [String: Any]
        XCTAssertEqual(launch?["timeout_ms"] as? Int, 3000, "the deadline is recorded at launch")

        // Passes 1 s apart, as a monitor's; the longest pass is part of "one interval" on a
        // loaded machine (the pass that sees the deadline publishes as it ends).
        var longestPass = 0.0
        let until = Date().addingTimeInterval(40)
        while w.lines(id).isEmpty && Date() < until {
            let began = Date()
            w.pass()
            longestPass = max(longestPass, Date().timeIntervalSince(began))
            usleep(1_000_000)
        }
        for _ in 0..<2 { w.pass() }
        let mine = w.lines(id)
        XCTAssertEqual(mine.count, 1, "\(mine)")
        guard let line = mine.first else { return }
        XCTAssertEqual(line["status"] as? String, "timeout")
        XCTAssertEqual(line["exit_code"] as? Int, 124)
        XCTAssertEqual(line["reason"] as? String, "timed out after 3s")
        // Within 3 s and one interval (1 s) of its start, give or take zmx's whole seconds.
        let started = TimeFormat.parseRFC3339(line["started_at"] as? String ?? "") ?? 0
        let published = TimeFormat.parseRFC3339(line["timestamp"] as? String ?? "") ?? 0
        XCTAssertLessThanOrEqual(Double(published - started), 3 + 1 + 1 + longestPass.rounded(.up), "\(line)")
        XCTAssertFalse(w.sessions.contains { $0.hasPrefix("ci.demo.\(id).") }, "\(w.sessions)")
        // The logs up to the kill are kept, and the page says why.
        XCTAssertTrue(read("\(w.art)/demo/\(id)/slow.txt").contains("before-the-deadline"))
        XCTAssertTrue(read("\(w.art)/demo/\(id)/index.html").contains("<dt>reason</dt><dd>timed out after 3s</dd>"))
        XCTAssertTrue(read("\(w.art)/demo/\(id)/index.html").contains("status-timeout"))
        // One kill in all: the passes before the deadline, and after, made none.
        XCTAssertEqual(w.callLog.filter { $0.hasPrefix("kill ") }, ["kill ci.demo.\(id).runner ci.demo.\(id).step.*"])
    }

    /// A reader that goes away as the job is launched (`pici-run | head -n 7`) leaves a
    /// running job, not one failed before launch with its workspace removed under it.
    func testAStdoutClosedAsTheJobStartsLeavesItRunning() throws {
        let w = world()
        let ws = workspace(LifeTests.slow)
        let ran = w.sh("pici-run --artifact-dir '\(w.art)' <<< '\(event("demo", ws))' | head -n 7")
        let said = ran.stdout.split(separator: "\n")
        XCTAssertEqual(said.last, "launching sessions...", ran.stdout)
        let id = said.first { $0.hasPrefix("starting job ci.") }.map { String($0.suffix(8)) } ?? "none"
        XCTAssertTrue(w.sessions.contains("ci.demo.\(id).runner"), "\(w.sessions)")
        XCTAssertFalse(w.workspaces.isEmpty, "the running job's workspace is kept")
        w.pass()
        XCTAssertEqual(w.lines(id).count, 0, "no status for a running job: \(w.lines(id))")
        XCTAssertFalse(exists("\(w.art)/demo/\(id)/artifacts/published.json"))
    }

    /// pici-stage hands records on as its pass goes; a stdout that fails then (a full disk
    /// here, a reader gone alike) ends the records, not the pass: the reaper still runs.
    func testAStdoutThatFailsMidPassStillHasAJobKilledAtItsDeadline() throws {
        let w = world()
        let (_, id) = w.run(event("demo", workspace(LifeTests.slow)))
        sleep(2)
        let ran = w.sh("pici-list | pici-group | pici-stage --no-follow --job-timeout 1s --artifact-dir '\(w.art)' >/dev/full")
        XCTAssertEqual(ran.status, 74, ran.stderr)
        XCTAssertTrue(ran.stderr.contains("stdout: write error"), ran.stderr)
        XCTAssertTrue(exists("\(w.art)/demo/\(id)/artifacts/timeout.json"), "the reaper did not run")
        XCTAssertTrue(w.callLog.contains { $0.hasPrefix("kill ") && $0.contains(id) }, "\(w.callLog)")
    }

    func testAPassWithNoJobPastItsDeadlineMakesNoExtraZmxCall() throws {
        let w = world()
        let (_, id) = w.run(event("demo", workspace(LifeTests.slow), #","timeout":"1h""#))
        w.pass("--job-timeout 1h")
        // The followers look at zmx list until their tail is proven connected, then take
        // their head: what they call is theirs, not the pass's, so wait for both heads.
        let deadline = Date().addingTimeInterval(30)
        let heads = ["runner", "step.slow"].map { "\(w.art)/.pici/follow/ci.demo.\(id).\($0)/1/head" }
        while !heads.allSatisfy(exists) && Date() < deadline { usleep(100_000) }
        XCTAssertTrue(heads.allSatisfy(exists), "the followers took their heads")
        try? FileManager.default.removeItem(atPath: w.calls)
        w.pass("--job-timeout 1h")
        XCTAssertEqual(w.callLog.filter { !$0.hasPrefix("history ") }, ["list"], "\(w.callLog)")
        XCTAssertEqual(w.lines(id).count, 0)
    }

    func testWaitEndsWith124WhenTheJobIsKilledAtItsDeadline() throws {
        let w = world()
        let eventFile = Support.tempDir(self, "ev") + "/event.json"
        try event("demo", workspace(LifeTests.slow), #","timeout":"2s""#).write(toFile: eventFile, atomically: true, encoding: .utf8)
        let ran = w.sh("""
            pici-run --wait --interval 200ms --artifact-dir '\(w.art)' < '\(eventFile)' > '\(eventFile).out' 2>&1 &
            waiter=$!
            for _ in $(seq 1 60); do
              pici-monitor --once --no-sync --artifact-dir '\(w.art)' >/dev/null 2>&1
              kill -0 "$waiter" 2>/dev/null || break
              sleep 0.3
            done
            wait "$waiter"; echo "rc=$?"
            """)
        XCTAssertEqual(ran.stdout, "rc=124\n", read(eventFile + ".out"))
        XCTAssertTrue(read(eventFile + ".out").hasSuffix("\njob timeout: timed out after 2s\n"), read(eventFile + ".out"))
    }

    func testPiciRerunRunsAJobAgain() {
        let w = world()
        let (_, old) = w.run(event("demo", workspace(LifeTests.quick)))
        let again = w.sh("pici rerun demo/\(old) -artifact-dir '\(w.art)'")
        XCTAssertEqual(again.status, 0, again.stderr)
        let new = again.stdout.split(separator: "\n").first { $0.hasPrefix("starting job ci.demo.") }.map { String($0.suffix(8)) } ?? "none"
        XCTAssertNotEqual(new, old)
        XCTAssertEqual(Rerun.rerunOf(artifactDir: w.art, name: "demo", jobID: new), old)
        XCTAssertEqual(w.sh("pici rerun -artifact-dir '\(w.art)'").status, 2, "rerun needs NAME/JOB_ID")
    }

    func testTheMonitorsJobTimeoutAppliesToAJobWithoutOne() {
        let w = world()
        let (_, id) = w.run(event("demo", workspace(LifeTests.slow)))
        w.passUntilPublished([id], flags: "--job-timeout 2s", interval: 0.5)
        XCTAssertEqual(w.lines(id).map { $0["status"] as? String }, ["timeout"])
        XCTAssertEqual(w.lines(id).first?["reason"] as? String, "timed out after 2s")
    }

    // MARK: cleanup

    func testKeepKillsAPublishedJobsSessionsAndRemovesItsWorkspaceCopy() {
        let w = world()
        let (_, id) = w.run(event("demo", workspace(LifeTests.quick)))
        w.passUntilPublished([id], flags: "--keep 1h")
        XCTAssertEqual(w.lines(id).map { $0["status"] as? String }, ["success"])
        XCTAssertTrue(w.sessions.contains("ci.demo.\(id).runner"), "kept for --keep: \(w.sessions)")
        XCTAssertEqual(w.workspaces.count, 1)
        w.pass("--keep 1h")
        XCTAssertTrue(w.sessions.contains("ci.demo.\(id).runner"))
        w.pass("--keep 0")
        XCTAssertEqual(w.sessions, [])
        XCTAssertEqual(w.workspaces, [])
        XCTAssertFalse(exists("\(w.art)/.pici/launch/demo.\(id).json"))
        XCTAssertEqual(w.lines(id).count, 1)
    }

    func testGCReportsTimeoutForAJobWithADeadlineElseCancelledAndRemovesLeftovers() throws {
        let w = world()
        let (_, timed) = w.run(event("t", workspace(LifeTests.slow), #","timeout":"5h""#))
        let (_, plain) = w.run(event("p", workspace(LifeTests.slow)))
        w.pass()
        let old = Int(Date().timeIntervalSince1970) - 4 * 3600
        for name in w.sessions { XCTAssertEqual(w.sh("sed -i 's/\\tcreated=[0-9]*/\\tcreated=\(old)/' '\(w.zmx.dir)/\(name)/state'").status, 0, name) }
        let gc = w.sh("pici-run --gc --artifact-dir '\(w.art)'")
        XCTAssertEqual(gc.status, 0, gc.stderr)
        XCTAssertEqual(gc.stdout.split(separator: "\n").filter { $0.hasPrefix("removed workspace ") }.count, 2, gc.stdout)
        XCTAssertEqual(w.workspaces, [])
        w.pass()
        XCTAssertEqual(w.lines(timed).map { $0["status"] as? String }, ["timeout"])
        XCTAssertEqual(w.lines(timed).first?["exit_code"] as? Int, 124)
        XCTAssertEqual(w.lines(timed).first?["reason"] as? String, "gc: older than 3h")
        XCTAssertEqual(w.lines(plain).map { $0["status"] as? String }, ["cancelled"])
        XCTAssertTrue(read("\(w.art)/p/\(plain)/index.html").contains("<dt>reason</dt><dd>gc: older than 3h</dd>"))
    }

    // MARK: re-run and retention

    func testRerunRunsAFailedJobAgainFromItsEventAndLinksIt() throws {
        let w = world()
        let (first, old) = w.run(event("demo", workspace(LifeTests.failing), #","branch":"main""#))
        XCTAssertEqual(first.status, 0, first.stderr)
        w.passUntilPublished([old])
        XCTAssertEqual(w.lines(old).map { $0["status"] as? String }, ["failed"])
        let (again, new) = w.run("", "--rerun demo/\(old)")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertNotEqual(new, old)
        XCTAssertEqual(read("\(w.art)/demo/\(new)/artifacts/event.json"), read("\(w.art)/demo/\(old)/artifacts/event.json"))
        w.passUntilPublished([new])
        XCTAssertEqual(w.lines(new).map { $0["status"] as? String }, ["failed"])
        XCTAssertTrue(read("\(w.art)/demo/\(new)/index.html").contains(#"<dt>re-run of</dt><dd><a href="../\#(old)/index.html"><code>\#(old)</code></a></dd>"#))
        XCTAssertTrue(read("\(w.art)/demo/\(new)/index.txt").contains("\nRe-run of: \(old)\n"))
        // The earlier job, its sessions still kept, links its re-runs from the next pass on.
        let (third, newer) = w.run("", "--rerun demo/\(old)")
        XCTAssertEqual(third.status, 0, third.stderr)
        w.passUntilPublished([newer])
        w.pass()
        let oldPage = read("\(w.art)/demo/\(old)/index.html")
        XCTAssertTrue(oldPage.contains(#"<dt>re-run as</dt><dd><a href="../\#(new)/index.html"><code>\#(new)</code></a> <a href="../\#(newer)/index.html"><code>\#(newer)</code></a></dd>"#), oldPage)
        XCTAssertTrue(read("\(w.art)/demo/\(old)/index.txt").contains("\nRe-run as: \(new) \(newer)\n"))
        XCTAssertFalse(oldPage.contains(".pici-reruns"), "the marks are no artifact")
        XCTAssertEqual(w.lines(old).filter { $0["status"] as? String != "running" }.count, 1, "re-rendered, not published again")
        XCTAssertEqual(w.sh("pici-run --rerun demo/00000000 --artifact-dir '\(w.art)'").status, 66)
        XCTAssertEqual(w.sh("pici-run --rerun ../x --artifact-dir '\(w.art)'").status, 64)
    }

    func testRetainKeepsTheNewestNPublishedJobsPerRepositoryAndTheIndexListsThem() throws {
        let w = world()
        var ids: [String] = []
        for i in 0..<7 {
            let id = String(format: "%08x", 0xa0 + i)
            ids.append(id)
            let dir = "\(w.art)/demo/\(id)/artifacts"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try #"{"exit_code":0,"finished_at":"2026-11-27T10:0\#(i):30Z","job_id":"\#(id)","name":"demo","started_at":"2026-11-27T10:0\#(i):00Z","status":"success"}"#
                .write(toFile: dir + "/published.json", atomically: true, encoding: .utf8)
        }
        // A job still open is never removed, however old.
        try FileManager.default.createDirectory(atPath: "\(w.art)/demo/00000001", withIntermediateDirectories: true)
        let gc = w.sh("pici-run --gc --retain 5 --artifact-dir '\(w.art)'")
        XCTAssertEqual(gc.status, 0, gc.stderr)
        XCTAssertEqual(gc.stdout, "removed job demo/\(ids[1])\nremoved job demo/\(ids[0])\n")
        let left = try FileManager.default.contentsOfDirectory(atPath: "\(w.art)/demo").sorted()
        XCTAssertEqual(left, ["00000001"] + ids.suffix(5))
        let index = read(w.art + "/index.html")
        for id in ids { XCTAssertEqual(index.contains(id), ids.suffix(5).contains(id), id) }
        XCTAssertEqual(w.sh("pici-run --retain 5 --artifact-dir '\(w.art)' --event '{}'").status, 64, "--retain goes with --gc")
    }

    /// --retain removed a published job whose copy it could not remove: the launch record,
    /// marked so, is all that is left. A pass removes the copy and the record, and publishes
    /// nothing (a record with no job is otherwise a launch that died).
    func testARecordLeftByRetainIsCleanedUpAndNotPublishedAgain() throws {
        let w = world()
        let id = "0000abcd"
        let copy = w.tmp + "/pici-\(id)-XyZ123"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: w.art + "/.pici/launch", withIntermediateDirectories: true)
        var record = LaunchRecord(name: "gone", jobID: id, launchedAt: 1_700_000_000, pid: 999_999_999, pidStart: 1, timeout: nil, workspace: copy, temporaryBase: w.tmp)
        record.jobRemoved = true
        try Launches.write(record, artifactDir: w.art)
        XCTAssertEqual(Launches.read(artifactDir: w.art, name: "gone", jobID: id), record, "job_removed is read back")
        w.pass("--keep 1h")
        XCTAssertEqual(w.lines(id).count, 0, "not published")
        XCTAssertFalse(exists(copy))
        XCTAssertFalse(exists("\(w.art)/.pici/launch/gone.\(id).json"))
        XCTAssertFalse(exists("\(w.art)/gone/\(id)"), "no job dir made again")
    }

    // MARK: twenty pushes

    /// 20 pushes that pass, fail, are cancelled, time out and fail before launch; every one is
    /// published exactly once, and one pass past --keep leaves no workspace and no session.
    func testTwentyPushesArePublishedOnceAndLeaveNothingBehind() throws {
        let w = world()
        var ids: [String] = []
        func push(_ name: String, _ pico: String?, _ extra: String = "", ws: String? = nil) {
            let (_, id) = w.run(event(name, ws ?? workspace(pico), extra))
            XCTAssertNotEqual(id, "none")
            ids.append(id)
        }
        for i in 0..<8 { push("many", i % 2 == 0 ? LifeTests.quick : LifeTests.failing); w.pass() }
        push("b", LifeTests.slow)  // cancelled by the next push
        push("b", LifeTests.slow, #","timeout":"1s""#)
        push("c", LifeTests.slow, #","timeout":"1s""#)
        push("d", nil)
        push("d", nil, ws: "/nonexistent/pici-ws")
        push("e", LifeTests.quick)
        push("f", LifeTests.failing)
        push("g", LifeTests.slow)  // cancelled
        push("g", LifeTests.quick)
        push("h", LifeTests.quick)
        push("i", nil)
        push("j", LifeTests.failing)
        XCTAssertEqual(ids.count, 20)
        w.passUntilPublished(ids, interval: 0.5, seconds: 60)
        for id in ids {
            let terminal = w.lines(id).filter { ($0["status"] as? String) != "running" }
            XCTAssertEqual(terminal.count, 1, "job \(id): \(terminal)")
        }
        let statuses = Set(w.lines.compactMap { $0["status"] as? String })
        XCTAssertEqual(statuses, ["success", "failed", "cancelled", "timeout"])
        w.pass("--keep 0")
        XCTAssertEqual(w.workspaces, [], "workspace copies left")
        XCTAssertEqual(w.sessions, [], "sessions of published jobs left")
        XCTAssertEqual(w.lines.count, 20, "nothing published twice")
        let gc = w.sh("pici-run --gc --retain 5 --artifact-dir '\(w.art)'")
        XCTAssertEqual(gc.status, 0, gc.stderr)
        let many = try FileManager.default.contentsOfDirectory(atPath: "\(w.art)/many").filter { !$0.hasPrefix(".") && $0 != "badge.svg" }
        XCTAssertEqual(many.count, 5)
        let index = read(w.art + "/index.html")
        for id in ids.prefix(8) { XCTAssertEqual(index.contains(id), many.contains(id), id) }
        for id in ids.dropFirst(8) { XCTAssertTrue(index.contains(id), id) }
    }

    func testSpansReadAsTheyAreWritten() {
        XCTAssertEqual(TimeFormat.span(1800), "30m")
        XCTAssertEqual(TimeFormat.span(10800), "3h")
        XCTAssertEqual(TimeFormat.span(5400), "1h30m")
        XCTAssertEqual(TimeFormat.span(90), "1m30s")
        XCTAssertEqual(TimeFormat.span(3), "3s")
        XCTAssertEqual(TimeFormat.span(1.5), "1.5s")
        XCTAssertEqual(TimeFormat.span(0.5), "500ms")
        XCTAssertThrowsError(try Event.parse(Array(#"{"type":"push","name":"a","workspace":"w","timeout":"soon"}"#.utf8)))
        XCTAssertThrowsError(try Event.parse(Array(#"{"type":"push","name":"a","workspace":"w","timeout":"0"}"#.utf8)))
        XCTAssertEqual(try Event.parse(Array(#"{"type":"push","name":"a","workspace":"w","timeout":"90s"}"#.utf8)).timeoutSeconds, 90)
    }
}
