import Foundation
import PiciKit
import XCTest

/// The defects of issue 16 ("nothing published is wrong, torn or stuck"), one test each,
/// through the built commands against the stand-in zmx.
final class DefectTests: XCTestCase {
    // MARK: 9. durations that fit are taken, the rest refused

    func testDurationsThatFitAreTakenAndLongerOnesRefusedWithUsage() {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        XCTAssertEqual(world.sh("pici-list --timeout 597h").status, 0)
        let monitor = world.sh("pici-monitor --once --no-sync --artifact-dir \(art) --sync-timeout 8760h")
        XCTAssertEqual(monitor.status, 0, monitor.stderr)
        for command in [
            "pici-run --gc --gc-age 99999999999999999h --artifact-dir \(art)",
            "pici-list --timeout 2562048h",
            "pici-publish --no-sync --artifact-dir \(art) --sync-timeout 9000000001s </dev/null",
            "pici-monitor --once --artifact-dir \(art) --gc-age 99999999999999999h",
            "pici-monitor --once --artifact-dir \(art) --interval 9223372036854775807ms",
        ] {
            let ran = world.sh(command)
            XCTAssertEqual(ran.status, 64, "\(command): \(ran.stderr)")
            XCTAssertFalse(ran.stderr.contains("Fatal error"), ran.stderr)
        }
    }
}

extension DefectTests {
    /// A terminal job record for `name`/`id` and a complete listing after it.
    static func finishedJob(_ name: String, _ id: String, status: String = "failed", code: Int = 3) -> String {
        let s = #"{"type":"session","name":"ci.\#(name).\#(id).runner","repo":"\#(name)","job_id":"\#(id)","short":"runner","pid":1,"clients":0,"created":1795823657,"ended":1795823660,"exit_code":\#(code),"status":"\#(status)","cwd":null,"labels":{}}"#
        let job = #"{"type":"job","name":"\#(name)","job_id":"\#(id)","status":"\#(status)","exit_code":\#(code),"started_at":"2026-11-29T08:34:17Z","ended_at":"2026-11-29T08:34:20Z","duration":"3.0s","session_count":1,"sessions":[\#(s)]}"#
        return job + "\n" + #"{"type":"listing","complete":true,"sessions":1,"at":1795823700}"# + "\n"
    }

    // MARK: 12. names too long for a path

    func testAJobWhoseNameAndIdTogetherAreTooLongForAFileNameIsStillPublished() throws {
        let art = Support.tempDir(self, "art")
        let env = Support.environment(zmxDir: Support.tempDir(self, "zmx"))
        let name = String(repeating: "n", count: 200), id = String(repeating: "a", count: 60)
        let input = Self.finishedJob(name, id)
        let first = Support.sh("pici-stage --artifact-dir \(art) | pici-publish --no-sync --artifact-dir \(art)", env: env, input: input)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(Support.jsonLines(first.stdout).map { $0["job_id"] as? String }, [id])
        let again = Support.sh("pici-publish --no-sync --artifact-dir \(art)", env: env, input: input)
        XCTAssertEqual(again.stdout, "", "published once")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: art + "/.pici/outbox"), [])
        XCTAssertEqual(StateFileName.of(name: "r", jobID: "a3f2b8c1"), "r.a3f2b8c1")
        XCTAssertTrue(StateFileName.of(name: name, jobID: id).hasPrefix("sha256-"))
    }

    // MARK: 13. bidi controls; unknown times are null

    func testARepositoryNameWithABidiOverrideIsRefused() {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let ran = world.sh("pici-run --artifact-dir \(art)", input: #"{"type":"push","name":"evil\u202Etxt.exe","workspace":"/nonexistent"}"#)
        XCTAssertEqual(ran.status, 65, ran.stderr)
        XCTAssertTrue(ran.stderr.contains("U+202E"), ran.stderr)
        XCTAssertThrowsError(try SafeName.checkRepository("a\u{2066}b"))
        XCTAssertNoThrow(try SafeName.checkRepository("socket.io"))
    }

    func testATimeThatCannotBeWrittenIsNullNotADash() {
        let s = SessionRecord(name: "ci.r.a3f2b8c1.runner", created: Int.max, ended: Int.max, exitCode: 0, status: .success)
        let job = JobGrouping.job(name: "r", jobID: "a3f2b8c1", sessions: [s], now: 0)
        XCTAssertNil(job.startedAt)
        XCTAssertNil(job.endedAt)
        let late = SessionRecord(name: "ci.r.a3f2b8c1.runner", created: FieldRange.seconds.upperBound, status: .running)
        XCTAssertEqual(JobGrouping.job(name: "r", jobID: "a3f2b8c1", sessions: [late], now: 0).startedAt, "2255-03-14T16:00:00Z")
    }
}

