import Foundation
import XCTest

/// pici-list and pici-group as built, against the stand-in zmx and against zmx-list text.
final class ListGroupEndToEndTests: XCTestCase {
    /// The zmx list lines of ZMX.md, one of each shape, with the jobs they make below.
    static let zmxMdLines = [
        "  name=ci.demo.abcd1234.runner\tpid=15626\tclients=0\tcreated=1795823657\tcwd=file://buildhost/srv/ci/work\tended=1795823660\texit_code=3",
        "→ name=ci.demo.abcd1234.step.lint\tpid=15630\tclients=1\tcreated=1795823658\tcwd=file://buildhost/srv/ci/work\tended=1795823659\texit_code=0\tci=1",
        "  name=ci.socket.io.a3f2b8c1.runner\tpid=200\tclients=0\tcreated=1795823000\tstart_dir=/srv/ci/sio",
        "  name=ci.socket.io.a3f2b8c1.step.test.unit\terr=ConnectionRefused\tstatus=cleaning up",
        "",
        "  name=ci.deadbeef.00c0ffee.step.build\tpid=300\tclients=0\tcreated=1795822000\tcwd=file://h/w%20x\tended=1795822100\texit_code=2",
        "  name=ci.deadbeef.00c0ffee.step.ci.deadbeef.00c0ffee.runner\tpid=301\tclients=0\tcreated=1795822001\tcwd=file://h/w\tended=1795822101\texit_code=0",
        "  name=scratch\tpid=400\tclients=2\tcreated=1795821000\tcwd=file://h/home/me\tcmd=htop",
        "  name=ci.web.0badc0de.runner\terr=Timeout\tstatus=unreachable",
        "  session_name=ci.old.12345678.runner\tpid=500\tclients=0\tcreated=1795820000\tstarted_in=/srv/old\tended=1795820012\texit_code=0",
    ].joined(separator: "\n") + "\n"

    private func write(_ text: String, _ dir: String, _ name: String) -> String {
        let path = dir + "/" + name
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func jobs(_ records: [[String: Any]]) -> [[String: Any]] { records.filter { $0["type"] as? String == "job" } }

    private func summary(_ job: [String: Any]) -> String {
        let code = (job["exit_code"] as? Int).map(String.init) ?? "null"
        let shorts = (job["sessions"] as? [[String: Any]] ?? []).map { $0["short"] as? String ?? "?" }
        return "\(job["name"]!)/\(job["job_id"]!) \(job["status"]!) \(code) \(job["duration"]!) [\(shorts.joined(separator: ","))]"
    }

    // MARK: a real job under the stand-in zmx

    func testTwoStepJobFailsWithTheFailedStepsCode() throws {
        let world = Support.ZmxWorld(self)
        let workspace = Support.tempDir(self, "ws")
        _ = write("zmx run ok -d true\nzmx run bad -d bash -c 'exit 4'\nzmx wait \"*\"\n", workspace, "pico.sh")
        let id = String(format: "%08x", UInt32.random(in: 0...UInt32.max))
        let start = world.sh("zmx run ci.demo.\(id).runner -d ZMX_SESSION_PREFIX=ci.demo.\(id).step. bash pico.sh", cwd: workspace)
        XCTAssertEqual(start.status, 0, start.stderr)
        world.waitUntilEnded("ci\\.demo\\.\(id)\\.runner")

        let calls = Support.tempDir(self, "calls") + "/calls.log"
        let ran = world.sh("ZMX_CALL_LOG=\(calls) pici-list | pici-group; echo \"${PIPESTATUS[*]}\" >&2")
        XCTAssertEqual(ran.stderr, "0 0\n")
        XCTAssertEqual(try String(contentsOfFile: calls, encoding: .utf8), "list\n", "one zmx call per pass")
        let records = Support.jsonLines(ran.stdout)
        let job = try XCTUnwrap(jobs(records).first)
        XCTAssertEqual(jobs(records).count, 1)
        XCTAssertEqual(job["name"] as? String, "demo")
        XCTAssertEqual(job["job_id"] as? String, id)
        XCTAssertEqual(job["status"] as? String, "failed")
        XCTAssertEqual(job["exit_code"] as? Int, 4)
        XCTAssertEqual(job["session_count"] as? Int, 3)
        let sessions = try XCTUnwrap(job["sessions"] as? [[String: Any]])
        XCTAssertEqual(sessions.map { $0["short"] as? String }, ["runner", "bad", "ok"])
        XCTAssertEqual(sessions.map { $0["exit_code"] as? Int }, [4, 4, 0])
        XCTAssertEqual(sessions.map { $0["status"] as? String }, ["failed", "failed", "success"])
        let cwd = URL(fileURLWithPath: workspace).resolvingSymlinksInPath().path
        XCTAssertTrue(sessions.allSatisfy { ($0["cwd"] as? String).map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } == cwd },
                      "\(sessions.map { $0["cwd"] ?? "nil" }) vs \(cwd)")
        XCTAssertNotNil(job["started_at"] as? String)
        XCTAssertNotNil(job["ended_at"] as? String)
        let listing = try XCTUnwrap(records.last)
        XCTAssertEqual(listing["type"] as? String, "listing")
        XCTAssertEqual(listing["complete"] as? Bool, true)
        XCTAssertEqual(listing["sessions"] as? Int, 3)
    }

