import Foundation
import XCTest
@testable import PiciKit

/// pici-run end to end through the stand-in zmx, plus its pure parts.
final class RunTests: XCTestCase {
    // MARK: helpers

    /// A world whose zmx calls are logged, with a private TMPDIR for workspaces.
    private struct Setup {
        let world: Support.ZmxWorld
        let calls: String
        let tmp: String
        let art: String
        func sh(_ script: String, input: String = "", timeout: TimeInterval = 120) -> Support.Ran {
            world.sh("export TMPDIR='\(tmp)'\n" + script, input: input, timeout: timeout)
        }
        var callLog: [String] {
            ((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        var sessions: [String] {
            world.sh("zmx list 2>/dev/null").stdout.split(separator: "\n").compactMap { line in
                line.split(separator: "\t").first.map { String($0.dropFirst(2).dropFirst("name=".count)) }
            }
        }
    }

    private func setup() -> Setup {
        let calls = Support.tempDir(self, "calls") + "/zmx.log"
        let world = Support.ZmxWorld(self, extra: ["ZMX_CALL_LOG": calls])
        return Setup(world: world, calls: calls, tmp: Support.tempDir(self, "tmp"), art: Support.artifactDir(self))
    }

    /// A workspace dir holding `pico.sh` (unless nil) and a `.git` dir.
    private func workspace(_ pico: String?, files: [String: String] = [:]) -> String {
        let dir = Support.tempDir(self, "ws")
        try! FileManager.default.createDirectory(atPath: dir + "/.git/objects", withIntermediateDirectories: true)
        try! "ref: refs/heads/main\n".write(toFile: dir + "/.git/HEAD", atomically: true, encoding: .utf8)
        if let pico { try! pico.write(toFile: dir + "/pico.sh", atomically: true, encoding: .utf8) }
        for (name, text) in files {
            let path = dir + "/" + name
            try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try! text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return dir
    }

    private func event(_ name: String, _ ws: String, extra: String = "") -> String {
        #"{"type":"push","name":"\#(name)","workspace":"\#(ws)"\#(extra)}"#
    }

    /// The job id from pici-run's first line, `starting job ci.<name>.<id>`.
    private func jobID(_ stdout: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        guard let first = stdout.split(separator: "\n").first, first.hasPrefix("starting job ci."), first.count >= 8 else {
            XCTFail("no start line in: \(stdout)", file: file, line: line)
            return "none"
        }
        return String(first.suffix(8))
    }

    private func waitUntil(_ what: String, seconds: Double = 15, _ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what)", file: file, line: line)
    }

    private func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    private func json(_ path: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))) as? [String: Any] ?? [:]
    }

    static let twoSteps = """
        #!/usr/bin/env bash
        set -euo pipefail
        printf '%s|%s|%s|%s|%s\\n' "$PICO_CI_JOB_ID" "$PICO_CI_REPO" "$PICO_CI_EVENT_TYPE" "$ZMX_SESSION_PREFIX" "$PWD" > seen-env
        zmx run ok -d echo fine
        zmx run bad -d bash -c 'echo broken; exit 3'
        zmx wait "*"

        """

    static let sleepers = """
        #!/usr/bin/env bash
        set -euo pipefail
        zmx run a -d sleep 30
        zmx run b -d sleep 30
        zmx wait "*"

        """

    // MARK: a job, waited for