extension DefectTests {
    // MARK: 2. steps that pose as pici's own

    func testStepsNamedLikeTheRunnerOrTheIndexNeitherDecideNorOverwrite() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let ws = Support.tempDir(self, "ws")
        try "zmx run unit.runner -d true\nzmx run runner -d bash -c 'echo STEP-RUNNER'\nzmx run index -d bash -c 'echo STEP-INDEX'\nzmx wait '*'\necho RUNNER-ITSELF\nexit 1\n"
            .write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        let id = "d2a3f2b8"
        XCTAssertEqual(world.sh("zmx run ci.demo.\(id).runner -d ZMX_SESSION_PREFIX=ci.demo.\(id).step. bash pico.sh", cwd: ws).status, 0)
        world.waitUntilEnded("ci\\.demo\\.\(id)\\.")
        let ran = world.sh("pici-list | pici-group | pici-stage --artifact-dir \(art) | pici-publish --no-sync --artifact-dir \(art)")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let line = try XCTUnwrap(Support.jsonLines(ran.stdout).first)
        XCTAssertEqual(line["status"] as? String, "failed")
        XCTAssertEqual(line["exit_code"] as? Int, 1)
        let dir = art + "/demo/" + id
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        XCTAssertTrue(files.isSuperset(of: ["runner.txt", "_runner.txt", "_index.txt", "unit.runner.txt", "index.html", "index.txt"]), "\(files)")
        XCTAssertTrue(try String(contentsOfFile: dir + "/runner.txt", encoding: .utf8).contains("RUNNER-ITSELF"))
        XCTAssertTrue(try String(contentsOfFile: dir + "/_runner.txt", encoding: .utf8).contains("STEP-RUNNER"))
        XCTAssertTrue(try String(contentsOfFile: dir + "/_index.txt", encoding: .utf8).contains("STEP-INDEX"))
        let index = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        XCTAssertFalse(index.contains("STEP-INDEX"))
        XCTAssertTrue(index.contains("href=\"_index.html\""), index)
        XCTAssertTrue(index.contains("href=\"_runner.html\""), index)
    }
}

extension DefectTests {
    // MARK: 1. published only from a complete listing

    func testAFinishedJobIsPublishedOnlyFromACompleteListing() throws {
        let art = Support.tempDir(self, "art")
        let env = Support.environment(zmxDir: Support.tempDir(self, "zmx"))
        let job = Self.finishedJob("demo", "abcd1234", status: "success", code: 0)
        let jobOnly = String(job.split(separator: "\n")[0]) + "\n"
        // pici-list killed midway: no listing at all; or a listing that is not complete.
        for input in [jobOnly, jobOnly + #"{"type":"listing","complete":false,"sessions":1,"at":1795823700}"# + "\n"] {
            let ran = Support.sh("pici-publish --no-sync --artifact-dir \(art)", env: env, input: input)
            XCTAssertEqual(ran.status, 0, ran.stderr)
            XCTAssertEqual(ran.stdout, "", "not published yet")
            XCTAssertFalse(FileManager.default.fileExists(atPath: art + "/demo/abcd1234/artifacts/published.json"))
            XCTAssertTrue(try String(contentsOfFile: art + "/demo/abcd1234/index.txt", encoding: .utf8).hasPrefix("Job: demo (abcd1234) running"))
        }
        let ran = Support.sh("pici-publish --no-sync --artifact-dir \(art)", env: env, input: job)
        XCTAssertEqual(Support.jsonLines(ran.stdout).map { $0["status"] as? String }, ["success"])
    }

    /// The step of the issue, through the real pipeline: its name is not UTF-8.
    func testAStepWhoseNameIsNotUTF8FailsItsJob() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        XCTAssertEqual(world.sh("zmx run ci.u8.abcdabcd.runner -d true && zmx run $'ci.u8.abcdabcd.step.t\\xe9st' -d bash -c 'exit 7'").status, 0)
        world.waitUntilEnded("ci\\.u8\\.")
        let ran = world.sh("pici-list | pici-group | pici-stage --artifact-dir \(art) 2>/dev/null | pici-publish --no-sync --artifact-dir \(art)")
        let line = try XCTUnwrap(Support.jsonLines(ran.stdout).first, ran.stderr)
        XCTAssertEqual(line["status"] as? String, "failed")
        XCTAssertEqual(line["exit_code"] as? Int, 7)
        XCTAssertEqual((line["sessions"] as? [[String: Any]])?.count, 2)
    }
}