    func testNoSessionsIsACompleteEmptyListing() throws {
        let world = Support.ZmxWorld(self)
        let ran = world.sh("pici-list")
        XCTAssertEqual(ran.status, 0)
        XCTAssertEqual(ran.stderr, "", "zmx's `no sessions found` notice is not ours to print")
        let records = Support.jsonLines(ran.stdout)
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?["type"] as? String, "listing")
        XCTAssertEqual(records.first?["complete"] as? Bool, true)
        XCTAssertEqual(records.first?["sessions"] as? Int, 0)
        let at = try XCTUnwrap(records.first?["at"] as? Int)
        XCTAssertLessThan(abs(at - Int(Date().timeIntervalSince1970)), 60)
    }

    func testAllKeepsNonCISessions() throws {
        let world = Support.ZmxWorld(self)
        XCTAssertEqual(world.sh("zmx run my-shell -d true && zmx run ci.r.a3f2b8c1.runner -d true").status, 0)
        world.waitUntilEnded()
        let ci = Support.jsonLines(world.sh("pici-list").stdout)
        XCTAssertEqual(ci.compactMap { $0["name"] as? String }, ["ci.r.a3f2b8c1.runner"])
        XCTAssertEqual(ci.last?["sessions"] as? Int, 1)
        let all = world.sh("pici-list --all")
        XCTAssertEqual(all.status, 0)
        let records = Support.jsonLines(all.stdout)
        XCTAssertEqual(records.compactMap { $0["name"] as? String }, ["ci.r.a3f2b8c1.runner", "my-shell"])
        XCTAssertEqual(records.last?["sessions"] as? Int, 2)
        let shell = records[1]
        XCTAssertTrue(shell["repo"] is NSNull)
        XCTAssertTrue(shell["job_id"] is NSNull)
        XCTAssertTrue(shell["short"] is NSNull)
        XCTAssertEqual(shell["status"] as? String, "success")
        // pici-group drops what is no job's.
        let grouped = Support.jsonLines(world.sh("pici-list --all | pici-group").stdout)
        XCTAssertEqual(jobs(grouped).map { $0["name"] as? String }, ["r"])
    }

    // MARK: zmx-list text

    func testInputFileOfZmxMdLinesGivesTheRightJobs() throws {
        let world = Support.ZmxWorld(self, extra: ["PICI_NOW": "1795823154"])
        let file = write(Self.zmxMdLines, Support.tempDir(self), "list.txt")
        let calls = Support.tempDir(self, "calls") + "/calls.log"
        let ran = world.sh("ZMX_CALL_LOG=\(calls) pici-list --input \(file) | pici-group; echo \"${PIPESTATUS[*]}\" >&2")
        XCTAssertEqual(ran.stderr, "0 0\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: calls), "--input runs no zmx")
        let records = Support.jsonLines(ran.stdout)
        XCTAssertEqual(jobs(records).map(summary), [
            "web/0badc0de running null  [runner]",
            "old/12345678 success 0 12s [runner]",
            "deadbeef/00c0ffee failed 2 1m41s [build,runner]",
            "socket.io/a3f2b8c1 running null 2m34s [runner,test.unit]",
            "demo/abcd1234 failed 3 3.0s [runner,lint]",
        ])
        let sio = jobs(records)[3]
        XCTAssertEqual(sio["started_at"] as? String, "2026-11-27T23:43:20Z")
        XCTAssertTrue(sio["ended_at"] is NSNull)
        XCTAssertTrue(sio["exit_code"] is NSNull)
        let sioSessions = sio["sessions"] as! [[String: Any]]
        XCTAssertEqual(sioSessions[0]["cwd"] as? String, "/srv/ci/sio")
        XCTAssertEqual(sioSessions[1]["status"] as? String, "unreachable")
        XCTAssertEqual(sioSessions[1]["labels"] as? [String: String], ["err": "ConnectionRefused", "status": "cleaning up"])
        let demo = jobs(records)[4]
        XCTAssertEqual(demo["started_at"] as? String, "2026-11-27T23:54:17Z")
        XCTAssertEqual(demo["ended_at"] as? String, "2026-11-27T23:54:20Z")
        let lint = (demo["sessions"] as! [[String: Any]])[1]
        XCTAssertEqual(lint["labels"] as? [String: String], ["ci": "1"])
        XCTAssertEqual(lint["clients"] as? Int, 1)
        XCTAssertEqual(lint["cwd"] as? String, "/srv/ci/work")
        XCTAssertEqual((jobs(records)[2]["sessions"] as! [[String: Any]])[0]["cwd"] as? String, "/w x")
        XCTAssertEqual(records.last?["type"] as? String, "listing")
        XCTAssertEqual(records.last?["complete"] as? Bool, true)
        XCTAssertEqual(records.last?["sessions"] as? Int, 8)

        // The same from stdin, and with --all the non-ci session is listed but still no job.
        let stdin = world.sh("pici-list --input - --all", input: Self.zmxMdLines)
        XCTAssertEqual(stdin.status, 0)
        let listed = Support.jsonLines(stdin.stdout)
        XCTAssertEqual(listed.filter { $0["type"] as? String == "session" }.count, 9)
        XCTAssertTrue(listed.contains { $0["name"] as? String == "scratch" })
        XCTAssertEqual(jobs(Support.jsonLines(world.sh("pici-group", input: stdin.stdout).stdout)).count, 5)
    }

    func testCRLFInputFile() {
        let world = Support.ZmxWorld(self)
        let file = write(Self.zmxMdLines.replacingOccurrences(of: "\n", with: "\r\n"), Support.tempDir(self), "list.txt")
        let ran = world.sh("pici-list --input \(file)")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(Support.jsonLines(ran.stdout).last?["sessions"] as? Int, 8)
        XCTAssertFalse(ran.stdout.contains("\\r"))
    }

    // MARK: failures

    func testMissingZmxIsExit69WithAMessageAndNoListing() {
        let world = Support.ZmxWorld(self)
        let ran = world.sh("pici-list --zmx /nonexistent")
        XCTAssertEqual(ran.status, 69)
        XCTAssertEqual(ran.stdout, "")
        XCTAssertTrue(ran.stderr.hasPrefix("pici-list: /nonexistent list:"), ran.stderr)
        XCTAssertTrue(ran.stderr.contains("not found"), ran.stderr)

        let viaEnv = Support.sh("pici-list", env: Support.environment(zmxDir: world.dir, extra: ["PICI_ZMX": "/nonexistent/zmx"]))
        XCTAssertEqual(viaEnv.status, 69)
        XCTAssertEqual(viaEnv.stdout, "")
        // --zmx wins over PICI_ZMX.
        let wins = Support.sh("pici-list --zmx zmx", env: Support.environment(zmxDir: world.dir, extra: ["PICI_ZMX": "/nonexistent/zmx"]))
        XCTAssertEqual(wins.status, 0, wins.stderr)
        XCTAssertTrue(wins.stdout.contains("\"type\":\"listing\""))
    }

    func testFailingOrHangingZmxIsExit69() {
        let world = Support.ZmxWorld(self)
        let dir = Support.tempDir(self)
        let fake = write("#!/bin/sh\necho 'zmx: socket dir unreadable' >&2\nexit 3\n", dir, "fakezmx")
        chmod(fake, 0o755)
        let ran = world.sh("pici-list --zmx \(fake)")
        XCTAssertEqual(ran.status, 69)
        XCTAssertEqual(ran.stdout, "", "no listing when zmx failed")
        XCTAssertTrue(ran.stderr.contains("exit 3"), ran.stderr)
        XCTAssertTrue(ran.stderr.contains("socket dir unreadable"), ran.stderr)

        let sleeper = write("#!/bin/sh\nsleep 30\n", dir, "slowzmx")
        chmod(sleeper, 0o755)
        let start = Date()
        let hung = world.sh("pici-list --zmx \(sleeper) --timeout 300ms")
        XCTAssertEqual(hung.status, 69)
        XCTAssertEqual(hung.stdout, "")
        XCTAssertTrue(hung.stderr.contains("timed out"), hung.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    func testZmxPrintingGarbageIsExit65AndTheGoodLinesStillComeOut() throws {
        let world = Support.ZmxWorld(self)
        // Garbage before any name leaves the listing short; a bad line with a name holds it.
        var canned = Data("Segmentation fault\n".utf8)
        canned.append(Data([0xFF, 0xFE, 0x00, 0x41, 0x0A]))
        canned.append(Data("  name=ci.r.a3f2b8c1.runner\tpid=1\tclients=0\tcreated=100\tended=105\texit_code=0\n".utf8))
        canned.append(Data("  name=ci.r.a3f2b8c1.step.x\tpid=2\tclients=0\tcreated=oops\n".utf8))
        canned.append(Data("  name=ci.r.a3f2b8c1.step.lint\tpid=3\tclients=0\tcreated=101\tended=104\texit_code=1\n".utf8))
        // A script rather than the stand-in's canned list: bash cannot carry the NUL.
        let dir = Support.tempDir(self)
        try canned.write(to: URL(fileURLWithPath: dir + "/garbage"))
        let fake = write("#!/bin/sh\ncat '\(dir)/garbage'\n", dir, "fakezmx")
        chmod(fake, 0o755)
        let ran = world.sh("pici-list --zmx \(fake)")
        XCTAssertEqual(ran.status, 65)
        let lines = ran.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.map { String($0.prefix(19)) }, ["pici-list: line 1: ", "pici-list: line 2: ", "pici-list: line 4: "], ran.stderr)
        let records = Support.jsonLines(ran.stdout)
        XCTAssertEqual(records.compactMap { $0["name"] as? String }, ["ci.r.a3f2b8c1.runner", "ci.r.a3f2b8c1.step.lint", "ci.r.a3f2b8c1.step.x"])
        XCTAssertEqual(records.compactMap { $0["status"] as? String }, ["success", "failed", "unreachable"])
        XCTAssertEqual(records.last?["type"] as? String, "listing")
        XCTAssertEqual(records.last?["complete"] as? Bool, false, "a listing with a bad line proves no absence")

        let grouped = world.sh("pici-list --zmx \(fake) 2>/dev/null | pici-group")
        XCTAssertEqual(grouped.status, 0)
        XCTAssertEqual(jobs(Support.jsonLines(grouped.stdout)).map { $0["status"] as? String }, ["running"], "held by step x")
    }

    func testClosedOutputEndsQuietly() throws {
        let world = Support.ZmxWorld(self)
        // Enough output to overfill a pipe, so the writer does meet the closed end.
        var text = ""
        for i in 0..<3000 {
            text += "  name=ci.repo\(i).\(String(format: "%08x", i)).runner\tpid=\(i)\tclients=0\tcreated=\(1_795_000_000 + i)\tcwd=file://h/srv/ci/work\n"
        }
        let file = write(text, Support.tempDir(self), "big.txt")
        for pipeline in ["pici-list --input \(file) | head -1", "pici-list --input \(file) | pici-group | head -1"] {
            let ran = world.sh("\(pipeline); echo \"${PIPESTATUS[*]}\" >&2")
            XCTAssertEqual(ran.stdout.split(separator: "\n").count, 1, pipeline)
            let codes = ran.stderr.split(separator: "\n").last.map { $0.split(separator: " ").map(String.init) } ?? []
            XCTAssertEqual(ran.stderr.split(separator: "\n").count, 1, "no error message: \(ran.stderr)")
            XCTAssertTrue(codes.dropLast().allSatisfy { $0 == "0" || $0 == "141" }, "\(pipeline): \(codes)")
        }
        // The same against the stand-in zmx.
        XCTAssertEqual(world.sh("zmx run ci.r.a3f2b8c1.runner -d true && zmx run ci.r.a3f2b8c1.step.a -d true").status, 0)
        world.waitUntilEnded()
        let live = world.sh("pici-list | head -1; echo \"${PIPESTATUS[0]}\" >&2")
        XCTAssertTrue(["0\n", "141\n"].contains(live.stderr), live.stderr)
        XCTAssertEqual(Support.jsonLines(live.stdout).first?["name"] as? String, "ci.r.a3f2b8c1.runner")
    }

    func testUsageErrorsAreExit64() {
        let world = Support.ZmxWorld(self)
        for command in ["pici-list --bogus", "pici-list --input", "pici-list --timeout soon", "pici-list --all=maybe",
                        "pici-group --all", "pici-group -x"] {
            let ran = world.sh(command + " </dev/null")
            XCTAssertEqual(ran.status, 64, command)
            XCTAssertEqual(ran.stdout, "", command)
            let tool = String(command.prefix { $0 != " " })
            XCTAssertTrue(ran.stderr.hasPrefix("\(tool): "), "\(command): \(ran.stderr)")
        }
        let unreadable = world.sh("pici-list --input /nonexistent/list.txt")
        XCTAssertEqual(unreadable.status, 66)
        XCTAssertTrue(unreadable.stderr.contains("/nonexistent/list.txt"), unreadable.stderr)
    }

    // MARK: pici-group's input

    func testGroupPassesUnknownTypesByteForByteAndReportsMalformedLines() throws {
        let world = Support.ZmxWorld(self, extra: ["PICI_NOW": "2000"])
        let other1 = #"{"type":"status","timestamp":"2026-11-27T23:54:17Z","name":"r","exit_code":null}"#
        let other2 = #"{ "type" : "heartbeat" , "n" : 1.50E+2, "s" : "\u00e9\/" , "big": 123456789012345678901234567890}"#
        let input = [
            other1,
            #"{"type":"session","name":"ci.r.a3f2b8c1.runner","created":1000,"ended":1010,"exit_code":0,"status":"success","x-extra":{"k":[1]}}"#,
            "this is not json",
            #"{"type":"session","name":"ci.r.a3f2b8c1.step.a"}"#,
            "",
            #"{"type":"session","name":"ci.r.a3f2b8c1.step.b","created":1001,"ended":1005,"exit_code":2,"status":"failed"}"#,
            #"{"type":"listing","complete":true,"sessions":3,"at":1011}"#,
            other2,
            #"{"type":"session","name":"not-a-job","created":1,"status":"running"}"#,
        ].joined(separator: "\n") + "\n"
        let ran = world.sh("pici-group", input: input)
        XCTAssertEqual(ran.status, 65)
        XCTAssertEqual(ran.stderr.split(separator: "\n").map { String($0.prefix(19)) }, ["pici-group: line 3:", "pici-group: line 4:"])
        XCTAssertTrue(ran.stderr.contains("\"created\""), ran.stderr)
        let out = ran.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(out.count, 5, ran.stdout)
        XCTAssertEqual(out[0], other1, "other types pass as they arrive, byte for byte")
        XCTAssertEqual(out[1], other2)
        XCTAssertTrue(out[2].hasPrefix(#"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"failed","exit_code":2,"#), out[2])
        XCTAssertTrue(out[2].contains(#""x-extra":{"k":[1]}"#), "unknown session fields survive grouping")
        XCTAssertEqual(out[3], #"{"type":"listing","complete":true,"sessions":3,"at":1011}"#)
        XCTAssertEqual(out[4], "")
    }

    func testGroupOfNothingIsNothing() {
        let world = Support.ZmxWorld(self)
        let ran = world.sh("pici-group </dev/null")
        XCTAssertEqual(ran.status, 0)
        XCTAssertEqual(ran.stdout, "")
        XCTAssertEqual(ran.stderr, "")
    }

    // Help texts and manuals: ManualTests, for every command.
}
