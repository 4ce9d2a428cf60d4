import Foundation
import PiciKit
import XCTest

/// bin/pici-monitor end to end: the whole pipeline against the stand-in zmx.
final class MonitorTests: XCTestCase {
    static let monitor = Support.scriptsDir + "/pici-monitor"

    /// A world with its own ZMX_DIR, artifact dir and zmx call log.
    struct World {
        var zmx: Support.ZmxWorld
        var dir: String
        var callLog: String
        var out: String
    }

    func world() -> World {
        let base = Support.tempDir(self, "monitor")
        let log = base + "/calls"
        try! FileManager.default.createDirectory(atPath: base + "/D", withIntermediateDirectories: true)
        return World(zmx: Support.ZmxWorld(self, extra: ["ZMX_CALL_LOG": log]), dir: base + "/D", callLog: log, out: base + "/status.jsonl")
    }

    func writeEvent(_ dir: String, _ name: String, _ id: String, dest: String) throws {
        let artifacts = "\(dir)/\(name)/\(id)/artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let event = #"{"type":"push","name":"\#(name)","workspace":"/srv/ws","branch":"main","commit":"0123abc","artifact_dest":"\#(dest)"}"#
        try event.write(toFile: artifacts + "/event.json", atomically: true, encoding: .utf8)
    }

    /// A job with a passing and a failing step and a runner, started detached.
    func startJob(_ w: World, _ id: String, runner: String = "echo runner; sleep 0.5") {
        let p = "ci.demo.\(id)"
        let ran = w.zmx.sh("""
            zmx run \(p).step.ok -d bash -c 'echo ok-output; sleep 0.3' &&
            zmx run \(p).step.bad -d bash -c 'echo bad-output; sleep 0.3; exit 3' &&
            zmx run \(p).runner -d bash -c '\(runner)'
            """)
        XCTAssertEqual(ran.status, 0, ran.stderr)
    }

    @discardableResult
    func pass(_ w: World, _ flags: String = "") -> Support.Ran {
        w.zmx.sh("'\(MonitorTests.monitor)' --once --artifact-dir '\(w.dir)' \(flags) >> '\(w.out)'")
    }