    func testWaitShowsProgressTheFailedStepsHistoryAndExitsWithTheJobsCode() throws {
        let s = setup()
        let ws = workspace(RunTests.twoSteps)
        let ran = s.sh("pici-run --wait --interval 200ms --artifact-dir '\(s.art)'", input: event("demo", ws, extra: #","branch":"main","commit":"c0ffee""#))
        XCTAssertEqual(ran.status, 3, ran.stdout + ran.stderr)
        XCTAssertEqual(ran.stderr, "")
        let id = jobID(ran.stdout)
        let lines = ran.stdout.components(separatedBy: "\n")
        XCTAssertGreaterThan(lines.count, 12)
        guard lines.count > 12, lines[4].hasPrefix("workspace ready ") else { return XCTFail(ran.stdout) }
        let dir = String(lines[4].dropFirst("workspace ready ".count))
        XCTAssertEqual(Array(lines[0..<10]), [
            "starting job ci.demo.\(id)",
            "   event: type=push name=demo workspace=\(ws)",
            #"   {"type":"push","name":"demo","workspace":"\#(ws)","branch":"main","commit":"c0ffee","artifact_dest":""}"#,
            "syncing workspace \(ws)",
            "workspace ready \(dir)",
            "found \(dir)/pico.sh",
            "launching sessions...",
            "job launched",
            "",
            "waiting for completion...",
        ])
        XCTAssertTrue(dir.hasPrefix(s.tmp + "/pici-"), dir)
        // Each session's line is printed again only when its state changes.
        XCTAssertEqual(lines.filter { $0.hasPrefix("   ok           success (") }.count, 1, ran.stdout)
        XCTAssertEqual(lines.filter { $0.hasPrefix("   bad          failed, exit 3 (") }.count, 1, ran.stdout)
        XCTAssertEqual(lines.filter { $0.hasPrefix("   runner       failed, exit 3 (") }.count, 1, ran.stdout)
        let rule = String(repeating: "─", count: 50)
        XCTAssertTrue(ran.stdout.contains("\(rule)\nSession: bad (exit 3)\n\(rule)\n\n"), ran.stdout)
        XCTAssertTrue(ran.stdout.contains("\(rule)\nSession: runner (exit 3)\n\(rule)\n\n"), ran.stdout)
        let badTail = ran.stdout.components(separatedBy: "Session: bad (exit 3)").last ?? ""
        XCTAssertTrue(badTail.contains("\n   broken\n"), badTail)
        XCTAssertFalse(ran.stdout.contains("Session: ok"))
        XCTAssertNotNil(ran.stdout.range(of: #"\n\njob failed: exit 3 \(\d+(\.\d)?m?\d*s\)\n$"#, options: .regularExpression), ran.stdout)

        // The seed's zmx run, exactly; history fetched for the failed sessions only.
        XCTAssertTrue(s.callLog.contains("run ci.demo.\(id).runner -d ZMX_SESSION_PREFIX=ci.demo.\(id).step. bash \(dir)/pico.sh"), "\(s.callLog)")
        // (The runner's follower takes one history of the runner too.)
        XCTAssertEqual(Set(s.callLog.filter { $0.hasPrefix("history ") }), ["history ci.demo.\(id).runner --html", "history ci.demo.\(id).step.bad --html"])
        // pico.sh ran in the workspace with the job's variables.
        XCTAssertEqual(read(dir + "/seen-env"), "\(id)|demo|push|ci.demo.\(id).step.|\(dir)\n")
        // The workspace: pico.sh copied, .git not.
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/pico.sh"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/.git"), "the .git dir was copied")

        let artifacts = "\(s.art)/demo/\(id)/artifacts"
        XCTAssertEqual(read(artifacts + "/event.json"), #"{"type":"push","name":"demo","workspace":"\#(ws)","branch":"main","commit":"c0ffee","artifact_dest":""}"#)
        let attestation = read(artifacts + "/attestation.json")
        XCTAssertNotNil(attestation.range(of: #"^\{"provenance":\{"branch":"main","commit":"c0ffee","repo":"demo"\},"runner":\{"arch":"(amd64|arm64)","hostname":"[^"]+","os":"linux"\},"workspace_checksum":""\}$"#, options: .regularExpression), attestation)
        let open = json("\(s.art)/.pici/open/demo.\(id).json")
        XCTAssertEqual((open["job"] as? [String: Any])?["job_id"] as? String, id)
        XCTAssertNotNil(open["seen_at_ns"] as? Int)
    }

    func testWithoutWaitItPrintsTheSeedsHintsAndReturnsAtOnce() throws {
        let s = setup()
        let ws = workspace(RunTests.sleepers)
        let started = Date()
        // A prefix inherited from an enclosing job must not reach our own zmx calls.
        let ran = s.sh("ZMX_SESSION_PREFIX=ci.elsewhere. pici-run --artifact-dir '\(s.art)' --event '\(event("demo", ws))'")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        let id = jobID(ran.stdout)
        XCTAssertTrue(ran.stdout.hasSuffix("job launched\n   zmx tail ci.demo.\(id).runner\n   zmx history ci.demo.\(id).runner\n   zmx attach ci.demo.\(id).runner\n"), ran.stdout)
        XCTAssertTrue(s.sessions.contains("ci.demo.\(id).runner"))
    }

    // MARK: the artifact dir

    /// An artifact dir that cannot be written is said before the workspace is synced (which
    /// may take minutes) and before any job is cancelled.
    func testAnUnwritableArtifactDirIsRefusedBeforeTheWorkspaceIsSynced() throws {
        let s = setup()
        let blocked = Support.tempDir(self, "blocked") + "/file"
        try "not a dir".write(toFile: blocked, atomically: true, encoding: .utf8)
        let ran = s.sh("pici-run --artifact-dir '\(blocked)/art'", input: event("demo", workspace(RunTests.sleepers)))
        XCTAssertEqual(ran.status, 73, ran.stderr)
        XCTAssertFalse(ran.stdout.contains("syncing workspace"), ran.stdout)
        XCTAssertTrue(ran.stderr.contains("pici-run: create directory \(blocked): Not a directory"), ran.stderr)
        XCTAssertEqual(s.callLog, [], "no zmx call, no cancel")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.tmp), [], "no workspace made")
    }

    /// pici-run and the monitor must use the same dir: PICI_ARTIFACT_DIR for both, the flag
    /// winning, and a warning when the dir has never seen a monitor pass.
    func testPICI_ARTIFACT_DIRIsTheDefaultAndADirNoMonitorSawIsWarnedOf() throws {
        let s = setup()
        let ws = workspace(RunTests.sleepers)
        let fresh = Support.tempDir(self, "fresh") + "/art"
        let ran = s.sh("PICI_ARTIFACT_DIR='\(fresh)' pici-run", input: event("demo", ws))
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let id = jobID(ran.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(fresh)/demo/\(id)/artifacts/event.json"))
        XCTAssertEqual(ran.stderr, "pici-run: no monitor has made a pass over \(fresh) yet: give pici-monitor the same --artifact-dir (or PICI_ARTIFACT_DIR), or its status is never published\n")
        // The flag wins; a dir a monitor has seen is not warned of.
        let flagged = s.sh("PICI_ARTIFACT_DIR='\(fresh)' pici-run --artifact-dir '\(s.art)'", input: event("other", ws))
        XCTAssertEqual(flagged.status, 0, flagged.stderr)
        XCTAssertEqual(flagged.stderr, "")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(s.art)/other/\(jobID(flagged.stdout))/artifacts/event.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(fresh)/other"))
    }

    // MARK: cancel

    func testASecondEventCancelsTheFirstJobsRunnerAndStepsOnlyForThatRepo() throws {
        let s = setup()
        let ws = workspace(RunTests.sleepers)
        let other = s.sh("pici-run --artifact-dir '\(s.art)'", input: event("demo.x", ws))
        XCTAssertEqual(other.status, 0, other.stderr)
        let otherID = jobID(other.stdout)
        let first = s.sh("pici-run --artifact-dir '\(s.art)'", input: event("demo", ws))
        XCTAssertEqual(first.status, 0, first.stderr)
        let id1 = jobID(first.stdout)
        waitUntil("the first job's steps") {
            Set(s.sessions).isSuperset(of: ["ci.demo.\(id1).step.a", "ci.demo.\(id1).step.b", "ci.demo.x.\(otherID).step.b"])
        }

        let second = s.sh("pici-run --artifact-dir '\(s.art)'", input: event("demo", ws))
        XCTAssertEqual(second.status, 0, second.stderr)
        let id2 = jobID(second.stdout.split(separator: "\n").dropFirst().joined(separator: "\n"))
        XCTAssertTrue(second.stdout.hasPrefix("cancelled ci.demo.\(id1) (superseded, 3 sessions killed)\nstarting job ci.demo.\(id2)\n"), second.stdout)
        let left = s.sessions
        XCTAssertFalse(left.contains { $0.hasPrefix("ci.demo.\(id1).") }, "\(left)")
        XCTAssertTrue(left.contains("ci.demo.\(id2).runner"), "\(left)")
        XCTAssertTrue(left.contains("ci.demo.x.\(otherID).runner"), "repo demo.x was cancelled too: \(left)")
        XCTAssertTrue(s.callLog.contains("kill ci.demo.\(id1).runner ci.demo.\(id1).step.*"), "\(s.callLog)")
        let marker = json("\(s.art)/demo/\(id1)/artifacts/cancelled.json")
        XCTAssertEqual(marker["job_id"] as? String, id1)
        XCTAssertEqual(marker["reason"] as? String, "superseded")
        XCTAssertEqual(marker["superseded_by"] as? String, id2)
        XCTAssertNotNil((marker["cancelled_at"] as? String).flatMap(TimeFormat.parseRFC3339))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(s.art)/demo.x/\(otherID)/artifacts/cancelled.json"))
    }

    func testCancelOnlyCancels() throws {
        let s = setup()
        let ws = workspace(RunTests.sleepers)
        let job = s.sh("pici-run --artifact-dir '\(s.art)'", input: event("demo", ws))
        let id = jobID(job.stdout)
        waitUntil("the steps") { s.sessions.contains("ci.demo.\(id).step.b") }
        let cancel = s.sh("pici-run --cancel --artifact-dir '\(s.art)'", input: #"{"name":"demo"}"#)
        XCTAssertEqual(cancel.status, 0, cancel.stderr)
        XCTAssertEqual(cancel.stdout, "cancelled ci.demo.\(id) (cancel, 3 sessions killed)\n")
        XCTAssertEqual(s.sessions, [])
        XCTAssertEqual(json("\(s.art)/demo/\(id)/artifacts/cancelled.json")["reason"] as? String, "cancel")
        XCTAssertTrue(s.callLog.contains("kill ci.demo.\(id).runner ci.demo.\(id).step.*"), "\(s.callLog)")
        // Nothing to cancel is said, not silence; NAME may stand for the event.
        let again = s.sh("pici-run --cancel --artifact-dir '\(s.art)'", input: #"{"name":"demo"}"#)
        XCTAssertEqual(again.status, 0)
        XCTAssertEqual(again.stdout, "nothing to cancel: no job of demo is running\n")
        XCTAssertEqual(s.sh("pici-run --cancel demo --artifact-dir '\(s.art)' </dev/null").stdout, "nothing to cancel: no job of demo is running\n")
    }

    func testCancelByName() throws {
        let s = setup()
        let ws = workspace(RunTests.sleepers)
        let job = s.sh("pici-run --artifact-dir '\(s.art)'", input: event("demo", ws))
        let id = jobID(job.stdout)
        waitUntil("the steps") { s.sessions.contains("ci.demo.\(id).step.b") }
        let cancel = s.sh("pici-run --cancel demo --artifact-dir '\(s.art)' </dev/null")
        XCTAssertEqual(cancel.status, 0, cancel.stderr)
        XCTAssertEqual(cancel.stdout, "cancelled ci.demo.\(id) (cancel, 3 sessions killed)\n")
        XCTAssertEqual(s.sh("pici-run --cancel 'a/b' </dev/null").status, 65, "a NAME is checked as an event's name is")
        XCTAssertEqual(s.sh("pici-run --cancel demo --event '{\"name\":\"demo\"}'").status, 64)
        XCTAssertEqual(s.sh("pici-run --cancel demo extra </dev/null").status, 64)
        XCTAssertEqual(s.sh("pici-run demo </dev/null").status, 64, "only --cancel takes a NAME")
    }

    /// A job superseded by a newer event while --wait waits on it: said, with the new job.
    func testWaitOnASupersededJobSaysWhichJobSupersededIt() throws {
        let s = setup()
        let ws = workspace(RunTests.sleepers)
        let o = Support.tempDir(self, "out")
        let ran = s.sh("""
            cd '\(o)'
            pici-run --wait --interval 200ms --artifact-dir '\(s.art)' --event '\(event("demo", ws))' >out 2>err & pid=$!
            for _ in $(seq 150); do grep -q ' b  ' out && break; sleep 0.1; done
            pici-run --artifact-dir '\(s.art)' --event '\(event("demo", ws))' >second
            wait $pid; echo "rc=$?"; cat out err; echo ==second==; cat second
            """)
        XCTAssertTrue(ran.stdout.hasPrefix("rc=1\n"), ran.stdout)
        let second = ran.stdout.components(separatedBy: "==second==\n").last ?? ""
        let id2 = jobID(second.split(separator: "\n").dropFirst().joined(separator: "\n"))
        XCTAssertTrue(ran.stdout.contains("\ncancelled: superseded by job \(id2)\n"), ran.stdout)
        XCTAssertFalse(ran.stdout.contains("vanished: its sessions are gone"), ran.stdout)
    }

    // MARK: workspaces

    func testTarWorkspaceIsChecksummedAndExtracted() throws {
        let s = setup()
        let src = workspace("#!/usr/bin/env bash\nset -eu\nzmx run check -d test -f sub/data.txt\nzmx wait \"*\"\n", files: ["sub/data.txt": "payload\n"])
        let tar = Support.tempDir(self, "tar") + "/ws.tar"
        XCTAssertEqual(Support.sh("tar -cf '\(tar)' -C '\(src)' pico.sh sub", env: s.world.env).status, 0)
        let expected = "sha256:" + (Support.sh("sha256sum '\(tar)' | cut -d' ' -f1", env: s.world.env).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let ran = s.sh("pici-run --wait --interval 200ms --artifact-dir '\(s.art)'", input: event("tarred", tar))
        XCTAssertEqual(ran.status, 0, ran.stdout + ran.stderr)
        XCTAssertTrue(ran.stdout.hasSuffix(")\n") && ran.stdout.contains("\njob finished: success ("), ran.stdout)
        let id = jobID(ran.stdout)
        let checksum = json("\(s.art)/tarred/\(id)/artifacts/attestation.json")["workspace_checksum"] as? String
        XCTAssertEqual(checksum, expected)
        XCTAssertEqual(expected.count, 71)
        // The workspace holds the archive's members and the job's PICO_CI_ARTIFACTS, nothing
        // else; the tarball is gone.
        let made = try FileManager.default.contentsOfDirectory(atPath: s.tmp)
        XCTAssertEqual(made.count, 1, "\(made)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.tmp + "/" + made[0]).sorted(), [".pici-artifacts", "pico.sh", "sub"])
        XCTAssertEqual(read(s.tmp + "/" + made[0] + "/sub/data.txt"), "payload\n")
    }

    func testHostileTarsAreRefusedNamingTheMemberAndNothingLandsOutside() throws {
        let s = setup()
        let base = Support.tempDir(self, "hostile")
        let env = s.world.env
        // ../evil
        XCTAssertEqual(Support.sh("mkdir -p a/in && echo x > a/evil && cd a/in && tar -cPf ../../up.tar ../evil", env: env, cwd: base).status, 0)
        // /abs (the file is removed before the run: extracting must not bring it back)
        XCTAssertEqual(Support.sh("echo x > abs && tar -cPf abs.tar \"$PWD/abs\" && rm abs", env: env, cwd: base).status, 0)
        // a symlink out, then a file through it
        XCTAssertEqual(Support.sh("""
            mkdir -p outside c1 c2/link && ln -s "$PWD/outside" c1/link && echo x > c2/link/f &&
            tar -cf link.tar -C c1 link && tar -rf link.tar -C c2 link/f
            """, env: env, cwd: base).status, 0)
        let cases: [(tar: String, member: String, outside: String)] = [
            ("up.tar", "../evil", s.tmp + "/evil"),
            ("abs.tar", base + "/abs", base + "/abs"),
            ("link.tar", "link", base + "/outside/f"),
        ]
        for c in cases {
            let ran = s.sh("pici-run --artifact-dir '\(s.art)'", input: event("hostile", base + "/" + c.tar))
            XCTAssertEqual(ran.status, 65, c.tar + ": " + ran.stdout + ran.stderr)
            XCTAssertTrue(ran.stderr.hasPrefix("pici-run: workspace: \(base)/\(c.tar): refusing member \"\(c.member)\": "), ran.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: c.outside), "\(c.outside) was written")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.tmp), [], "a workspace or tarball was left")
            XCTAssertEqual(s.sessions, [])
        }
        XCTAssertFalse(s.callLog.contains { $0.hasPrefix("run ") })
    }

    func testRsyncFailureShowsRsyncsOwnMessage() throws {
        let s = setup()
        let ran = s.sh("pici-run --artifact-dir '\(s.art)'", input: event("demo", "/nonexistent/pici-ws"))
        XCTAssertEqual(ran.status, 69)
        XCTAssertTrue(ran.stderr.hasPrefix("pici-run: workspace: rsync -r --exclude=/.git -- /nonexistent/pici-ws/ \(s.tmp)/pici-"), ran.stderr)
        XCTAssertTrue(ran.stderr.contains("rsync: [sender] change_dir") || ran.stderr.contains("No such file or directory"), ran.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.tmp), [])
    }

    /// What pici-run prints after "no pico.sh found": the seed's advice (Golden/no-pico-help.txt).
    static var noManifestHelp: String {
        (try? String(contentsOfFile: Support.goldenDir + "/no-pico-help.txt", encoding: .utf8)) ?? ""
    }

    func testMissingPicoShPrintsTheSeedsHelpAndExits66() throws {
        let s = setup()
        let ws = workspace(nil, files: ["README": "no manifest here\n"])
        let ran = s.sh("pici-run --artifact-dir '\(s.art)'", input: event("demo", ws))
        XCTAssertEqual(ran.status, 66)
        let lines = ran.stdout.components(separatedBy: "\n")
        guard lines.count > 5 else { return XCTFail(ran.stdout) }
        let dir = String(lines[4].dropFirst("workspace ready ".count))
        XCTAssertTrue(ran.stdout.hasSuffix("workspace ready \(dir)\nno pico.sh found in \(dir)\n\n" + RunTests.noManifestHelp), ran.stdout)
        XCTAssertEqual(ran.stderr, "pici-run: no pico.sh found in \(dir)\n")
        XCTAssertEqual(s.sessions, [])
        // The expected text is the seed's, byte for byte, where the seed is at hand, but for the
        // prefix of a script run by hand: the seed's "ci." made zmx wait "*" wait on every job.
        let seed = Support.root.appendingPathComponent("../shared/seed/000_fdf84b0f8cc72edb.txt").path
        if let text = try? String(contentsOfFile: seed, encoding: .utf8) {
            let source = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(2).map { String($0.dropFirst(4)) }.joined(separator: "\n")
            let start = source.range(of: "fmt.Fprint(os.Stdout, `Create a pico.sh")!.upperBound
            let body = source[source.index(start, offsetBy: -"Create a pico.sh".count)...]
            let seedHelp = String(body[..<body.range(of: "`)")!.lowerBound])
            XCTAssertEqual(seedHelp.replacingOccurrences(of: "  export ZMX_SESSION_PREFIX=\"${ZMX_SESSION_PREFIX:-ci.}\"\n", with: "  # pici-run sets the prefix to ci.<repo>.<job_id>.step.; run by hand,\n  # keep the steps apart from CI jobs' (with a bare \"ci.\", zmx wait \"*\"\n  # would wait on the steps of every job).\n  export ZMX_SESSION_PREFIX=\"${ZMX_SESSION_PREFIX:-local.myrepo.}\"\n"), RunTests.noManifestHelp)
        }
    }

    func testANameTooLongForTheSocketDirIsRefusedBeforeAnything() throws {
        let s = setup()
        let name = String(repeating: "n", count: 100)
        let ran = s.sh("pici-run --artifact-dir '\(s.art)/x'", input: event(name, workspace(RunTests.sleepers)))
        XCTAssertEqual(ran.status, 65, ran.stdout + ran.stderr)
        XCTAssertTrue(ran.stderr.hasPrefix("pici-run: event: \"name\": too long for zmx's socket dir \(s.world.dir): the runner's socket path \(s.world.dir)/ci.\(name)."), ran.stderr)
        XCTAssertTrue(ran.stderr.contains(" bytes, the limit is 107 "), ran.stderr)
        XCTAssertEqual(ran.stdout, "")
        XCTAssertEqual(s.callLog, [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.tmp), [])
        // Nothing started, but the push is recorded, to be published as failed.
        let open = try FileManager.default.contentsOfDirectory(atPath: s.art + "/x/.pici/open")
        XCTAssertEqual(open.count, 1)
        XCTAssertTrue(read(s.art + "/x/.pici/open/" + (open.first ?? "")).contains(#""status":"failed","exit_code":65"#))
        // One byte less than the limit fits, as zmx's own check says.
        let dirBytes = Launch.socketDirectory().utf8.count
        XCTAssertNoThrow(try Launch.checkSessionName(String(repeating: "s", count: 107 - dirBytes - 1), socketDirectory: Launch.socketDirectory()))
        XCTAssertThrowsError(try Launch.checkSessionName(String(repeating: "s", count: 107 - dirBytes), socketDirectory: Launch.socketDirectory()))
    }

    func testAZmxThatAcceptsButDoesNotStartTheRunnerIsAnError() throws {
        let s = setup()
        let fake = Support.tempDir(self, "fake") + "/zmx"
        try """
            #!/usr/bin/env bash
            [[ $1 == run ]] && echo 'error: session name is too long (119 bytes, max 90)' >&2
            exit 0

            """.write(toFile: fake, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(fake, 0o755), 0)
        let ran = s.sh("pici-run --zmx '\(fake)' --artifact-dir '\(s.art)'", input: event("demo", workspace(RunTests.sleepers)))
        XCTAssertEqual(ran.status, 69, ran.stdout + ran.stderr)
        let id = jobID(ran.stdout)
        XCTAssertEqual(ran.stderr, "pici-run: zmx did not start ci.demo.\(id).runner: error: session name is too long (119 bytes, max 90)\n")
        XCTAssertFalse(ran.stdout.contains("job launched"))
        let open = json("\(s.art)/.pici/open/demo.\(id).json")["job"] as? [String: Any]
        XCTAssertEqual(open?["status"] as? String, "failed", "recorded as failed before launch")
        XCTAssertEqual(open?["exit_code"] as? Int, 69)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: s.tmp)) ?? ["?"], [], "the workspace copy was left behind")
    }

    // MARK: gc

    func testGCKillsOnlyOldCISessionsAndMarksTheirJobs() throws {
        let s = setup()
        let made = s.world.sh("""
            zmx run ci.old.12345678.runner -d sleep 30 && zmx run ci.old.12345678.step.t -d sleep 30 &&
            zmx run ci.new.87654321.runner -d sleep 30 && zmx run other -d sleep 30 >/dev/null
            """)
        XCTAssertEqual(made.status, 0, made.stderr)
        // Age three of them by four hours, in the stand-in's state files.
        let old = Int(Date().timeIntervalSince1970) - 4 * 3600
        for name in ["ci.old.12345678.runner", "ci.old.12345678.step.t", "other"] {
            XCTAssertEqual(s.world.sh("sed -i 's/\\tcreated=[0-9]*/\\tcreated=\(old)/' '\(s.world.dir)/\(name)/state'").status, 0)
        }
        try FileManager.default.createDirectory(atPath: s.art + "/old/12345678/artifacts", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: s.calls)

        let gc = s.sh("pici-run --gc --artifact-dir '\(s.art)'")
        XCTAssertEqual(gc.status, 0, gc.stderr)
        XCTAssertEqual(gc.stdout, "killed session ci.old.12345678.runner\nkilled session ci.old.12345678.step.t\n")
        XCTAssertEqual(s.sessions, ["ci.new.87654321.runner", "other"])
        XCTAssertEqual(s.callLog.filter { $0.hasPrefix("kill") }, ["kill ci.old.12345678.runner ci.old.12345678.step.t"])
        XCTAssertEqual(json(s.art + "/old/12345678/artifacts/cancelled.json")["reason"] as? String, "gc")
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.art + "/new"))

        let again = s.sh("pici-run --gc --gc-age 5h --artifact-dir '\(s.art)'")
        XCTAssertEqual(again.status, 0)
        XCTAssertEqual(again.stdout, "")
        XCTAssertEqual(s.sessions, ["ci.new.87654321.runner", "other"])
    }

    func testGCExpiryIsTheSeedsCutoff() {
        let sessions = [
            SessionRecord(name: "ci.a.12345678.runner", created: 1000, status: .running),
            SessionRecord(name: "ci.b.12345678.runner", created: 1001, status: .success),
            SessionRecord(name: "zz", created: 1, status: .running),
            SessionRecord(name: "ci.c.12345678.runner", created: 0, status: .unreachable),
        ]
        XCTAssertEqual(GarbageCollection.expired(sessions, now: 1000 + 10801, age: 10800).map(\.name), ["ci.a.12345678.runner"])
    }

    // MARK: waiting: ^C and vanished jobs

    func testInterruptStopsWaitingWith130() throws {
        let s = setup()
        let ws = workspace(RunTests.sleepers)
        let o = Support.tempDir(self, "out")
        let ran = s.sh("""
            cd '\(o)'
            pici-run --wait --interval 5s --artifact-dir '\(s.art)' --event '\(event("demo", ws))' >out 2>err & pid=$!
            for _ in $(seq 150); do grep -q 'running' out && break; sleep 0.1; done
            kill -INT $pid
            wait $pid; echo "rc=$?"; cat out
            """)
        XCTAssertTrue(ran.stdout.hasPrefix("rc=130\n"), ran.stdout)
        // ^C stops the waiting, not the job, and says how to stop the job too.
        XCTAssertTrue(ran.stdout.hasSuffix("\nstopped waiting; the job goes on (pici-run --cancel demo to stop it)\n"), ran.stdout)
        // Waiting stopped; the job did not.
        XCTAssertTrue(s.sessions.contains { $0.hasSuffix(".runner") })
    }

    func testAJobWhoseSessionsVanishIsReportedNotWaitedOnForever() throws {
        let s = setup()
        let ws = workspace(RunTests.sleepers)
        let o = Support.tempDir(self, "out")
        let ran = s.sh("""
            cd '\(o)'
            pici-run --wait --interval 200ms --artifact-dir '\(s.art)' --event '\(event("demo", ws))' >out 2>err & pid=$!
            for _ in $(seq 150); do grep -q ' b  ' out && break; sleep 0.1; done
            zmx kill 'ci.*' >/dev/null
            wait $pid; echo "rc=$?"; cat out err
            """)
        XCTAssertTrue(ran.stdout.hasPrefix("rc=1\n"), ran.stdout)
        XCTAssertTrue(ran.stdout.hasSuffix("\njob vanished: its sessions are gone (killed or cancelled)\n"), ran.stdout)
        XCTAssertTrue(ran.stdout.contains("   runner       vanished\n"), ran.stdout)
    }

    // MARK: pure parts

    func testBoardPrintsChangesOnlyOffATerminal() {
        var board = WaitBoard()
        let running = SessionRecord(name: "ci.r.12345678.runner", short: "runner", created: 100, status: .running)
        var lint = SessionRecord(name: "ci.r.12345678.step.lint", short: "lint", created: 101, status: .running)
        XCTAssertEqual(board.render([running], vanished: [], now: 100, inPlace: false), "   runner       running (0.0s)\n")
        XCTAssertEqual(board.render([running, lint], vanished: [], now: 105, inPlace: false), "   lint         running (4.0s)\n")
        lint.ended = 190
        lint.exitCode = 2
        lint.status = .failed
        XCTAssertEqual(board.render([running, lint], vanished: [], now: 200, inPlace: false), "   lint         failed, exit 2 (1m29s)\n")
        XCTAssertEqual(board.render([running, lint], vanished: [], now: 201, inPlace: false), "")
        XCTAssertEqual(board.lines, ["   runner       running (1m41s)", "   lint         failed, exit 2 (1m29s)"])
    }

    func testBoardRedrawsInPlaceOnATerminalAsTheSeed() {
        var board = WaitBoard()
        let a = SessionRecord(name: "ci.r.12345678.runner", short: "runner", created: 100, status: .running)
        let b = SessionRecord(name: "ci.r.12345678.step.a-very-long-step", short: "a-very-long-step", created: 100, ended: 112, exitCode: 0, status: .success)
        XCTAssertEqual(board.render([a], vanished: [], now: 100, inPlace: true), "   runner       \u{1B}[33mrunning\u{1B}[0m (0.0s)\n")
        // In place is on a terminal that allows colour: the word is coloured, as --human's.
        XCTAssertEqual(board.render([a, b], vanished: [], now: 112, inPlace: true),
                       "\u{1B}[A   runner       \u{1B}[33mrunning\u{1B}[0m (12s)\u{1B}[K\n   a-very-long-step \u{1B}[32msuccess\u{1B}[0m (12s)\u{1B}[K\n")
    }

    func testHistoryTailKeepsTheLast25LinesIndented() {
        let text = (1...30).map { "line \($0)" }.joined(separator: "\n") + "\n"
        let tail = WaitReport.historyTail(text, lines: 25)
        XCTAssertTrue(tail.hasPrefix("   ... (5 lines omitted)\n   line 6\n"), tail)
        XCTAssertTrue(tail.hasSuffix("   line 30\n"))
        XCTAssertEqual(WaitReport.historyTail("a\n\nb\n", lines: 25), "   a\n   b\n")
        XCTAssertEqual(WaitReport.summary(code: 0, duration: "2m34s"), "job finished: success (2m34s)\n")
        XCTAssertEqual(WaitReport.summary(code: 3, duration: "1.0s"), "job failed: exit 3 (1.0s)\n")
    }

    func testRsyncCommandLines() throws {
        let home = Support.tempDir(self, "home")
        let plain = Workspace.Options(home: home)
        XCTAssertEqual(try Workspace.rsyncArguments(source: "git@h:repo", destination: "/tmp/pici-1", kind: .directory, options: plain),
                       ["rsync", "-r", "--exclude=/.git", "--", "git@h:repo/", "/tmp/pici-1/"])
        XCTAssertEqual(try Workspace.rsyncArguments(source: "pgs.sh:/w/r.tar", destination: "/tmp/pici-2.tar", kind: .tarball, options: plain),
                       ["rsync", "--", "pgs.sh:/w/r.tar", "/tmp/pici-2.tar"])
        try FileManager.default.createDirectory(atPath: home + "/.ssh", withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: home + "/.ssh/config", contents: Data()))
        let keyed = Workspace.Options(key: "/keys/ci key", certificate: "/keys/ci-cert.pub", home: home)
        XCTAssertEqual(try Workspace.rsyncArguments(source: "h:/w.tar", destination: "/t.tar", kind: .tarball, options: keyed),
                       ["rsync", "-e", "ssh -F \(home)/.ssh/config -i '/keys/ci key' -o IdentitiesOnly=yes -o CertificateFile=/keys/ci-cert.pub", "--", "h:/w.tar", "/t.tar"])
        XCTAssertThrowsError(try Workspace.remoteShell(options: Workspace.Options(key: "/k'ey", home: nil)))
        XCTAssertEqual(Workspace.kind(of: "a.tar"), .tarball)
        XCTAssertEqual(Workspace.kind(of: "a.tar.gz"), .directory)
    }