extension DefectTests {
    // MARK: 5. no torn status line

    private func parses(_ text: String) -> Bool {
        text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().allSatisfy {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any]
        } && (text.isEmpty || text.hasSuffix("\n"))
    }

    func testAStdoutFileThatFillsUpKeepsWholeLinesAndTheLineComesOnceWhenThereIsRoom() throws {
        let art = Support.tempDir(self, "art")
        let env = Support.environment(zmxDir: Support.tempDir(self, "zmx"))
        let out = Support.tempDir(self, "out") + "/status.jsonl"
        // Stdout full part-way into the line: a 64 KiB file-size limit, 200 bytes short.
        let earlier = #"{"note":""# + String(repeating: "x", count: 65536 - 200 - 12) + "\"}\n"
        try earlier.write(toFile: out, atomically: true, encoding: .utf8)
        let input = Self.finishedJob("demo", "abcd1234")
        let full = Support.sh("ulimit -f 64; pici-publish --no-sync --artifact-dir \(art) >>\(out)", env: env, input: input)
        XCTAssertEqual(full.status, 74, full.stderr)
        XCTAssertTrue(full.stderr.contains("pici-publish: stdout: write error"), full.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), earlier, "the torn line is taken back")
        // Space freed: the next pass prints the committed line, whole, once.
        let freed = Support.sh("pici-publish --no-sync --artifact-dir \(art) >>\(out)", env: env, input: input)
        XCTAssertEqual(freed.status, 0, freed.stderr)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(parses(text), text)
        XCTAssertEqual(text.components(separatedBy: "\"job_id\":\"abcd1234\"").count, 2)
    }

    func testALineCutByAKillIsRemovedFromAStdoutFileBeforeTheNextPassWrites() throws {
        let art = Support.tempDir(self, "art")
        let env = Support.environment(zmxDir: Support.tempDir(self, "zmx"))
        let out = Support.tempDir(self, "out") + "/status.jsonl"
        let input = Self.finishedJob("demo", "abcd1234")
        let killed = Support.sh("PICI_FAULT=mid-print pici-publish --no-sync --artifact-dir \(art) >>\(out)", env: env, input: input)
        XCTAssertEqual(killed.status, 137)
        XCTAssertFalse(try String(contentsOfFile: out, encoding: .utf8).hasSuffix("\n"), "half a line")
        let next = Support.sh("pici-publish --no-sync --artifact-dir \(art) >>\(out)", env: env, input: input)
        XCTAssertEqual(next.status, 0, next.stderr)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(parses(text), text)
        XCTAssertEqual(Support.jsonLines(text).map { $0["job_id"] as? String }, ["abcd1234"])
    }

    func testThroughAPipeTheRepeatOfACutLineStartsOnANewLine() throws {
        let art = Support.tempDir(self, "art")
        let env = Support.environment(zmxDir: Support.tempDir(self, "zmx"))
        let out = Support.tempDir(self, "out") + "/status.jsonl"
        let input = Self.finishedJob("demo", "abcd1234")
        Support.sh("PICI_FAULT=mid-print pici-publish --no-sync --artifact-dir \(art) | cat >>\(out)", env: env, input: input)
        Support.sh("pici-publish --no-sync --artifact-dir \(art) | cat >>\(out)", env: env, input: input)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 3, "\(lines)")
        XCTAssertNil(try? JSONSerialization.jsonObject(with: Data(lines[0].utf8)), "the fragment, a line of its own")
        XCTAssertTrue(lines[1].hasPrefix(lines[0]))
        XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any] == nil, false)
        XCTAssertEqual(lines[2], "")
    }
}

extension DefectTests {
    // MARK: 6. published pages agree with the result

