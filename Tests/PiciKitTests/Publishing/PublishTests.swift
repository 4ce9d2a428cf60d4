import Foundation
import PiciKit
import XCTest

/// pici-publish: the status line, the index pages, exactly-once publishing through crashes,
/// vanished jobs, rsync, the lock and the human output.
final class PublishTests: XCTestCase {
    static let now = 1_795_823_700  // 2026-11-27 23:55:00 UTC

    // MARK: Fixtures

    static func session(
        _ name: String, pid: Int? = nil, clients: Int? = 0, created: Int, ended: Int? = nil, exit: Int? = nil,
        cwd: String? = nil
    ) -> SessionRecord {
        let parsed = JobName.parse(name)
        let status: SessionStatus = ended == nil ? .running : (exit == 0 ? .success : .failed)
        return SessionRecord(
            name: name, repo: parsed?.repo, jobID: parsed?.jobID, short: parsed?.short, pid: pid, clients: clients,
            created: created, ended: ended, exitCode: exit, status: status, cwd: cwd)
    }

    /// A finished job: the runner passed, the lint step failed with 2.
    static func finishedJob(_ name: String = "demo", _ id: String = "abcd1234", step: String = "lint") -> JobRecord {
        JobGrouping.job(name: name, jobID: id, sessions: [
            session("ci.\(name).\(id).runner", pid: 100, created: 1_795_823_657, ended: 1_795_823_660, exit: 0, cwd: "/srv/ci"),
            session("ci.\(name).\(id).step.\(step)", pid: 101, clients: 1, created: 1_795_823_658, ended: 1_795_823_659, exit: 2),
        ], now: now)
    }

    static func runningJob(_ name: String = "demo", _ id: String = "beef0001") -> JobRecord {
        JobGrouping.job(name: name, jobID: id, sessions: [
            session("ci.\(name).\(id).runner", pid: 200, created: 1_795_823_650),
            session("ci.\(name).\(id).step.test", pid: 201, created: 1_795_823_651, ended: 1_795_823_655, exit: 0),
        ], now: now)
    }

    /// The jobs and a listing; by default a complete one taken at 0, which makes a finished
    /// job's status final (a job is published only from a complete listing) and proves no
    /// job seen since gone.
    static func stream(_ jobs: [JobRecord], listing: ListingRecord? = PublishTests.listing(atNanoseconds: 0)) -> String {
        var lines = jobs.map { JSONSerializer.string($0.json) }
        if let listing { lines.append(JSONSerializer.string(listing.json)) }
        return lines.map { $0 + "\n" }.joined()
    }

    static func listing(complete: Bool = true, atNanoseconds: Int = now * 1_000_000_000) -> ListingRecord {
        ListingRecord(complete: complete, sessions: 0, at: atNanoseconds / 1_000_000_000, atNanoseconds: atNanoseconds)
    }

    /// A temp artifact dir and an environment with the built tools on PATH and the clock fixed.
    func world() -> (dir: String, env: [String: String]) {
        let base = Support.tempDir(self, "publish")
        let env = Support.environment(zmxDir: base + "/zmx", extra: ["PICI_NOW": String(PublishTests.now)])
        try! FileManager.default.createDirectory(atPath: base + "/D", withIntermediateDirectories: true)
        return (base + "/D", env)
    }

    @discardableResult
    func publish(_ dir: String, _ env: [String: String], _ input: String, flags: String = "", tail: String = "") -> Support.Ran {
        Support.sh("pici-publish --artifact-dir '\(dir)' \(flags) \(tail)", env: env, input: input)
    }

    func writeEvent(_ dir: String, _ name: String, _ id: String, dest: String, workspace: String = "/srv/ws") throws {
        let artifacts = "\(dir)/\(name)/\(id)/artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let event = #"{"type":"push","name":"\#(name)","workspace":"\#(workspace)","branch":"main","commit":"0123abc","artifact_dest":"\#(dest)"}"#
        try event.write(toFile: artifacts + "/event.json", atomically: true, encoding: .utf8)
    }

    func statusLines(_ text: String) -> [[String: Any]] {
        Support.jsonLines(text).filter { $0["type"] as? String == "status" }
    }

    func lineCount(_ text: String) -> Int { text.split(separator: "\n").count }

    // MARK: Status line