    func testSocketDirectoryFollowsZmx() {
        func dir(_ env: [String: String]) -> String { Launch.socketDirectory { env[$0] } }
        XCTAssertEqual(dir(["ZMX_DIR": "/z/", "XDG_RUNTIME_DIR": "/run/user/1"]), "/z")
        XCTAssertEqual(dir(["ZMX_DIR": "", "XDG_RUNTIME_DIR": "/run/user/1"]), "/run/user/1/zmx")
        XCTAssertEqual(dir(["TMPDIR": "/t"]), "/t/zmx-\(getuid())")
        XCTAssertEqual(dir([:]), "/tmp/zmx-\(getuid())")
    }

    func testJobEnvironmentReplacesThePrefixAndTheJobsVariables() {
        setenv("ZMX_SESSION_PREFIX", "ci.elsewhere.", 1)
        setenv("PICO_CI_REPO", "stale", 1)
        defer { unsetenv("ZMX_SESSION_PREFIX"); unsetenv("PICO_CI_REPO") }
        setenv("MY_SECRET", "hunter2", 1)
        defer { unsetenv("MY_SECRET") }
        let env = Launch.jobEnvironment(event: Event(type: "push", name: "demo", workspace: "/w"), jobID: "a3f2b8c1")
        XCTAssertFalse(env.contains { $0.hasPrefix("ZMX_SESSION_PREFIX=") })
        XCTAssertFalse(env.contains { $0.hasPrefix("MY_SECRET=") })
        XCTAssertEqual(env.filter { $0.hasPrefix("PICO_CI_") }, ["PICO_CI_JOB_ID=a3f2b8c1", "PICO_CI_REPO=demo", "PICO_CI_EVENT_TYPE=push"])
        XCTAssertFalse(Launch.zmxEnvironment().contains { $0.hasPrefix("ZMX_SESSION_PREFIX=") })
    }

    func testRunningJobsMatchTheRepoExactly() {
        let sessions = [
            SessionRecord(name: "ci.demo.11111111.runner", created: 1, status: .running),
            SessionRecord(name: "ci.demo.22222222.runner", created: 1, ended: 2, exitCode: 0, status: .success),
            SessionRecord(name: "ci.demo.x.33333333.runner", created: 1, status: .running),
            SessionRecord(name: "ci.demo.44444444.step.runner", created: 1, status: .running),
            SessionRecord(name: "ci.demox.55555555.runner", created: 1, status: .running),
        ]
        XCTAssertEqual(Cancel.runningJobs(of: "demo", in: sessions), ["11111111"])
        XCTAssertEqual(Cancel.runningJobs(of: "demo.x", in: sessions), ["33333333"])
    }
}