    func testPublishedPagesStillShowingRunningAreMadeAgain() throws {
        let art = Support.tempDir(self, "art")
        let env = Support.environment(zmxDir: Support.tempDir(self, "zmx"))
        let finished = Self.finishedJob("demo", "abcd1234")
        let running = finished.replacingOccurrences(of: #""status":"failed","exit_code":3,"started_at""#, with: #""status":"running","exit_code":null,"started_at""#)
        XCTAssertEqual(Support.sh("pici-publish --no-sync --artifact-dir \(art)", env: env, input: running).stdout, "")
        // The disk filled up between the sentinel and the index: the sentinel is there, the
        // pages still say running.
        let sentinel = #"{"exit_code":3,"finished_at":"2026-11-29T08:35:00Z","job_id":"abcd1234","name":"demo","status":"failed"}"#
        try FileManager.default.createDirectory(atPath: art + "/demo/abcd1234/artifacts", withIntermediateDirectories: true)
        try sentinel.write(toFile: art + "/demo/abcd1234/artifacts/published.json", atomically: true, encoding: .utf8)
        XCTAssertTrue(try String(contentsOfFile: art + "/demo/abcd1234/index.txt", encoding: .utf8).hasPrefix("Job: demo (abcd1234) running\n"))
        let ran = Support.sh("pici-publish --no-sync --artifact-dir \(art)", env: env, input: finished)
        XCTAssertEqual(ran.stdout, "", "published once, already")
        XCTAssertTrue(try String(contentsOfFile: art + "/demo/abcd1234/index.txt", encoding: .utf8).hasPrefix("Job: demo (abcd1234) failed\n"))
        XCTAssertFalse(try String(contentsOfFile: art + "/demo/abcd1234/index.html", encoding: .utf8).contains("http-equiv=\"refresh\""))
    }

    // MARK: 7. temp files a kill left

    func testTempFilesOfKilledWritersAreRemovedAndNeverSynced() throws {
        let art = Support.tempDir(self, "art")
        let dest = Support.tempDir(self, "dest")
        let env = Support.environment(zmxDir: Support.tempDir(self, "zmx"))
        let dir = art + "/demo/abcd1234"
        try FileManager.default.createDirectory(atPath: dir + "/artifacts", withIntermediateDirectories: true)
        let event = #"{"type":"push","name":"demo","workspace":"/srv/ws","artifact_dest":"\#(dest)"}"#
        try event.write(toFile: dir + "/artifacts/event.json", atomically: true, encoding: .utf8)
        let live = ProcessInfo.processInfo.processIdentifier
        let dead = ".index.html.tmp.2147483646.a1b2c3", going = ".runner.html.tmp.\(live).d4e5f6"
        let old = ".index.txt.tmp.Zx81qP", young = ".lint.txt.tmp.Qw12er"
        for f in [dead, going, old, young] { XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/" + f, contents: Data("<html".utf8))) }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: dir + "/" + old)
        let ran = Support.sh("pici-publish --artifact-dir \(art)", env: env, input: Self.finishedJob("demo", "abcd1234"))
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir)).filter { $0.contains(".tmp.") }
        XCTAssertEqual(left, [going, young], "the leftovers of dead writers are gone; a write still going stays")
        let copied = try FileManager.default.contentsOfDirectory(atPath: dest)
        XCTAssertTrue(copied.contains("index.html"), "\(copied)")
        XCTAssertEqual(copied.filter { $0.contains(".tmp.") }, [], "no temp file is synced")
    }
}

extension DefectTests {
    // MARK: 10. a dead reader

    func testTheMonitorStopsWhenNoOneReadsItsOutputAndTheLineWaitsForTheNext() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let t = Int(Date().timeIntervalSince1970)
        func job(_ id: String) -> String {
            "  name=ci.demo.\(id).runner\tpid=1\tclients=0\tcreated=\(t - 9)\tcwd=file://h/w\tended=\(t - 1)\texit_code=0\n"
        }
        try job("aaaa0001").write(toFile: world.dir + "/canned-list", atomically: true, encoding: .utf8)
        try "log\n".write(toFile: world.dir + "/canned-history", atomically: true, encoding: .utf8)
        let ran = world.sh("""
            (pici-monitor --interval 100ms --no-sync --artifact-dir \(art) 2>\(world.dir)/err; echo $? >\(world.dir)/rc) | head -1 >\(world.dir)/first &
            until [ -s \(world.dir)/first ]; do sleep 0.05; done
            printf '%s%s' '\(job("aaaa0001"))' '\(job("aaaa0002"))' >\(world.dir)/canned-list.new
            mv \(world.dir)/canned-list.new \(world.dir)/canned-list
            for _ in $(seq 200); do [ -s \(world.dir)/rc ] && break; sleep 0.1; done
            cat \(world.dir)/rc
            """, timeout: 60)
        XCTAssertEqual(ran.stdout, "141\n", "the monitor stops: \(ran.stderr)")
        let err = try String(contentsOfFile: world.dir + "/err", encoding: .utf8)
        XCTAssertTrue(err.contains("pici-monitor: stdout is closed"), err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: art + "/.pici/outbox/demo.aaaa0002.json"), "committed, not lost")
        let next = world.sh("pici-monitor --once --no-sync --artifact-dir \(art)")
        XCTAssertEqual(Support.jsonLines(next.stdout).map { $0["job_id"] as? String }, ["aaaa0002"], next.stderr)
    }
}