    func statusLines(_ w: World) -> [String] {
        ((try? String(contentsOfFile: w.out, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            .filter { $0.contains(#""type":"status""#) }
    }

    /// Passes until a terminal status line has come out (or `limit` passes).
    func passUntilPublished(_ w: World, limit: Int = 60, flags: String = "") -> [Support.Ran] {
        var runs: [Support.Ran] = []
        for _ in 0..<limit {
            runs.append(pass(w, flags))
            if !statusLines(w).isEmpty { break }
            usleep(250_000)
        }
        return runs
    }

    func testAJobRunsToTheEndAndIsPublishedOnce() throws {
        let w = world()
        let dest = w.dir + "/../dest"
        try writeEvent(w.dir, "demo", "a1b2c3d4", dest: dest)
        startJob(w, "a1b2c3d4")
        let runs = passUntilPublished(w)
        for r in runs { XCTAssertEqual(r.status, 0, r.stderr) }
        XCTAssertEqual(statusLines(w).count, 1)

        // Later passes: one zmx call each, `list`, and no more lines.
        try "".write(toFile: w.callLog, atomically: true, encoding: .utf8)
        for _ in 0..<3 { XCTAssertEqual(pass(w).status, 0) }
        XCTAssertEqual(try String(contentsOfFile: w.callLog, encoding: .utf8), "list\nlist\nlist\n")
        let lines = statusLines(w)
        XCTAssertEqual(lines.count, 1)

        // The seed's keys, in its order, with its JSON types.
        guard case .object(let line)? = try? JSONParser.parse(lines[0]) else { return XCTFail("not JSON: \(lines[0])") }
        XCTAssertEqual(line.members.map(\.key), [
            "timestamp", "name", "job_id", "status", "exit_code", "duration", "started_at", "ended_at",
            "session_count", "sessions", "type",
        ])
        XCTAssertEqual(line["status"], .string("failed"))
        XCTAssertEqual(line["exit_code"], .number("3"))
        XCTAssertEqual(line["session_count"], .number("3"))
        guard case .array(let sessions)? = line["sessions"] else { return XCTFail("no sessions") }
        XCTAssertEqual(sessions.count, 3)
        for case .object(let s) in sessions {
            XCTAssertEqual(s.members.map(\.key), ["name", "short", "pid", "clients", "created", "start_dir", "ended", "exit_code"])
            for m in s.members {
                guard case .string = m.value else { return XCTFail("session \(m.key) is not a string") }
            }
        }

        // The artifact tree of CONTRACT.md, and its copy at artifact_dest.
        let job = w.dir + "/demo/a1b2c3d4"
        for file in ["runner.html", "runner.txt", "ok.html", "ok.txt", "bad.html", "bad.txt", "index.html", "index.txt",
                     "styles.css", "artifacts/event.json", "artifacts/published.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: job + "/" + file), file)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dest + "/" + file), "copy of \(file)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: w.dir + "/index.html"))
        XCTAssertTrue(try String(contentsOfFile: job + "/bad.txt", encoding: .utf8).contains("bad-output"))
        XCTAssertTrue(try String(contentsOfFile: job + "/index.txt", encoding: .utf8).hasPrefix("Job: demo (a1b2c3d4) failed\n"))
        XCTAssertTrue(try String(contentsOfFile: w.dir + "/index.html", encoding: .utf8).contains("demo/a1b2c3d4/index.html"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: w.dir + "/.pici/open"), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: w.dir + "/.pici/outbox"), [])
    }

    func testKilledJobIsLostOnce() throws {
        let w = world()
        let dest = w.dir + "/../dest"
        try writeEvent(w.dir, "demo", "0badf00d", dest: dest)
        let ran = w.zmx.sh("zmx run ci.demo.0badf00d.runner -d sleep 60")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        // Wait for the first pass that sees it running and stages it.
        for _ in 0..<40 {
            XCTAssertEqual(pass(w).status, 0)
            if FileManager.default.fileExists(atPath: w.dir + "/.pici/open/demo.0badf00d.json") { break }
            usleep(100_000)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: w.dir + "/.pici/open/demo.0badf00d.json"))
        XCTAssertEqual(statusLines(w), [])
        XCTAssertEqual(w.zmx.sh("zmx kill ci.demo.0badf00d.runner").status, 0)
        for _ in 0..<3 { XCTAssertEqual(pass(w).status, 0) }
        let lines = statusLines(w)
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines.first?.contains(#""status":"lost""#) ?? false, "\(lines)")
        XCTAssertTrue(lines.first?.contains(#""exit_code":null"#) ?? false, "\(lines)")
        // Its session's page stops saying running and reloading, here and at the destination.
        for page in [w.dir + "/demo/0badf00d/runner.html", dest + "/runner.html"] {
            let html = try String(contentsOfFile: page, encoding: .utf8)
            XCTAssertFalse(html.contains("http-equiv=\"refresh\""), page)
            XCTAssertTrue(html.contains("<title>runner · demo 0badf00d · lost</title>"), page)
            XCTAssertTrue(html.contains(Styles.badge("lost")) && !html.contains(Styles.badge("running")), page)
            XCTAssertFalse(html.contains("while running"), page)
        }
    }

    func testAMissingZmxIsLoggedAndThePassesGoOn() throws {
        let w = world()
        let once = pass(w, "--zmx /nonexistent/zmx")
        // --once says the pass failed, with the failed stage's status, so cron learns of it.
        XCTAssertEqual(once.status, 69)
        XCTAssertTrue(once.stderr.contains("pici-monitor: pass failed: pici-list exit 69"), once.stderr)

        // Looping: every pass fails and is logged; SIGTERM stops it with 0.
        let errFile = w.dir + "/../monitor.err"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MonitorTests.monitor)
        p.arguments = ["--zmx", "/nonexistent/zmx", "--interval", "200ms", "--artifact-dir", w.dir]
        p.environment = w.zmx.env
        _ = FileManager.default.createFile(atPath: errFile, contents: nil)
        p.standardError = FileHandle(forWritingAtPath: errFile)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Two failed passes, however slow the machine.
        func failures() -> Int {
            ((try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "").components(separatedBy: "pass failed: pici-list exit 69").count - 1
        }
        let deadline = Date().addingTimeInterval(60)
        while failures() < 2 && p.isRunning && Date() < deadline { usleep(100_000) }
        XCTAssertTrue(p.isRunning, "a failed pass must not end the monitor")
        p.terminate()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let log = try String(contentsOfFile: errFile, encoding: .utf8)
        XCTAssertGreaterThanOrEqual(log.components(separatedBy: "pass failed: pici-list exit 69").count - 1, 2, log)
    }

    func testSIGINTStopsTheMonitorCleanly() throws {
        let w = world()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MonitorTests.monitor)
        p.arguments = ["--interval", "10s", "--artifact-dir", w.dir]
        p.environment = w.zmx.env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(800_000)
        let started = Date()
        p.interrupt()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "the sleep between passes is cut short")
    }

    func testAFailingRsyncIsLoggedRetriedAndTheLineComesOnce() throws {
        let w = world()
        let parent = w.dir + "/../later"
        try writeEvent(w.dir, "demo", "5eed5eed", dest: parent + "/dest")
        startJob(w, "5eed5eed", runner: "true")
        let runs = passUntilPublished(w)
        XCTAssertEqual(runs.last?.status, 69)
        XCTAssertTrue(runs.last?.stderr.contains("pass failed: pici-publish exit 69") ?? false, runs.last?.stderr ?? "")
        XCTAssertEqual(pass(w).status, 69)
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let fixed = pass(w)
        XCTAssertEqual(fixed.status, 0)
        XCTAssertFalse(fixed.stderr.contains("pass failed"), fixed.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: parent + "/dest/artifacts/published.json"))
        XCTAssertEqual(statusLines(w).count, 1)
    }

    /// gc runs pici-run --gc every --gc-interval (found next to the script first), never
    /// with --once or --gc-interval 0.
    func testGarbageCollectionIsRunOnItsInterval() throws {
        let w = world()
        let bin = w.dir + "/../bin"
        let gcLog = w.dir + "/../gc.log"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: MonitorTests.monitor, toPath: bin + "/pici-monitor")
        try "#!/bin/sh\necho \"$*\" >> '\(gcLog)'\necho gc-progress\n".write(toFile: bin + "/pici-run", atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(bin + "/pici-run", 0o755), 0)

        XCTAssertEqual(w.zmx.sh("'\(bin)/pici-monitor' --once --gc-interval 1ms --artifact-dir '\(w.dir)'").status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: gcLog), "--once runs the pipeline only")

        let ran = w.zmx.sh("""
            '\(bin)/pici-monitor' --interval 100ms --gc-interval 300ms --gc-age 2h --artifact-dir '\(w.dir)' > '\(w.out)' &
            pid=$!
            # Two gc runs, however slow the machine: a pass's time is not the point here.
            for _ in $(seq 600); do [ "$(wc -l < '\(gcLog)' 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.1; done
            kill -TERM $pid; wait $pid
            """)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let calls = try String(contentsOfFile: gcLog, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThanOrEqual(calls.count, 2)
        XCTAssertEqual(calls.first, "--gc --gc-age 2h --timeout 30s --artifact-dir \(w.dir)")
        XCTAssertEqual(try String(contentsOfFile: w.out, encoding: .utf8), "", "gc's output goes to stderr")
        XCTAssertTrue(ran.stderr.contains("gc-progress"))

        try FileManager.default.removeItem(atPath: gcLog)
        let off = w.zmx.sh("""
            '\(bin)/pici-monitor' --interval 100ms --gc-interval 0 --artifact-dir '\(w.dir)' &
            pid=$!; sleep 0.8; kill -TERM $pid; wait $pid
            """)
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: gcLog))
    }

    func testHelpVersionAndUsage() {
        let w = world()
        let help = w.zmx.sh("'\(MonitorTests.monitor)' --help")
        XCTAssertEqual(help.status, 0)
        let usage = help.stdout.components(separatedBy: "\n").first ?? ""
        XCTAssertTrue(usage.hasPrefix("usage: pici-monitor"))
        for flag in ["--once", "--interval", "--gc-interval", "--gc-age", "--zmx", "--artifact-dir", "--human",
                     "--include-running", "--no-sync", "-pk", "-ck", "--sync-timeout", "--view"] {
            XCTAssertTrue(usage.contains(flag), flag)
        }
        XCTAssertEqual(w.zmx.sh("'\(MonitorTests.monitor)' --version").stdout, "pici-monitor \(PiciVersion.string)\n")
        XCTAssertEqual(w.zmx.sh("'\(MonitorTests.monitor)' --bogus").status, 64)
        let bad = w.zmx.sh("'\(MonitorTests.monitor)' --interval soon")
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--interval"), bad.stderr)
        XCTAssertEqual(w.zmx.sh("'\(MonitorTests.monitor)' --once --interval").status, 64)
        // A flag that takes no value takes none: --once=false must not run a pass.
        for flag in ["--once=false", "--once=1", "-once=true", "--human=false", "--no-sync=", "--version=1", "--help=no", "--=x"] {
            let ran = w.zmx.sh("'\(MonitorTests.monitor)' \(flag) --artifact-dir '\(w.dir)'")
            XCTAssertEqual(ran.status, 64, flag)
            XCTAssertTrue(ran.stderr.contains("takes no value"), flag + ": " + ran.stderr)
            XCTAssertEqual(ran.stdout, "", flag)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: w.dir + "/.pici"), "no pass ran")
    }

    /// Looking is not publishing: --view shows every job and leaves the finished ones' status
    /// lines to the monitor that publishes them.
    func testViewLooksAndPublishesNothing() throws {
        let w = world()
        startJob(w, "7e57c0de", runner: "true")
        w.zmx.waitUntilEnded()
        let look = w.zmx.sh("'\(MonitorTests.monitor)' --view --once --artifact-dir '\(w.dir)'")
        XCTAssertEqual(look.status, 0, look.stderr)
        let lines = look.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, look.stdout)
        XCTAssertTrue(lines.first?.contains(#""job_id":"7e57c0de","status":"failed","exit_code":3"#) ?? false, look.stdout)
        let human = w.zmx.sh("'\(MonitorTests.monitor)' --view --once --human --artifact-dir '\(w.dir)'")
        XCTAssertTrue(human.stdout.hasPrefix("   demo         failed, exit 3 ("), human.stdout)
        XCTAssertTrue(human.stdout.contains("   bad          failed, exit 3 (") && human.stdout.contains("   job id:     7e57c0de\n"), human.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: w.dir), [], "nothing staged, published or kept")
        XCTAssertFalse(try String(contentsOfFile: w.callLog, encoding: .utf8).contains("history"), "no history fetched")
        // The monitor that publishes still prints the job's line, once.
        XCTAssertEqual(passUntilPublished(w).last?.status, 0)
        XCTAssertEqual(statusLines(w).count, 1)
        XCTAssertEqual(w.zmx.sh("'\(MonitorTests.monitor)' --view=1 --once").status, 64)
    }

    /// Every command reads PICI_ARTIFACT_DIR when --artifact-dir is not given; the flag wins.
    func testEveryCommandHonoursPICI_ARTIFACT_DIRAndTheFlagWins() throws {
        let w = world()
        let env = w.dir + "/env", flag = w.dir + "/flag"
        let running = "name=ci.demo.abcd1234.runner\tpid=1\tclients=0\tcreated=100\n"
        // No follower: one would still be writing in the dir removed below.
        let stage = w.zmx.sh("pici-list --input - | pici-group | PICI_ARTIFACT_DIR='\(env)' pici-stage --no-follow >/dev/null", input: running)
        XCTAssertTrue(FileManager.default.fileExists(atPath: env + "/.pici/open/demo.abcd1234.json"), stage.stderr)
        w.zmx.sh("pici-list --input - | pici-group | PICI_ARTIFACT_DIR='\(env)' pici-stage --no-follow --artifact-dir '\(flag)' >/dev/null", input: running)
        XCTAssertTrue(FileManager.default.fileExists(atPath: flag + "/.pici/open/demo.abcd1234.json"))
        try FileManager.default.removeItem(atPath: env)
        try FileManager.default.removeItem(atPath: flag)

        XCTAssertEqual(w.zmx.sh("PICI_ARTIFACT_DIR='\(env)' pici-publish --no-sync </dev/null").status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: env + "/.pici/lock"))
        XCTAssertEqual(w.zmx.sh("PICI_ARTIFACT_DIR='\(env)' pici-publish --no-sync --artifact-dir '\(flag)' </dev/null").status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: flag + "/.pici/lock"))
        try FileManager.default.removeItem(atPath: env)
        try FileManager.default.removeItem(atPath: flag)

        XCTAssertEqual(w.zmx.sh("PICI_ARTIFACT_DIR='\(env)' '\(MonitorTests.monitor)' --once").status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: env + "/.pici/lock"))
        XCTAssertEqual(w.zmx.sh("PICI_ARTIFACT_DIR='\(env)' '\(MonitorTests.monitor)' --once --artifact-dir '\(flag)'").status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: flag + "/.pici/lock"))
    }

    /// A fake checkout or install: bin/ with copies of the wrappers, and stand-in tools that
    /// say who they are, in `tools` (relative to the root).
    func fakeTree(_ tools: [String: String], wrappers: [String] = ["pici-monitor", "pici"]) throws -> String {
        let root = Support.tempDir(self, "tree")
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        for name in wrappers { try FileManager.default.copyItem(atPath: Support.scriptsDir + "/" + name, toPath: root + "/bin/" + name) }
        for (path, label) in tools {
            let file = root + "/" + path
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let tool = (path as NSString).lastPathComponent
            try "#!/bin/sh\nif [ \"$1\" = --version ]; then echo \"\(tool) 9.9-\(label)\"; else echo \"\(label) \(tool) $*\"; fi\n"
                .write(toFile: file, atomically: true, encoding: .utf8)
            XCTAssertEqual(chmod(file, 0o755), 0)
        }
        return root
    }

    /// A clean environment: no pici tools on PATH and no PICI_BIN, as on a fresh clone.
    func bareEnvironment() -> [String: String] {
        var env = Support.environment(zmxDir: Support.tempDir(self, "zmx"))
        env["PATH"] = "/usr/bin:/bin"
        env.removeValue(forKey: "PICI_BIN")
        return env
    }

    func testToolsAreFoundNextToTheScriptThenInTheCheckoutsBuildThenOnPATH() throws {
        let env = bareEnvironment()
        // A fresh clone after `make build`: .build/release, not PATH; an older debug build
        // is not what runs.
        let clone = try fakeTree([".build/release/pici-publish": "release", ".build/debug/pici-publish": "debug",
                                  ".build/release/pici-run": "release"])
        XCTAssertEqual(Support.sh("touch -d '2020-01-01' '\(clone)/.build/debug/pici-publish'", env: env).status, 0)
        XCTAssertEqual(Support.sh("'\(clone)/bin/pici-monitor' --version", env: env).stdout, "pici-monitor 9.9-release\n")
        XCTAssertEqual(Support.sh("'\(clone)/bin/pici' --version", env: env).stdout, "pici 9.9-release\n")
        let runner = Support.sh("'\(clone)/bin/pici' runner", env: env, input: "{}")
        XCTAssertEqual(runner.status, 0, runner.stderr)
        XCTAssertTrue(runner.stdout.hasPrefix("release pici-run --artifact-dir /tmp/pici-artifacts"), runner.stdout)
        // `swift build` only: .build/debug.
        let debug = try fakeTree([".build/debug/pici-publish": "debug"])
        XCTAssertEqual(Support.sh("'\(debug)/bin/pici-monitor' --version", env: env).stdout, "pici-monitor 9.9-debug\n")
        // `swift build` after an older `make build`: the debug build is the one built last, and
        // a stale release build does not replace it (for every tool, as one build).
        let both = try fakeTree([".build/release/pici-publish": "release", ".build/release/pici-run": "release",
                                 ".build/debug/pici-publish": "debug", ".build/debug/pici-run": "debug"])
        XCTAssertEqual(Support.sh("touch -d '2020-01-01' '\(both)'/.build/release/*", env: env).status, 0)
        XCTAssertEqual(Support.sh("'\(both)/bin/pici-monitor' --version", env: env).stdout, "pici-monitor 9.9-debug\n")
        XCTAssertEqual(Support.sh("'\(both)/bin/pici' --version", env: env).stdout, "pici 9.9-debug\n")
        XCTAssertEqual(Support.sh("touch '\(both)/.build/release/pici-run'", env: env).status, 0)
        XCTAssertEqual(Support.sh("'\(both)/bin/pici-monitor' --version", env: env).stdout, "pici-monitor 9.9-release\n", "then make build again")
        // An install: next to the script wins over any checkout.
        let installed = try fakeTree(["bin/pici-publish": "installed", ".build/release/pici-publish": "release"])
        XCTAssertEqual(Support.sh("'\(installed)/bin/pici-monitor' --version", env: env).stdout, "pici-monitor 9.9-installed\n")
        // A symlink to the script finds the tools of the tree it points into.
        let links = Support.tempDir(self, "links")
        XCTAssertEqual(symlink(clone + "/bin/pici-monitor", links + "/pici-monitor"), 0)
        XCTAssertEqual(Support.sh("'\(links)/pici-monitor' --version", env: env).stdout, "pici-monitor 9.9-release\n")
        // Nothing built and nothing on PATH: said, and 69 (not a version without a number).
        let none = try fakeTree([:])
        let missing = Support.sh("'\(none)/bin/pici-monitor' --version", env: env)
        XCTAssertEqual(missing.status, 69)
        XCTAssertEqual(missing.stdout, "")
        XCTAssertTrue(missing.stderr.contains("pici-publish not found"), missing.stderr)
        // Then PATH.
        var onPath = env
        onPath["PATH"] = debug + "/.build/debug:/usr/bin:/bin"
        XCTAssertEqual(Support.sh("'\(none)/bin/pici-monitor' --version", env: onPath).stdout, "pici-monitor 9.9-debug\n")
    }

    func testPublishFlagsArePassedThrough() throws {
        let w = world()
        startJob(w, "f1a9f1a9", runner: "sleep 3")
        // --include-running and --human reach pici-publish: a running section in text.
        var seen = ""
        for _ in 0..<20 {
            let r = pass(w, "--human --include-running --no-sync")
            XCTAssertEqual(r.status, 0, r.stderr)
            seen = (try? String(contentsOfFile: w.out, encoding: .utf8)) ?? ""
            if seen.contains("   demo         running, job f1a9f1a9") { break }
            usleep(100_000)
        }
        XCTAssertTrue(seen.contains("   demo         running, job f1a9f1a9"), seen)
        XCTAssertFalse(seen.contains("{"), "human output, not JSON")
    }

    /// At a terminal the running lines are redrawn each pass. A diagnostic printed while they
    /// are on the screen (here pici-stage's, every pass, for a job whose directory cannot be
    /// made) comes above them: the next pass's erase takes neither it nor leaves old running
    /// lines behind.
    func testAtATerminalDiagnosticsStayAboveTheRunningLines() throws {
        let w = world()
        startJob(w, "7e7a7e7a", runner: "sleep 30")
        XCTAssertEqual(w.zmx.sh("zmx run ci.blocked.0b0b0b0b.runner -d sleep 30").status, 0)
        // A file where the job's directory would go: pici-stage says so on every pass.
        XCTAssertTrue(FileManager.default.createFile(atPath: w.dir + "/blocked", contents: Data()))
        let raw = try monitorAtATerminal(w, seconds: 8, interval: "700ms")
        let screen = MonitorTests.screen(raw)
        let said = raw.components(separatedBy: "blocked 0b0b0b0b").count - 1
        XCTAssertGreaterThanOrEqual(said, 2, raw)
        XCTAssertEqual(screen.filter { $0.contains("blocked 0b0b0b0b") }.count, said, "every diagnostic stays:\n" + screen.joined(separator: "\n"))
        XCTAssertLessThanOrEqual(screen.filter { $0.contains("running, job 7e7a7e7a") }.count, 1, "no old running lines:\n" + screen.joined(separator: "\n"))
        // After each message the running lines are drawn again at once, below it: never a
        // screen without them until the next pass.
        for part in raw.components(separatedBy: "pici-monitor: pass failed: ").dropFirst() {
            guard let end = part.range(of: "\r\n") else { continue }
            let after = part[end.upperBound...]
            if after.isEmpty || after.hasPrefix("Script done") { continue }
            // The first running line, whichever job the stream has first.
            let next = after.prefix { !$0.isNewline }
            XCTAssertTrue(next.hasPrefix("   ") && next.contains("running, job"), String(after.prefix(200)))
        }
        // Stopped between two passes (most likely): no word from bash about the sleep it ended.
        XCTAssertFalse(raw.contains("sleep \"$((ms"), raw)
    }

    /// A running line wider than the terminal is cut to its width: wrapped onto a second row,
    /// it left that row's first part behind at every pass's erase.
    func testAtANarrowTerminalLongRunningLinesAreCutNotLeftBehind() throws {
        let w = world()
        let name = "a-very-long-repository-name-for-a-narrow-terminal"
        XCTAssertEqual(w.zmx.sh("zmx run ci.\(name).1a2b3c4d.runner -d sleep 30").status, 0)
        let raw = try monitorAtATerminal(w, seconds: 4, interval: "500ms", before: "stty cols 40 rows 50; ")
        XCTAssertGreaterThanOrEqual(raw.components(separatedBy: "\u{1B}[J").count - 1, 2, "passes erased their lines:\n" + raw)
        let screen = MonitorTests.screen(raw, columns: 40)
        XCTAssertEqual(screen.filter { $0.hasPrefix("   a-very-long") }.count, 1, "the header once, not left behind:\n" + screen.joined(separator: "\n"))
        XCTAssertTrue(screen.contains { $0.hasPrefix("   a-very-long") && $0.hasSuffix("...") && $0.count == 39 }, screen.joined(separator: "\n"))
        XCTAssertTrue(screen.contains { $0.hasPrefix("   runner") && $0.contains("running") }, screen.joined(separator: "\n"))
    }

    /// What a terminal (script(1)'s) got from `pici-monitor --human --include-running` run in
    /// it for `seconds` after the shell commands `before`; its sessions are killed after.
    private func monitorAtATerminal(_ w: World, seconds: Int, interval: String, before: String = "") throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("script(1) is not installed") }
        let typescript = w.dir + "/../typescript"
        var env = w.zmx.env
        env["NO_COLOR"] = "1"
        let monitor = "\(before)timeout -s TERM \(seconds) '\(MonitorTests.monitor)' --interval \(interval) --human --include-running --no-sync --artifact-dir '\(w.dir)'"
        Support.sh("script -qec \"\(monitor)\" '\(typescript)' >/dev/null", env: env)
        _ = w.zmx.sh("zmx kill '*'")
        return String(decoding: try Data(contentsOf: URL(fileURLWithPath: typescript)), as: UTF8.self)
    }

    /// What a terminal shows of `raw` (script(1)'s record of it): lines, the cursor moved up
    /// by ESC [ A, and everything from the cursor's line on cleared by ESC [ J; with
    /// `columns`, a line that reaches them goes on in the next row, as a terminal wraps it.
    static func screen(_ raw: String, columns: Int = .max) -> [String] {
        var lines = [""], row = 0
        var rest = Substring(raw.replacingOccurrences(of: "\r", with: ""))
        while let c = rest.first {
            if rest.hasPrefix("\u{1B}[A") {
                row = max(0, row - 1)
                rest = rest.dropFirst(3)
            } else if rest.hasPrefix("\u{1B}[J") {
                lines = Array(lines[..<row]) + [""]
                rest = rest.dropFirst(3)
            } else if c == "\n" {
                row += 1
                if row == lines.count { lines.append("") }
                rest = rest.dropFirst()
            } else {
                if lines[row].count == columns {
                    row += 1
                    if row == lines.count { lines.append("") }
                }
                lines[row].append(c)
                rest = rest.dropFirst()
            }
        }
        return lines.filter { !$0.isEmpty }
    }

    /// One destination that never answers (a fake rsync that hangs, on PATH): the other job's
    /// line and files come all the same, a stop ends the hung rsync, and once the destination
    /// answers, a monitor started again sends it the files it missed.
    func testADestinationThatNeverAnswersHoldsBackNoOtherJob() throws {
        let w = world()
        let base = w.dir + "/.."
        let bin = base + "/fakebin", hung = base + "/hung.pids", alive = base + "/alive"
        for d in [bin, base + "/live", base + "/dead"] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        let real = ["/usr/bin/rsync", "/bin/rsync"].first { FileManager.default.isExecutableFile(atPath: $0) }!
        try """
            #!/usr/bin/env bash
            for a in "$@"; do
              if [[ $a == */dead/* && ! -e '\(alive)' ]]; then echo $$ >> '\(hung)'; exec sleep 1000; fi
            done
            exec '\(real)' "$@"

            """.write(toFile: bin + "/rsync", atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(bin + "/rsync", 0o755), 0)
        let dead = "00000bad", live = "0000600d"
        try writeEvent(w.dir, "demo", dead, dest: base + "/dead/\(dead)")
        try writeEvent(w.dir, "demo", live, dest: base + "/live/\(live)")
        // Started through PiciKit's Spawn, not Foundation's Process, whose wait would last as
        // long as the monitor's children hold a descriptor it shares with them.
        var monitor: Child? = nil
        func startMonitor() {
            let env = w.zmx.env.merging(["PATH": bin + ":" + (w.zmx.env["PATH"] ?? "")]) { $1 }
            monitor = try? Spawn.start(
                ["bash", "-c", "exec \"$0\" --interval 200ms --sync-timeout 1h --artifact-dir \"$1\" >>\"$2\" 2>>\"$3\"",
                 MonitorTests.monitor, w.dir, w.out, base + "/monitor.err"],
                environment: env.map { "\($0.key)=\($0.value)" }, stdout: .discard, stderr: .discard)
            XCTAssertNotNil(monitor)
        }
        func stopMonitor() {
            guard let m = monitor else { return }
            _ = kill(m.pid, SIGTERM)
            XCTAssertEqual(m.wait().status, 0)
            monitor = nil
        }
        func hungPIDs() -> [Int32] {
            ((try? String(contentsOfFile: hung, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
        }
        func linesFor(_ id: String) -> Int { statusLines(w).filter { $0.contains(id) }.count }

        startMonitor()
        startJob(w, dead, runner: "true")
        Support.waitFor("the dead destination's rsync started") { !hungPIDs().isEmpty }
        // Its rsync hangs (it began while the job ran); its line comes all the same.
        Support.waitFor("the dead destination's job's line") { linesFor(dead) == 1 }
        // Its rsync hangs; the next job is published and synced beside it.
        startJob(w, live, runner: "true")
        Support.waitFor("the live job's line") { linesFor(live) == 1 }
        Support.waitFor("the live job's files") { FileManager.default.fileExists(atPath: base + "/live/\(live)/index.html") }
        let stuck = hungPIDs()
        XCTAssertTrue(stuck.allSatisfy { kill($0, 0) == 0 }, "the hung rsync was still running meanwhile")
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/dead/\(dead)/index.html"))

        // A stop ends the hung rsync too. Ended is gone or a zombie: one whose parent is gone
        // waits for init to reap it, which some inits do late.
        stopMonitor()
        func state(_ pid: Int32) -> String? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            return String(stat[stat.index(close, offsetBy: 2)...].prefix(while: { $0 != " " }))
        }
        let left = stuck.filter { state($0).map { $0 != "Z" } ?? false }
        XCTAssertEqual(left, [], "a stopped monitor left its rsync running: "
            + left.map { "\($0): " + ((try? String(contentsOfFile: "/proc/\($0)/stat", encoding: .utf8)) ?? "") }.joined(separator: "; ")
            + "; the monitor's stderr: " + ((try? String(contentsOfFile: base + "/monitor.err", encoding: .utf8)) ?? "").suffix(2000))

        // The destination answers now: a new monitor sends what it missed, nothing twice.
        XCTAssertTrue(FileManager.default.createFile(atPath: alive, contents: Data()))
        startMonitor()
        Support.waitFor("the dead destination's files") {
            FileManager.default.fileExists(atPath: base + "/dead/\(dead)/artifacts/published.json")
        }
        Support.waitFor("the marker retired") {
            ((try? FileManager.default.contentsOfDirectory(atPath: w.dir + "/.pici/sync")) ?? ["x"]).isEmpty
        }
        stopMonitor()
        XCTAssertEqual(linesFor(dead), 1)
        XCTAssertEqual(linesFor(live), 1)
    }
}