    func testStatusLineIsTheSeedPayload() {
        let line = String(decoding: StatusLine.bytes(for: PublishTests.finishedJob(), timestamp: PublishTests.now), as: UTF8.self)
        XCTAssertEqual(line, #"{"timestamp":"2026-11-27T23:55:00Z","name":"demo","job_id":"abcd1234","status":"failed","exit_code":2,"duration":"3.0s","started_at":"2026-11-27T23:54:17Z","ended_at":"2026-11-27T23:54:20Z","session_count":2,"sessions":[{"name":"ci.demo.abcd1234.runner","short":"runner","pid":"100","clients":"0","created":"1795823657","start_dir":"/srv/ci","ended":"1795823660","exit_code":"0"},{"name":"ci.demo.abcd1234.step.lint","short":"lint","pid":"101","clients":"1","created":"1795823658","start_dir":"","ended":"1795823659","exit_code":"2"}],"type":"status"}"#)

        // Key order and JSON types as the seed's StatusPayload and SessionInfo.
        let object = StatusLine.object(for: PublishTests.finishedJob(), timestamp: PublishTests.now)
        XCTAssertEqual(object.members.map(\.key), [
            "timestamp", "name", "job_id", "status", "exit_code", "duration", "started_at", "ended_at",
            "session_count", "sessions", "type",
        ])
        guard case .array(let sessions)? = object["sessions"], case .object(let first)? = sessions.first else {
            return XCTFail("no sessions")
        }
        XCTAssertEqual(first.members.map(\.key), ["name", "short", "pid", "clients", "created", "start_dir", "ended", "exit_code"])
        for m in first.members {
            guard case .string = m.value else { return XCTFail("\(m.key) is not a string") }
        }
    }

    func testRunningStatusLineHasNullExitAndNoEnd() {
        let object = StatusLine.object(for: PublishTests.runningJob(), timestamp: PublishTests.now)
        XCTAssertEqual(object["exit_code"], .null)
        XCTAssertNil(object["ended_at"])
        XCTAssertEqual(object["status"], .string("running"))
        // The running session's unknown values are empty strings, never null.
        guard case .array(let sessions)? = object["sessions"], case .object(let runner)? = sessions.first else {
            return XCTFail("no sessions")
        }
        XCTAssertEqual(runner["ended"], .string(""))
        XCTAssertEqual(runner["exit_code"], .string(""))
        XCTAssertEqual(runner["start_dir"], .string(""))
    }

    func testStatusLineOmitsEmptyTimes() {
        var job = PublishTests.finishedJob()
        job.duration = ""
        job.startedAt = nil
        job.endedAt = nil
        job.status = .lost
        job.exitCode = nil
        let keys = StatusLine.object(for: job, timestamp: PublishTests.now).members.map(\.key)
        XCTAssertEqual(keys, ["timestamp", "name", "job_id", "status", "exit_code", "session_count", "sessions", "type"])
    }

    // MARK: Index pages

    static func page(_ job: JobRecord = finishedJob(), status: String? = nil) -> JobIndex.Page {
        JobIndex.Page(job: job, status: status, artifacts: [
            .init(name: "attestation.json", size: 2048, modified: 1_795_823_661),
            .init(name: "event.json", size: 512, modified: 1_795_823_600),
            .init(name: "workspace.tar", size: 1536 * 1024, modified: 1_795_823_601),
        ], branch: "main", commit: "0123abc", now: now)
    }

    func testJobIndexTextGolden() {
        Support.assertGolden(JobIndex.text(PublishTests.page()), "index-job.txt")
    }

    func testJobIndexHTMLGolden() {
        Support.assertGolden(JobIndex.html(PublishTests.page()), "index-job.html")
    }

    func testRunningJobIndexCountsUpToNow() {
        let page = JobIndex.Page(job: PublishTests.runningJob(), now: PublishTests.now)
        Support.assertGolden(JobIndex.text(page), "index-running.txt")
        let html = JobIndex.html(page)
        XCTAssertTrue(html.contains("<meta http-equiv=\"refresh\""))
        XCTAssertTrue(html.contains("50s"), "the running runner's duration counts to now")
        XCTAssertTrue(html.contains("No artifacts."))
    }

    func testTopIndexGolden() {
        var lost = PublishTests.runningJob("demo", "feed0002")
        lost.status = .lost
        let entries = [
            TopIndex.Entry(job: PublishTests.finishedJob()),
            TopIndex.Entry(job: PublishTests.runningJob()),
            TopIndex.Entry(job: lost),
            TopIndex.Entry(job: PublishTests.finishedJob("api", "00c0ffee")),
        ]
        Support.assertGolden(TopIndex.html(entries, now: PublishTests.now), "index-top.html")
    }

    func testTopIndexKeepsTheNewestPerRepository() {
        let entries = (0..<25).map { i in
            TopIndex.Entry(name: "r", jobID: String(format: "%08x", i), status: "success",
                           startedAt: TimeFormat.rfc3339(PublishTests.now + i), endedAt: nil, duration: "1.0s")
        }
        let html = TopIndex.html(entries.shuffled(), now: PublishTests.now)
        XCTAssertTrue(html.contains("newest 20 of 25"))
        XCTAssertTrue(html.contains("00000018"))  // the newest
        XCTAssertFalse(html.contains(">00000004<"))  // the fifth oldest is cut
        let newest = html.range(of: "00000018")!.lowerBound, older = html.range(of: "00000017")!.lowerBound
        XCTAssertLessThan(newest, older, "newest first")
    }

    func testArtifactScanListsFilesWithSizeAndTime() throws {
        let (dir, _) = world()
        let artifacts = dir + "/artifacts"
        try FileManager.default.createDirectory(atPath: artifacts + "/subdir", withIntermediateDirectories: true)
        try Data(count: 1536).write(to: URL(fileURLWithPath: artifacts + "/workspace.tar"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: artifacts + "/event.json"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: artifacts + "/.published.json.tmp.abc123"))
        for (file, time) in [("workspace.tar", 1_795_823_601), ("event.json", 1_795_823_600)] {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: TimeInterval(time))],
                                                  ofItemAtPath: artifacts + "/" + file)
        }
        let found = JobIndex.artifacts(in: artifacts)
        XCTAssertEqual(found, [
            .init(name: "event.json", size: 2, modified: 1_795_823_600),
            .init(name: "workspace.tar", size: 1536, modified: 1_795_823_601),
        ])
        let html = JobIndex.html(JobIndex.Page(job: PublishTests.finishedJob(), artifacts: found, now: PublishTests.now))
        XCTAssertTrue(html.contains(">1.5 KB</td><td class=\"time\" data-label=\"modified\">2026-11-27 23:53:21</td>"), html)
        XCTAssertEqual(JobIndex.artifacts(in: dir + "/none"), [])
    }

    func testFormatFileSizeAsTheSeed() {
        XCTAssertEqual(JobIndex.formatFileSize(0), "0 B")
        XCTAssertEqual(JobIndex.formatFileSize(512), "512 B")
        XCTAssertEqual(JobIndex.formatFileSize(1023), "1023 B")
        XCTAssertEqual(JobIndex.formatFileSize(1024), "1.0 KB")
        XCTAssertEqual(JobIndex.formatFileSize(1536), "1.5 KB")
        XCTAssertEqual(JobIndex.formatFileSize(1280), "1.2 KB")  // Go's %.1f: half to even
        XCTAssertEqual(JobIndex.formatFileSize(1024 * 1024), "1.0 MB")
        XCTAssertEqual(JobIndex.formatFileSize(5 * 1024 * 1024 * 1024 + 1), "5.0 GB")
    }

    func testEverythingOnThePagesIsEscaped() {
        let job = PublishTests.finishedJob("<script>", "abcd1234", step: "a&b\"c")
        let html = JobIndex.html(JobIndex.Page(job: job, artifacts: [.init(name: "<img>.txt", size: 1, modified: 0)], branch: "'x'", now: PublishTests.now))
        XCTAssertFalse(html.contains("<script>"))
        XCTAssertFalse(html.contains("<img>"))
        XCTAssertTrue(html.contains("&lt;script&gt;"))
        XCTAssertTrue(html.contains(">a&amp;b&quot;c</a>"))
        XCTAssertTrue(html.contains("href=\"a%26b%22c.html\""))
        XCTAssertTrue(html.contains("href=\"artifacts/%3Cimg%3E.txt\""))
        XCTAssertTrue(html.contains("&#39;x&#39;"))
        let top = TopIndex.html([TopIndex.Entry(job: job)], now: PublishTests.now)
        XCTAssertFalse(top.contains("<script>"))
        XCTAssertTrue(top.contains("href=\"%3Cscript%3E/abcd1234/index.html\""))
        XCTAssertTrue(top.contains(">&lt;script&gt; <span"))
    }

    func testEscapedNamesEndToEnd() throws {
        let (dir, env) = world()
        let ran = publish(dir, env, PublishTests.stream([PublishTests.finishedJob("<script>", "abcd1234", step: "a&b\"c")]), flags: "--no-sync")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(statusLines(ran.stdout).first?["name"] as? String, "<script>")
        let html = try String(contentsOfFile: dir + "/<script>/abcd1234/index.html", encoding: .utf8)
        XCTAssertFalse(html.contains("<script>"))
        XCTAssertTrue(html.contains("a&amp;b&quot;c"))
        let top = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        XCTAssertFalse(top.contains("<script>"))
    }

    // MARK: Exactly once

    func testPublishesAFinishedJobOnce() throws {
        let (dir, env) = world()
        let input = PublishTests.stream([PublishTests.finishedJob()], listing: PublishTests.listing())
        try OpenJobs.write(OpenJob(job: PublishTests.finishedJob(), seenAtNanoseconds: 1), artifactDir: dir)
        let first = publish(dir, env, input)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stdout, String(decoding: StatusLine.bytes(for: PublishTests.finishedJob(), timestamp: PublishTests.now), as: UTF8.self) + "\n")
        let second = publish(dir, env, input)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, "")

        let job = dir + "/demo/abcd1234"
        let sentinel = try String(contentsOfFile: job + "/artifacts/published.json", encoding: .utf8)
        XCTAssertTrue(sentinel.hasPrefix(#"{"duration":"3.0s","ended_at":"2026-11-27T23:54:20Z","exit_code":2,"failed_step":"lint","failed_step_exit_code":2,"finished_at":"2026-11-27T23:55:00Z","job_id":"abcd1234","name":"demo","#), sentinel)
        // index.txt as the unit golden; index.html lists the sentinel.
        Support.assertGolden(try String(contentsOfFile: job + "/index.txt", encoding: .utf8), "index-job.txt")
        XCTAssertTrue(try String(contentsOfFile: job + "/index.html", encoding: .utf8).contains("href=\"artifacts/published.json\""))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/index.html"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/styles.css"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/outbox"), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/open"), [], "the open-job file is removed")
    }

    func testQuietPassWritesNothing() throws {
        let (dir, env) = world()
        let input = PublishTests.stream([PublishTests.finishedJob()], listing: PublishTests.listing())
        XCTAssertEqual(publish(dir, env, input).status, 0)
        let marker = dir + "/../marker"
        usleep(20_000)
        _ = FileManager.default.createFile(atPath: marker, contents: nil)
        usleep(20_000)
        let again = publish(dir, env, input)
        XCTAssertEqual(again.status, 0, again.stderr)
        let newer = Support.sh("find '\(dir)' -newer '\(marker)'", env: env).stdout
        XCTAssertEqual(newer, "", "a pass with nothing to do wrote files")
    }

    func testMissingIndexOfAPublishedJobIsMadeAgain() throws {
        let (dir, env) = world()
        let input = PublishTests.stream([PublishTests.finishedJob()])
        publish(dir, env, input, flags: "--no-sync")
        try FileManager.default.removeItem(atPath: dir + "/demo/abcd1234/index.txt")
        let again = publish(dir, env, input, flags: "--no-sync")
        XCTAssertEqual(again.stdout, "")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/demo/abcd1234/index.txt"))
    }

    /// Each crash point, then a normal pass: the line comes out exactly once in all.
    func checkFault(_ point: String, firstPrints: Int) throws {
        let (dir, env) = world()
        let out = dir + "/../status.jsonl"
        let input = PublishTests.stream([PublishTests.finishedJob()], listing: PublishTests.listing())
        try OpenJobs.write(OpenJob(job: PublishTests.finishedJob(), seenAtNanoseconds: 1), artifactDir: dir)
        var faulty = env
        faulty["PICI_FAULT"] = point
        let crashed = Support.sh("pici-publish --artifact-dir '\(dir)' >> '\(out)'", env: faulty, input: input)
        XCTAssertEqual(crashed.status, 137, point)
        XCTAssertEqual(lineCount(try String(contentsOfFile: out, encoding: .utf8)), firstPrints, point)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/outbox").count, 1, "committed, not finished")

        let next = Support.sh("pici-publish --artifact-dir '\(dir)' >> '\(out)'", env: env, input: input)
        XCTAssertEqual(next.status, 0, next.stderr)
        let third = Support.sh("pici-publish --artifact-dir '\(dir)' >> '\(out)'", env: env, input: input)
        XCTAssertEqual(third.status, 0, third.stderr)
        let lines = statusLines(try String(contentsOfFile: out, encoding: .utf8))
        XCTAssertEqual(lines.count, 1, "\(point): \(lines)")
        XCTAssertEqual(lines.first?["status"] as? String, "failed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/demo/abcd1234/artifacts/published.json"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/outbox"), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/open"), [])
    }

    func testCrashAfterOutboxPublishesOnce() throws { try checkFault("after-outbox", firstPrints: 0) }
    func testCrashAfterSentinelPublishesOnce() throws { try checkFault("after-sentinel", firstPrints: 0) }
    /// stdout is a file: the next pass finds the line in it and does not print it again.
    func testCrashAfterPrintToAFilePublishesOnce() throws { try checkFault("after-print", firstPrints: 1) }

    /// stdout is a pipe: whether the line got out cannot be known, so it is printed again.
    /// This is the one repeat the man page owns up to.
    func testCrashAfterPrintToAPipeRepeatsOnce() throws {
        let (dir, env) = world()
        let out = dir + "/../status.jsonl"
        let input = PublishTests.stream([PublishTests.finishedJob()])
        var faulty = env
        faulty["PICI_FAULT"] = "after-print"
        let crashed = Support.sh("pici-publish --artifact-dir '\(dir)' | cat >> '\(out)'; exit ${PIPESTATUS[0]}", env: faulty, input: input)
        XCTAssertEqual(crashed.status, 137)
        for _ in 0..<2 {
            let ran = Support.sh("pici-publish --artifact-dir '\(dir)' | cat >> '\(out)'; exit ${PIPESTATUS[0]}", env: env, input: input)
            XCTAssertEqual(ran.status, 0, ran.stderr)
        }
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines.first, lines.last, "the repeat is the same line, byte for byte")
    }

    /// Committed under --human, finished by a JSON pass: the pass prints its own form.
    func testRecoveryPrintsInTheFormOfTheFinishingPass() {
        let (dir, env) = world()
        let input = PublishTests.stream([PublishTests.finishedJob()])
        var faulty = env
        faulty["PICI_FAULT"] = "after-sentinel"
        let crashed = Support.sh("pici-publish --artifact-dir '\(dir)' --human --no-sync", env: faulty, input: input)
        XCTAssertEqual(crashed.status, 137)
        XCTAssertEqual(crashed.stdout, "")
        let next = publish(dir, env, input, flags: "--no-sync")
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertEqual(next.stdout, String(decoding: StatusLine.bytes(for: PublishTests.finishedJob(), timestamp: PublishTests.now), as: UTF8.self) + "\n")
    }

    func testUnknownFaultPointIsAUsageError() {
        let (dir, env) = world()
        var faulty = env
        faulty["PICI_FAULT"] = "after-lunch"
        let ran = Support.sh("pici-publish --artifact-dir '\(dir)'", env: faulty, input: "")
        XCTAssertEqual(ran.status, 64)
        XCTAssertTrue(ran.stderr.contains("PICI_FAULT"))
    }

    // MARK: Vanished jobs

    func writeOpen(_ dir: String, _ job: JobRecord, seen: Int) throws {
        try OpenJobs.write(OpenJob(job: job, seenAtNanoseconds: seen), artifactDir: dir)
    }

    func testVanishedJobIsLostOnce() throws {
        let (dir, env) = world()
        try writeOpen(dir, PublishTests.runningJob(), seen: (PublishTests.now - 5) * 1_000_000_000)
        let input = PublishTests.stream([], listing: PublishTests.listing())
        let first = publish(dir, env, input, flags: "--no-sync")
        XCTAssertEqual(first.status, 0, first.stderr)
        let lines = statusLines(first.stdout)
        XCTAssertEqual(lines.count, 1)
        XCTAssertEqual(lines.first?["status"] as? String, "lost")
        XCTAssertTrue(lines.first?["exit_code"] is NSNull)
        XCTAssertEqual(lines.first?["session_count"] as? Int, 2)
        XCTAssertEqual((lines.first?["sessions"] as? [[String: Any]])?.first?["name"] as? String, "ci.demo.beef0001.runner")
        XCTAssertEqual(publish(dir, env, input, flags: "--no-sync").stdout, "")
        let sentinel = try String(contentsOfFile: dir + "/demo/beef0001/artifacts/published.json", encoding: .utf8)
        XCTAssertTrue(sentinel.contains(#""exit_code":null"#) && sentinel.contains(#""status":"lost""#), sentinel)
        let text = try String(contentsOfFile: dir + "/demo/beef0001/index.txt", encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("Job: demo (beef0001) lost\n"), text)
        XCTAssertTrue(text.contains("  lost        runner                exit: -      duration: -         ended: -\n"), text)
        XCTAssertTrue(text.contains("  success     test "), text)
    }

    func testVanishedCancelledJobIsCancelledOnce() throws {
        let (dir, env) = world()
        try writeOpen(dir, PublishTests.runningJob(), seen: 1)
        let artifacts = dir + "/demo/beef0001/artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        try #"{"job_id":"beef0001","cancelled_at":"2026-11-27T23:54:59Z","reason":"cancel"}"#
            .write(toFile: artifacts + "/cancelled.json", atomically: true, encoding: .utf8)
        let input = PublishTests.stream([], listing: PublishTests.listing())
        let lines = statusLines(publish(dir, env, input, flags: "--no-sync").stdout)
        XCTAssertEqual(lines.map { $0["status"] as? String }, ["cancelled"])
        XCTAssertEqual(publish(dir, env, input, flags: "--no-sync").stdout, "")
    }

    func testNothingVanishesWithoutACompleteListingAfterIt() throws {
        let (dir, env) = world()
        let seen = PublishTests.now * 1_000_000_000
        try writeOpen(dir, PublishTests.runningJob(), seen: seen)
        // No listing; an incomplete one; a complete one taken at or before the job was seen.
        for input in [
            PublishTests.stream([], listing: nil),
            PublishTests.stream([], listing: PublishTests.listing(complete: false, atNanoseconds: seen + 1)),
            PublishTests.stream([], listing: PublishTests.listing(atNanoseconds: seen)),
            PublishTests.stream([], listing: PublishTests.listing(atNanoseconds: seen - 1)),
        ] {
            let ran = publish(dir, env, input, flags: "--no-sync")
            XCTAssertEqual(ran.status, 0, ran.stderr)
            XCTAssertEqual(ran.stdout, "", input)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/open").count, 1)
        // A job still in the stream is not vanished either, whatever the listing says.
        let live = publish(dir, env, PublishTests.stream([PublishTests.runningJob()], listing: PublishTests.listing(atNanoseconds: seen + 1)), flags: "--no-sync")
        XCTAssertEqual(live.stdout, "")
        // Then the listing proves it gone.
        let gone = publish(dir, env, PublishTests.stream([], listing: PublishTests.listing(atNanoseconds: seen + 1)), flags: "--no-sync")
        XCTAssertEqual(statusLines(gone.stdout).map { $0["status"] as? String }, ["lost"])
    }

    func testCorruptOpenJobFileIsReportedAndLeftAlone() throws {
        let (dir, env) = world()
        try FileManager.default.createDirectory(atPath: dir + "/.pici/open", withIntermediateDirectories: true)
        try "{not json".write(toFile: dir + "/.pici/open/demo.beef0001.json", atomically: true, encoding: .utf8)
        let ran = publish(dir, env, PublishTests.stream([], listing: PublishTests.listing()), flags: "--no-sync")
        XCTAssertEqual(ran.stdout, "")
        XCTAssertTrue(ran.stderr.contains("demo.beef0001.json"), ran.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/.pici/open/demo.beef0001.json"))
    }

    // MARK: Input

    func testUnsafeNamesAreSkippedWith65() {
        let (dir, env) = world()
        var bad = PublishTests.finishedJob()
        bad.name = ".."
        let ran = publish(dir, env, PublishTests.stream([bad, PublishTests.finishedJob()]) + "not json\n", flags: "--no-sync")
        XCTAssertEqual(ran.status, 65)
        XCTAssertEqual(statusLines(ran.stdout).count, 1, "the good job is still published")
        XCTAssertTrue(ran.stderr.contains("unsafe name"), ran.stderr)
        XCTAssertTrue(ran.stderr.contains("pici-publish: line 4:"), ran.stderr)  // after the listing
    }

    func testIncludeRunningPrintsEachPass() {
        let (dir, env) = world()
        let input = PublishTests.stream([PublishTests.runningJob(), PublishTests.finishedJob()])
        let first = statusLines(publish(dir, env, input, flags: "--include-running --no-sync").stdout)
        XCTAssertEqual(first.map { $0["status"] as? String }, ["running", "failed"])
        XCTAssertTrue(first[0]["exit_code"] is NSNull)
        XCTAssertNil(first[0]["ended_at"])
        let second = statusLines(publish(dir, env, input, flags: "--include-running --no-sync").stdout)
        XCTAssertEqual(second.map { $0["status"] as? String }, ["running"])
        XCTAssertEqual(publish(dir, env, input, flags: "--no-sync").stdout, "", "no running lines without the flag")
    }

    func testLinesGoOutInTheOrderOfTheStream() {
        // A running job's pages are written as its record comes, its line only at the end:
        // a finished job before it still prints first.
        let (dir, env) = world()
        let input = PublishTests.stream([PublishTests.finishedJob(), PublishTests.runningJob()])
        let lines = statusLines(publish(dir, env, input, flags: "--include-running --no-sync").stdout)
        XCTAssertEqual(lines.map { $0["job_id"] as? String }, ["abcd1234", "beef0001"])
        XCTAssertEqual(lines.map { $0["status"] as? String }, ["failed", "running"])
    }

    /// The stream from a shell that sends `first`, waits (up to 10 s) until `path` exists
    /// under the artifact dir, runs `meanwhile`, then sends `rest`; "TIMEOUT" on stderr if it
    /// waited in vain.
    func publishWaiting(_ dir: String, _ env: [String: String], first: String, until path: String, meanwhile: String = ":", rest: String, flags: String) -> Support.Ran {
        let script = """
            { printf '%s' '\(first)'
              i=0; until [ -e '\(dir)/\(path)' ]; do i=$((i + 1)); [ $i -le 200 ] || { echo TIMEOUT >&2; break; }; sleep 0.05; done
              \(meanwhile)
              printf '%s' '\(rest)'
            } | pici-publish --artifact-dir '\(dir)' \(flags)
            """
        return Support.sh(script, env: env)
    }

    func testARunningJobsPagesAreWrittenAsItsRecordComes() {
        let (dir, env) = world()
        let running = PublishTests.stream([PublishTests.runningJob()], listing: nil)
        let rest = PublishTests.stream([PublishTests.finishedJob()])
        let ran = publishWaiting(dir, env, first: running, until: "demo/beef0001/index.html", rest: rest, flags: "--include-running --no-sync")
        XCTAssertFalse(ran.stderr.contains("TIMEOUT"), "the running job's index came only with the end of the stream")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(statusLines(ran.stdout).map { $0["status"] as? String }, ["running", "failed"])
    }

    func testAJobKilledAtItsDeadlineAfterItsRecordCameIsPublishedInThatPass() throws {
        // pici-stage's reaper kills a job at its deadline once the job's record has gone on:
        // the marker comes after the record, before the stream ends.
        let (dir, env) = world()
        let running = PublishTests.stream([PublishTests.runningJob()], listing: nil)
        let marker = #"{"job_id":"beef0001","timed_out_at":"2026-11-27T23:55:00Z","reason":"deadline 1m"}"#
        let ran = publishWaiting(
            dir, env, first: running, until: "demo/beef0001/index.html",
            meanwhile: "mkdir -p '\(dir)/demo/beef0001/artifacts' && printf '%s\\n' '\(marker)' >'\(dir)/demo/beef0001/artifacts/timeout.json'",
            rest: PublishTests.stream([]), flags: "--include-running --no-sync")
        XCTAssertFalse(ran.stderr.contains("TIMEOUT"), ran.stderr)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let lines = statusLines(ran.stdout)
        XCTAssertEqual(lines.map { $0["status"] as? String }, ["timeout"], "published, not shown running")
        XCTAssertEqual(lines.first?["exit_code"] as? Int, 124)
        let front = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        XCTAssertTrue(front.contains(" 1 timeout</span>"), front)
        XCTAssertFalse(front.contains(" running</span>"), "the front page still shows it running")
    }

    /// The front page's summary: "N repositories, M jobs" and the tally.
    func frontSummary(_ dir: String) throws -> String {
        let page = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        return PagesTests.matches(page, "<p class=\"summary\">(.*)</p>").first ?? page
    }

    func testTheFrontPageHoldsTheJobsPublishedBeforeAndInThePass() throws {
        // A running job has the pass read the published jobs while the stream comes; a job
        // published later in the pass is on the page too, once.
        let (dir, env) = world()
        publish(dir, env, PublishTests.stream([PublishTests.finishedJob("old", "0000aaaa")]), flags: "--no-sync")
        let ran = publish(dir, env, PublishTests.stream([PublishTests.finishedJob(), PublishTests.runningJob("demo", "beef0002")]), flags: "--no-sync")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let summary = try frontSummary(dir)
        XCTAssertTrue(summary.contains("2 repositories, 3 jobs"), summary)
        XCTAssertTrue(summary.contains(" 1 running</span>") && summary.contains(" 2 failed</span>"), summary)
    }

    func testAJobRecoveredFromTheOutboxIsOnTheFrontPageOnce() throws {
        let (dir, env) = world()
        var faulty = env
        faulty["PICI_FAULT"] = "after-outbox"
        let crashed = publish(dir, faulty, PublishTests.stream([PublishTests.finishedJob()]), flags: "--no-sync")
        XCTAssertEqual(crashed.status, 137)
        // The next pass finishes it first, then a running job has it read the published jobs.
        let ran = publish(dir, env, PublishTests.stream([PublishTests.finishedJob(), PublishTests.runningJob()]), flags: "--no-sync")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(statusLines(ran.stdout).count, 1)
        let summary = try frontSummary(dir)
        XCTAssertTrue(summary.contains("1 repository, 2 jobs"), summary)
    }

    func testAnOpenJobFileLeftByAPublishedJobInTheStreamGoes() throws {
        // A pici-stage beside a publish can write a job's open-job file again after its line
        // was committed; files of jobs in the stream are not read, but such a one goes.
        let (dir, env) = world()
        let job = PublishTests.finishedJob()
        XCTAssertEqual(statusLines(publish(dir, env, PublishTests.stream([job]), flags: "--no-sync").stdout).count, 1)
        try OpenJobs.write(OpenJob(job: job, seenAtNanoseconds: 1), artifactDir: dir)
        let path = OpenJobs.path(artifactDir: dir, name: job.name, jobID: job.jobID)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        let again = publish(dir, env, PublishTests.stream([job]), flags: "--no-sync")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "", "published once")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the open-job file of a published job stays")
    }

    /// A pass that erased a person's running lines (to print a line a dead pass left) and is
    /// stopped before it prints its own must leave nothing to erase: the next pass would
    /// erase what came since, the line it printed.
    func testARedrawStoppedAfterItErasedLeavesNothingToErase() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("script(1) is not installed") }
        let (dir, env) = world()
        let stream = dir + "/../stream.jsonl"
        try PublishTests.stream([PublishTests.runningJob()]).write(toFile: stream, atomically: true, encoding: .utf8)
        let flags = "--artifact-dir '\(dir)' --no-sync --human --include-running"
        // At a terminal (script(1)): the running job's lines, counted for the next redraw.
        Support.sh("script -qec \"pici-publish \(flags) < '\(stream)'\" /dev/null >/dev/null", env: env)
        let counted = dir + "/.pici/human-lines"
        XCTAssertEqual(try String(contentsOfFile: counted, encoding: .utf8), "3\n")
        // A pass dies with a finished job's line committed, not printed.
        var faulty = env
        faulty["PICI_FAULT"] = "after-outbox"
        XCTAssertEqual(publish(dir, faulty, PublishTests.stream([PublishTests.finishedJob()]), flags: "--no-sync").status, 137)
        // The next erases, prints that line, and is killed while its stream has not ended.
        Support.sh("script -qec \"sleep 4 | timeout -s KILL 3 pici-publish \(flags)\" /dev/null >/dev/null", env: env)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/demo/abcd1234/artifacts/published.json"), "recovered")
        XCTAssertEqual(try String(contentsOfFile: counted, encoding: .utf8), "0\n")
    }

    /// At a terminal (script(1)): two running lines as a pass leaves them (counted 2, their
    /// text in `human-running` when given), then `input` through `--above-running`. What the
    /// terminal got, and the count after.
    func aboveRunningAtATerminal(running: String?, input: String) throws -> (raw: String, count: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("script(1) is not installed") }
        let (dir, env) = world()
        try FileManager.default.createDirectory(atPath: dir + "/.pici", withIntermediateDirectories: true)
        try "2\n".write(toFile: dir + "/.pici/human-lines", atomically: true, encoding: .utf8)
        try running?.write(toFile: dir + "/.pici/human-running", atomically: true, encoding: .utf8)
        let body = dir + "/../body.sh", typescript = dir + "/../typescript"
        try "printf 'one\\ntwo\\n'; printf '\(input)' | pici-publish --above-running --artifact-dir '\(dir)'; echo \" rc=$?\"\n"
            .write(toFile: body, atomically: true, encoding: .utf8)
        Support.sh("script -qec 'bash \(body)' '\(typescript)' >/dev/null", env: env)
        return (try String(contentsOfFile: typescript, encoding: .utf8), try String(contentsOfFile: dir + "/.pici/human-lines", encoding: .utf8))
    }

    /// `--above-running` at a terminal: the running lines a pass left are erased before what
    /// it prints and drawn again below it, as they were drawn; the next pass erases them, and
    /// nothing of what was printed.
    func testAboveRunningPrintsAboveTheRunningLinesAtATerminal() throws {
        let seen = try aboveRunningAtATerminal(running: "one\ntwo\n", input: "said\\n")
        XCTAssertTrue(seen.raw.contains("one\r\ntwo\r\n\u{1B}[A\u{1B}[A\r\u{1B}[Jsaid\r\none\r\ntwo\r\n rc=0"), seen.raw)
        XCTAssertEqual(seen.count, "2\n")
    }

    /// Without the lines' text (or with other text than counted) they are only erased, and
    /// counted as gone. A line without its end still comes out, at the end of the input.
    func testAboveRunningErasesTheRunningLinesFirstAtATerminal() throws {
        let seen = try aboveRunningAtATerminal(running: nil, input: "said\\ncut")
        XCTAssertTrue(seen.raw.contains("one\r\ntwo\r\n\u{1B}[A\u{1B}[A\r\u{1B}[Jsaid\r\ncut rc=0"), seen.raw)
        XCTAssertEqual(seen.count, "0\n")
    }

    /// Elsewhere it only copies: no escape, and the count is left to the passes.
    func testAboveRunningOnlyCopiesWhenNotAtATerminal() throws {
        let (dir, env) = world()
        try FileManager.default.createDirectory(atPath: dir + "/.pici", withIntermediateDirectories: true)
        try "2\n".write(toFile: dir + "/.pici/human-lines", atomically: true, encoding: .utf8)
        let ran = Support.sh("pici-publish --above-running --artifact-dir '\(dir)'", env: env, input: "a\nb")
        XCTAssertEqual(ran.status, 0)
        XCTAssertEqual(ran.stderr, "a\nb")
        XCTAssertEqual(ran.stdout, "")
        XCTAssertEqual(try String(contentsOfFile: dir + "/.pici/human-lines", encoding: .utf8), "2\n")
    }

    // MARK: Human output

    func testHumanOutputWhenNotATerminal() throws {
        let (dir, env) = world()
        try writeEvent(dir, "demo", "abcd1234", dest: "", workspace: "/srv/ws")
        let input = PublishTests.stream([PublishTests.finishedJob(), PublishTests.runningJob()])
        let ran = publish(dir, env, input, flags: "--human --include-running --no-sync")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        Support.assertGolden(ran.stdout.replacingOccurrences(of: dir, with: "DIR"), "index-human.txt")
        XCTAssertFalse(ran.stdout.contains("\u{1B}"), "no escapes when stdout is not a terminal")
        // The running section again, the final block not.
        let again = publish(dir, env, input, flags: "--human --include-running --no-sync")
        XCTAssertEqual(again.stdout, "   demo         running, job beef0001\n   runner       running (50s)\n   test         success (4.0s)\n")
    }

    func testHumanRedrawErasesThePreviousSection() {
        XCTAssertEqual(HumanOutput.erase(lines: 0), "")
        XCTAssertEqual(HumanOutput.erase(lines: 3), "\u{1B}[A\u{1B}[A\u{1B}[A\r\u{1B}[J")
        // Two running jobs make one section, so a redraw moves up over both.
        let lines = HumanOutput.runningLines(job: PublishTests.runningJob(), now: PublishTests.now)
            + HumanOutput.runningLines(job: PublishTests.runningJob("api", "00c0ffee"), now: PublishTests.now)
        XCTAssertEqual(lines.count, 6)
        XCTAssertEqual(lines[3], "   api          running, job 00c0ffee")
    }

    // MARK: rsync

    func testSyncCommandLine() throws {
        let plain = ArtifactSync()
        XCTAssertEqual(try plain.arguments(source: "/a/demo/x", destination: "host:/srv/art"),
                       ["rsync", "-r", "--from0", "--files-from=-", "--exclude=.pici-*", "--exclude=.*.tmp.*", "--", "/a/demo/x/", "host:/srv/art/"])
        let ssh = ArtifactSync(key: "/k/id", certificate: "/k/id-cert.pub", home: "/nonexistent")
        XCTAssertEqual(try ssh.arguments(source: "/a", destination: "d/"),
                       ["rsync", "-r", "--from0", "--files-from=-", "-e", "ssh -i /k/id -o IdentitiesOnly=yes -o CertificateFile=/k/id-cert.pub",
                        "--exclude=.pici-*", "--exclude=.*.tmp.*", "--", "/a/", "d/"])
        // ~ is not expanded by rsync or ssh: the config is named by $HOME when it exists.
        let home = Support.tempDir(self, "home")
        try FileManager.default.createDirectory(atPath: home + "/.ssh", withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: home + "/.ssh/config", contents: Data()))
        XCTAssertEqual(try ArtifactSync(key: "/k/id", home: home).sshCommand(),
                       "ssh -F \(home)/.ssh/config -i /k/id -o IdentitiesOnly=yes")
        XCTAssertThrowsError(try plain.arguments(source: "/a", destination: "--rsync-path=evil"))
        XCTAssertThrowsError(try plain.arguments(source: "/a", destination: ""))
        XCTAssertThrowsError(try ArtifactSync(key: "/my keys/id").arguments(source: "/a", destination: "d")) { error in
            XCTAssertTrue("\(error)".contains("/my keys/id"), "\(error)")
        }
        XCTAssertThrowsError(try ArtifactSync(key: "/k/id", certificate: "/k/it's").arguments(source: "/a", destination: "d"))
    }

    func testSyncCopiesTheJobToALocalDestination() throws {
        let (dir, env) = world()
        let dest = dir + "/../dest"
        try writeEvent(dir, "demo", "abcd1234", dest: dest)
        let ran = publish(dir, env, PublishTests.stream([PublishTests.finishedJob()]))
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(statusLines(ran.stdout).count, 1)
        for file in ["index.html", "index.txt", "styles.css", "artifacts/event.json", "artifacts/published.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dest + "/" + file), file)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/sync"), [])
    }

    func testFailedSyncIsRetriedAndTheLineIsPrintedOnce() throws {
        let (dir, env) = world()
        let parent = dir + "/../later"
        try writeEvent(dir, "demo", "abcd1234", dest: parent + "/dest")
        let input = PublishTests.stream([PublishTests.finishedJob()])
        let first = publish(dir, env, input)
        XCTAssertEqual(first.status, 69)
        XCTAssertEqual(statusLines(first.stdout).count, 1, "the line does not wait for rsync")
        XCTAssertTrue(first.stderr.contains("will retry"), first.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/sync"), ["demo.abcd1234"])

        let second = publish(dir, env, input)
        XCTAssertEqual(second.status, 69)
        XCTAssertEqual(second.stdout, "")

        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let third = publish(dir, env, input)
        XCTAssertEqual(third.status, 0, third.stderr)
        XCTAssertEqual(third.stdout, "")
        XCTAssertTrue(FileManager.default.fileExists(atPath: parent + "/dest/artifacts/published.json"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/sync"), [])
    }

    func testSyncSendsOnlyWhatChangedInOneRsyncPerDestination() throws {
        let (dir, plain) = world()
        let (env, log) = try loggingRsync(plain, dir)
        let dest = dir + "/../site"
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        // Destinations of the form BASE/<name>/<job_id>: one destination, BASE.
        let ids = ["beef0001", "beef0002", "beef0003"]
        for id in ids { try writeEvent(dir, "demo", id, dest: dest + "/demo/" + id) }
        let running = PublishTests.stream(ids.map { PublishTests.runningJob("demo", $0) })
        XCTAssertEqual(publish(dir, env, running).status, 0)
        var calls = rsyncCalls(log)
        XCTAssertEqual(calls.count, 1, "\(calls)")
        for id in ids {
            XCTAssertTrue(calls[0].contains("demo/\(id)/index.html"), calls[0])
            XCTAssertTrue(calls[0].contains("demo/\(id)/artifacts/event.json"), calls[0])
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dest)/demo/\(id)/index.html"), id)
        }
        XCTAssertTrue(calls[0].hasPrefix("dest=\(dest)/ "), calls[0])

        // A running job's pages are written anew on every pass: only they go again.
        XCTAssertEqual(publish(dir, env, running).status, 0)
        calls = rsyncCalls(log)
        XCTAssertEqual(calls.count, 2, "\(calls)")
        XCTAssertFalse(calls[1].contains("event.json"), calls[1])
        XCTAssertFalse(calls[1].contains("styles.css"), calls[1])
        XCTAssertTrue(calls[1].contains("demo/beef0002/index.txt"), calls[1])

        // Published: the final pages go once, then the jobs need nothing and no rsync runs.
        let finished = PublishTests.stream(ids.map { PublishTests.finishedJob("demo", $0) })
        XCTAssertEqual(publish(dir, env, finished).status, 0)
        XCTAssertEqual(rsyncCalls(log).count, 3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dest + "/demo/beef0003/artifacts/published.json"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/sync"), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/sent"), [])
        XCTAssertEqual(publish(dir, env, finished).status, 0)
        XCTAssertEqual(rsyncCalls(log).count, 3, "nothing changed, no rsync")
    }

    func testSyncLaterLeavesTheRsyncToTheSyncLoop() throws {
        let (dir, plain) = world()
        let (env, log) = try loggingRsync(plain, dir)
        let dest = dir + "/../dest"
        try writeEvent(dir, "demo", "abcd1234", dest: dest)
        let ran = publish(dir, env, PublishTests.stream([PublishTests.finishedJob()]), flags: "--sync-later")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(statusLines(ran.stdout).count, 1)
        XCTAssertEqual(rsyncCalls(log), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/sync"), ["demo.abcd1234"])
        // The loop sends it, retires the marker, and ends at SIGTERM with status 0.
        let loop = Support.sh("""
            pici-publish --sync-loop --artifact-dir '\(dir)' & pid=$!
            for i in $(seq 100); do [ -e '\(dest)/artifacts/published.json' ] && [ -z "$(ls '\(dir)/.pici/sync')" ] && break; sleep 0.1; done
            kill -TERM $pid; wait $pid
            """, env: env)
        XCTAssertEqual(loop.status, 0, loop.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dest + "/artifacts/published.json"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/sync"), [])
        XCTAssertEqual(rsyncCalls(log).count, 1)
    }

    func testTheSyncLoopBacksOffADestinationThatFails() throws {
        let (dir, env) = world()
        try writeEvent(dir, "demo", "abcd1234", dest: dir + "/../missing/parent/dest")
        publish(dir, env, PublishTests.stream([PublishTests.finishedJob()]), flags: "--sync-later")
        let loop = Support.sh("""
            pici-publish --sync-loop --artifact-dir '\(dir)' & pid=$!
            for i in $(seq 100); do [ -s '\(dir)/.pici/sync-backoff.json' ] && break; sleep 0.1; done
            sleep 1.5; kill -TERM $pid; wait $pid
            """, env: env)
        XCTAssertEqual(loop.status, 0, loop.stderr)
        // One try, not one a second: the next is 10 s away, and a restart keeps to that.
        XCTAssertEqual(loop.stderr.components(separatedBy: "; will retry").count - 1, 1, loop.stderr)
        XCTAssertTrue(loop.stderr.contains("will retry in 10s"), loop.stderr)
        let table = try String(contentsOfFile: dir + "/.pici/sync-backoff.json", encoding: .utf8)
        XCTAssertTrue(table.contains(#""failures":1"#), table)
        let again = Support.sh("pici-publish --sync-loop --artifact-dir '\(dir)' & pid=$!; sleep 1.5; kill -TERM $pid; wait $pid", env: env)
        XCTAssertEqual(again.stderr, "", "a restart keeps the backoff")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/sync"), ["demo.abcd1234"])
    }

    func testTheTimestampIsWhenTheLineIsPrinted() throws {
        // The pass waits for the lock another holds for 2 s: its line is dated after that
        // wait, not when the pass began.
        let (dir, fixed) = world()
        var env = fixed
        env.removeValue(forKey: "PICI_NOW")
        try FileManager.default.createDirectory(atPath: dir + "/.pici", withIntermediateDirectories: true)
        let ran = Support.sh("""
            flock '\(dir)/.pici/lock' sleep 2 & sleep 0.3
            date +%s >&2
            pici-publish --artifact-dir '\(dir)' --no-sync
            """, env: env, input: PublishTests.stream([PublishTests.finishedJob()]))
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let began = Int(ran.stderr.trimmingCharacters(in: .whitespacesAndNewlines))!
        let stamp = try XCTUnwrap(statusLines(ran.stdout).first?["timestamp"] as? String)
        let printed = try XCTUnwrap(ISO8601DateFormatter().date(from: stamp)).timeIntervalSince1970
        XCTAssertGreaterThanOrEqual(Int(printed) - began, 1, "dated when the pass began: \(stamp)")
    }

    func testMissingRsyncIs69AndTheLineStillComes() throws {
        let (dir, env) = world()
        try writeEvent(dir, "demo", "abcd1234", dest: dir + "/../dest")
        var noRsync = env
        noRsync["PATH"] = Support.binDir
        let ran = Support.sh("'\(Support.binDir)/pici-publish' --artifact-dir '\(dir)'", env: noRsync, input: PublishTests.stream([PublishTests.finishedJob()]))
        XCTAssertEqual(ran.status, 69)
        XCTAssertEqual(statusLines(ran.stdout).count, 1)
        XCTAssertTrue(ran.stderr.contains("rsync: command not found"), ran.stderr)
    }

    /// The outbox entry cannot be written: 73, nothing printed, and the line comes once the
    /// state is writable again. (A directory in the way works even for root.)
    func testUnwritableOutboxIs73AndTheLineWaits() throws {
        let (dir, env) = world()
        let input = PublishTests.stream([PublishTests.finishedJob()])
        let entry = dir + "/.pici/outbox/demo.abcd1234.json"
        try FileManager.default.createDirectory(atPath: entry, withIntermediateDirectories: true)
        let blocked = publish(dir, env, input, flags: "--no-sync")
        XCTAssertEqual(blocked.status, 73, blocked.stderr)
        XCTAssertEqual(blocked.stdout, "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/demo/abcd1234/artifacts/published.json"))
        try FileManager.default.removeItem(atPath: entry)
        let next = publish(dir, env, input, flags: "--no-sync")
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertEqual(statusLines(next.stdout).count, 1)
    }

    /// The sentinel cannot be written after the commit: 73, nothing printed, and a later pass
    /// finishes the commit from the outbox, even with the job gone from the stream.
    func testUnwritableSentinelIs73AndTheLineIsNeverLost() throws {
        let (dir, env) = world()
        let input = PublishTests.stream([PublishTests.finishedJob()])
        try FileManager.default.createDirectory(atPath: dir + "/demo/abcd1234", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/demo/abcd1234/artifacts", contents: Data("in the way".utf8))
        let blocked = publish(dir, env, input, flags: "--no-sync")
        XCTAssertEqual(blocked.status, 73, blocked.stderr)
        XCTAssertEqual(blocked.stdout, "")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.pici/outbox").count, 1)
        try FileManager.default.removeItem(atPath: dir + "/demo/abcd1234/artifacts")
        let next = publish(dir, env, "", flags: "--no-sync")
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertEqual(statusLines(next.stdout).count, 1)
        XCTAssertEqual(publish(dir, env, input, flags: "--no-sync").stdout, "")
    }

    // MARK: The lock

    func testSecondPublisherWaitsForTheLock() throws {
        let (dir, env) = world()
        try FileManager.default.createDirectory(atPath: dir + "/.pici", withIntermediateDirectories: true)
        let lock = try FileLock(path: dir + "/.pici/lock")
        let out = dir + "/../out"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "pici-publish --artifact-dir '\(dir)' --no-sync > '\(out)'"]
        p.environment = env
        let input = Pipe()
        p.standardInput = input
        try p.run()
        input.fileHandleForWriting.write(Data(PublishTests.stream([PublishTests.finishedJob()]).utf8))
        input.fileHandleForWriting.closeFile()
        usleep(700_000)
        XCTAssertTrue(p.isRunning, "it must wait while the lock is held")
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "")
        lock.release()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(statusLines(try String(contentsOfFile: out, encoding: .utf8)).count, 1)
    }

    func testConcurrentPublishersPrintOnce() throws {
        let (dir, env) = world()
        let out = dir + "/../out"
        let input = PublishTests.stream([PublishTests.finishedJob(), PublishTests.finishedJob("api", "00c0ffee")])
        let inFile = dir + "/../in"
        try input.write(toFile: inFile, atomically: true, encoding: .utf8)
        let ran = Support.sh("""
            for i in 1 2 3 4 5 6; do pici-publish --artifact-dir '\(dir)' --no-sync < '\(inFile)' >> '\(out)' & done; wait
            """, env: env)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let lines = statusLines(try String(contentsOfFile: out, encoding: .utf8))
        XCTAssertEqual(lines.map { $0["name"] as? String }.sorted { ($0 ?? "") < ($1 ?? "") }, ["api", "demo"])
    }

    func testHelpListsEveryFlag() {
        let (_, env) = world()
        let ran = Support.sh("pici-publish --help", env: env)
        XCTAssertEqual(ran.status, 0)
        let usage = ran.stdout.components(separatedBy: "\n").first ?? ""
        XCTAssertTrue(usage.hasPrefix("usage: pici-publish"))
        for flag in ["--artifact-dir", "--human", "--include-running", "--no-sync", "-pk", "-ck", "--sync-timeout"] {
            XCTAssertTrue(usage.contains(flag), flag)
        }
        XCTAssertEqual(Support.sh("pici-publish --version", env: env).stdout, "pici-publish \(PiciVersion.string)\n")
        XCTAssertEqual(Support.sh("pici-publish --bogus", env: env).status, 64)
    }
}