extension DefectTests {
    // MARK: 4. a remote clock behind the monitor's

    func testASessionThatEndedByASlowClockStillGetsItsFinalLog() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let t = Int(Date().timeIntervalSince1970)
        let running = "  name=ci.demo.cccc0001.runner\tpid=1\tclients=0\tcreated=\(t - 60)\tcwd=file://far/w\n"
        try running.write(toFile: world.dir + "/canned-list", atomically: true, encoding: .utf8)
        try "SNAPSHOT\n".write(toFile: world.dir + "/canned-history", atomically: true, encoding: .utf8)
        let pass = "pici-list | pici-group | pici-stage --artifact-dir \(art) | pici-publish --no-sync --artifact-dir \(art)"
        XCTAssertEqual(world.sh(pass).status, 0)
        // The host's clock is 8 s behind ours: by it the session ended before our snapshot.
        let ended = running.replacingOccurrences(of: "\n", with: "\tended=\(t - 8)\texit_code=0\n")
        try ended.write(toFile: world.dir + "/canned-list", atomically: true, encoding: .utf8)
        try "FINAL\n".write(toFile: world.dir + "/canned-history", atomically: true, encoding: .utf8)
        let ran = world.sh(pass)
        XCTAssertEqual(Support.jsonLines(ran.stdout).map { $0["status"] as? String }, ["success"], ran.stderr)
        XCTAssertTrue(try String(contentsOfFile: art + "/demo/cccc0001/runner.txt", encoding: .utf8).contains("FINAL"))
        // And once staged from that end, never fetched again.
        let calls = Support.tempDir(self, "calls") + "/calls.log"
        world.sh("export ZMX_CALL_LOG=\(calls); pici-list | pici-group | pici-stage --artifact-dir \(art) >/dev/null")
        XCTAssertEqual(try String(contentsOfFile: calls, encoding: .utf8), "list\n")
    }
}

extension DefectTests {
    // MARK: 11. a zmx that prints forever

    func testAZmxThatPrintsForeverCostsACappedCallAndTheLogSaysWhereItWasCut() throws {
        let dir = Support.tempDir(self, "fake")
        let art = Support.tempDir(self, "art")
        let fake = dir + "/zmx"
        try "#!/bin/sh\nexec yes 'endless output'\n".write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        let env = Support.environment(zmxDir: dir)
        let start = Date()
        let list = Support.sh("pici-list --zmx \(fake)", env: env)
        XCTAssertEqual(list.status, 69, list.stderr)
        XCTAssertTrue(list.stderr.contains("printed more than 8 MiB and was killed"), list.stderr)
        XCTAssertFalse(list.stdout.contains("\"listing\""), "no listing from a cut zmx list")

        let ran = Support.sh("pici-stage --zmx \(fake) --artifact-dir \(art)", env: env, input: Self.finishedJob("demo", "abcd1234"))
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(start), 60)
        let log = try String(contentsOfFile: art + "/demo/abcd1234/runner.txt", encoding: .utf8)
        XCTAssertTrue(log.hasPrefix("endless output\n"))
        XCTAssertTrue(log.hasSuffix("[pici: the log is cut here: zmx history printed more than 8 MiB]\n"), String(log.suffix(200)))
    }
}

extension DefectTests {
    /// Case 1 with several hosts: a job is final from its own host's complete listing.
    func testWithHostsAJobIsFinalFromItsOwnHostsListing() throws {
        let art = Support.tempDir(self, "art")
        let env = Support.environment(zmxDir: Support.tempDir(self, "zmx"))
        func job(_ id: String, on host: String) -> String {
            String(Self.finishedJob("demo", id).split(separator: "\n")[0]).replacingOccurrences(of: #","sessions":["#, with: #","host":"\#(host)","sessions":["#)
        }
        let listing = #"{"type":"listing","complete":false,"sessions":2,"at":1795823700,"hosts":{"b1":true,"b2":false}}"#
        let ran = Support.sh("pici-publish --no-sync --artifact-dir \(art)", env: env,
                             input: job("aaaa0001", on: "b1") + "\n" + job("aaaa0002", on: "b2") + "\n" + listing + "\n")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(Support.jsonLines(ran.stdout).map { $0["job_id"] as? String }, ["aaaa0001"], "b2's listing was cut short")
    }
}
