import Foundation
@testable import PiciKit
import XCTest

/// Running external commands: output, input, exit codes, signals, timeouts, and a child that
/// leaves a daemon holding its pipes, as `zmx run -d` does.
final class SpawnTests: XCTestCase {
    override func setUp() {
        super.setUp()
        // As in every pici tool: a child that stops reading must not kill us with SIGPIPE.
        Terminal.ignoreSIGPIPE()
    }

    func testCapturesStdoutAndStderrSeparately() throws {
        let r = try Spawn.run(["bash", "-c", "echo out; echo err >&2; printf 'no newline'"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdoutText, "out\nno newline")
        XCTAssertEqual(r.stderrText, "err\n")
        XCTAssertFalse(r.timedOut)
    }

    func testCapturesMoreThanAPipeHolds() throws {
        // 1 MiB on each stream at once: both must be drained while the child runs.
        let r = try Spawn.run(["bash", "-c", "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2; echo done >&2"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout.count, 1 << 20)
        XCTAssertEqual(r.stderr.count, (1 << 20) + 5)
        XCTAssertTrue(r.stderrText.hasSuffix("done\n"))
    }

    func testPassesStdin() throws {
        let r = try Spawn.run(["cat"], input: Array("hello\nworld".utf8))
        XCTAssertEqual(r.stdoutText, "hello\nworld")
        let big = [UInt8]((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) })
        let c = try Spawn.run(["wc", "-c"], input: big)
        XCTAssertEqual(c.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "\(3 << 20)")
        let sum = try Spawn.run(["sha256sum"], input: big)
        XCTAssertEqual(String(sum.stdoutText.prefix(64)), SHA256.hash(big).hexString)
    }

    func testChildThatIgnoresItsStdinStillEnds() throws {
        let start = Date()
        let r = try Spawn.run(["true"], input: [UInt8](repeating: 0x61, count: 4 << 20), timeout: 10)
        XCTAssertEqual(r.status, 0)
        XCTAssertFalse(r.timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testNoInputMeansAnEmptyStdin() throws {
        let r = try Spawn.run(["cat"], timeout: 5)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, [])
        XCTAssertFalse(r.timedOut, "cat reads /dev/null, not our terminal")
    }

    func testReportsExitCodes() throws {
        for code: Int32 in [0, 1, 2, 4, 65, 127, 255] {
            XCTAssertEqual(try Spawn.run(["bash", "-c", "exit \(code)"]).status, code)
        }
        XCTAssertEqual(try Spawn.run(["false"]).status, 1)
    }

    func testReportsSignalsAs128PlusN() throws {
        XCTAssertEqual(try Spawn.run(["bash", "-c", "kill -TERM $$"]).status, 128 + SIGTERM)
        XCTAssertEqual(try Spawn.run(["bash", "-c", "kill -KILL $$"]).status, 128 + SIGKILL)
        XCTAssertEqual(try Spawn.run(["bash", "-c", "kill -INT $$"]).status, 128 + SIGINT)
    }

    func testChildGetsDefaultSignalHandling() throws {
        // We ignore SIGPIPE; the child must not inherit that, or `yes | head` would never end.
        let r = try Spawn.run(["bash", "-c", "yes | head -1; echo ${PIPESTATUS[0]}"], timeout: 10)
        XCTAssertFalse(r.timedOut)
        XCTAssertEqual(r.stdoutText, "y\n\(128 + SIGPIPE)\n")
    }

    func testTimesOutAndKills() throws {
        let start = Date()
        let r = try Spawn.run(["sleep", "10"], timeout: 0.5)
        let took = Date().timeIntervalSince(start)
        XCTAssertTrue(r.timedOut)
        XCTAssertEqual(r.status, 128 + SIGKILL)
        XCTAssertGreaterThanOrEqual(took, 0.45)
        XCTAssertLessThan(took, 2)
    }

    func testTimeoutKillsTheWholeProcessGroup() throws {
        let dir = Support.tempDir(self, "spawn")
        let marker = dir + "/grandchild-ran"
        let start = Date()
        // The grandchild would write the marker after 2 s if the kill missed it.
        let r = try Spawn.run(["bash", "-c", "(sleep 2; touch \(marker)) & sleep 10"], stdout: .discard, stderr: .discard, timeout: 0.5)
        XCTAssertTrue(r.timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        usleep(2_500_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testTimeoutWithAllPipesClosedStillFires() throws {
        let start = Date()
        let r = try Spawn.run(["sleep", "10"], stdout: .discard, stderr: .discard, timeout: 0.5)
        XCTAssertTrue(r.timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    func testDoesNotHangOnABackgroundDaemonHoldingThePipe() throws {
        let start = Date()
        let r = try Spawn.run(["bash", "-c", "sleep 5 & echo hi"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "waited for the daemon's EOF")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdoutText, "hi\n")
        XCTAssertFalse(r.timedOut)
        let both = try Spawn.run(["bash", "-c", "sleep 5 & echo out; echo err >&2; exit 3"], timeout: 30)
        XCTAssertEqual(both.status, 3)
        XCTAssertEqual(both.stdoutText, "out\n")
        XCTAssertEqual(both.stderrText, "err\n")
        XCTAssertFalse(both.timedOut)
    }

    func testCommandNotFoundIsAThrownFailure() {
        XCTAssertThrowsError(try Spawn.run(["pici-no-such-command-\(getpid())"])) { error in
            guard let f = error as? Spawn.Failure else { return XCTFail("\(error)") }
            XCTAssertEqual(f.errno, ENOENT)
            XCTAssertTrue(f.description.contains("command not found"), f.description)
            XCTAssertTrue(f.command.hasPrefix("pici-no-such-command-"))
        }
        XCTAssertThrowsError(try Spawn.run(["/nonexistent/bin/tool"])) { error in
            XCTAssertEqual((error as? Spawn.Failure)?.errno, ENOENT)
        }
    }

    func testRunsInTheGivenDirectoryAndComesBack() throws {
        let dir = Support.tempDir(self, "spawn")
        let before = FileManager.default.currentDirectoryPath
        let r = try Spawn.run(["pwd", "-P"], cwd: dir)
        XCTAssertEqual(r.stdoutText, URL(fileURLWithPath: dir).resolvingSymlinksInPath().path + "\n")
        XCTAssertEqual(FileManager.default.currentDirectoryPath, before)
        XCTAssertThrowsError(try Spawn.run(["pwd"], cwd: dir + "/missing")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cd \(dir)/missing: "), "\(error)")
        }
        FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        XCTAssertThrowsError(try Spawn.run(["pwd"], cwd: dir + "/file")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cd \(dir)/file: "), "\(error)")
        }
        XCTAssertEqual(FileManager.default.currentDirectoryPath, before)
        // A relative command is found in the directory, as a shell's `cd DIR && ./x` would.
        try "#!/bin/sh\necho here\n".write(toFile: dir + "/x", atomically: true, encoding: .utf8)
        chmod(dir + "/x", 0o755)
        XCTAssertEqual(try Spawn.run(["./x"], cwd: dir).stdoutText, "here\n")
    }

    func testEnvironmentIsPassedWhenGiven() throws {
        let r = try Spawn.run(["/usr/bin/env"], environment: ["ONLY=this"])
        XCTAssertEqual(r.stdoutText, "ONLY=this\n")
    }

    func testDiscardAndInherit() throws {
        let r = try Spawn.run(["bash", "-c", "echo gone; echo gone >&2"], stdout: .discard, stderr: .discard)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, [])
        XCTAssertEqual(r.stderr, [])
    }

    func testZmxCommandSplitsAndReportsFailures() throws {
        let z = ZmxCommand(override: "bash -c  exit\\ 3", timeout: 5)
        XCTAssertEqual(z.words, ["bash", "-c", "exit\\", "3"])
        XCTAssertThrowsError(try ZmxCommand(override: "/nonexistent/zmx", timeout: 5).run(["list"])) { error in
            let f = error as! ZmxCommand.Failure
            XCTAssertEqual(f.command, "/nonexistent/zmx list")
            XCTAssertTrue(f.reason.contains("command not found"), f.reason)
        }
        XCTAssertThrowsError(try ZmxCommand(override: "sleep", timeout: 0.3).run(["5"])) { error in
            XCTAssertTrue("\(error)".contains("timed out"), "\(error)")
        }
        XCTAssertThrowsError(try ZmxCommand(override: "false", timeout: 5).run([])) { error in
            XCTAssertTrue("\(error)".contains("exit 1"), "\(error)")
        }
        XCTAssertEqual(try ZmxCommand(override: "false", timeout: 5).run([], check: false).status, 1)
    }

    // MARK: Waiting without sleeping

    func testTheSignalPathWaitsAsThePidfdPathDoes() throws {
        // Where pidfd_open is refused, a SIGCHLD self-pipe wakes the poll instead.
        ExitNotice.forceSignalPath = true
        defer { ExitNotice.forceSignalPath = false }
        XCTAssertEqual(try Spawn.run(["bash", "-c", "echo hi; exit 3"], timeout: 10).status, 3)
        XCTAssertEqual(try Spawn.run(["bash", "-c", "echo hi"], timeout: 10).stdoutText, "hi\n")
        let daemon = try Spawn.run(["bash", "-c", "sleep 5 & echo out"], timeout: 30)
        XCTAssertEqual(daemon.stdoutText, "out\n")
        XCTAssertFalse(daemon.timedOut)
        let slow = try Spawn.run(["sleep", "10"], stdout: .discard, stderr: .discard, timeout: 0.3)
        XCTAssertTrue(slow.timedOut)
        let pool = ChildPool(limit: 3)
        for i in 0..<3 { pool.add(try Spawn.start(["bash", "-c", "exit \(i)"]), tag: i) }
        var got: [Int: Int32] = [:]
        while !pool.isEmpty { for (tag, r) in pool.next() { got[tag] = r.status } }
        XCTAssertEqual(got, [0: 0, 1: 1, 2: 2])
    }

    func testAPoolWaitsOnManyChildrenAtOnce() throws {
        // Three children that each take 0.5 s, in flight together: done in about 0.5 s, and
        // each result comes back under its own tag.
        let pool = ChildPool(limit: 3)
        XCTAssertEqual(pool.limit, 3)
        let start = Date()
        for i in 0..<3 {
            pool.add(try Spawn.start(["bash", "-c", "sleep 0.5; echo \(i)"], timeout: 10), tag: i)
        }
        XCTAssertTrue(pool.isFull)
        var out: [Int: String] = [:]
        while !pool.isEmpty { for (tag, r) in pool.next() { out[tag] = r.stdoutText } }
        XCTAssertEqual(out, [0: "0\n", 1: "1\n", 2: "2\n"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.4, "the children ran one after another")
    }

    func testAPoolReturnsAtItsDeadlineWithChildrenStillRunning() throws {
        let pool = ChildPool(limit: 1)
        pool.add(try Spawn.start(["sleep", "10"], stdout: .discard, stderr: .discard), tag: 7)
        XCTAssertTrue(pool.next(until: Clock.monotonicSeconds() + 0.2).isEmpty)
        XCTAssertEqual(pool.tags, [7])
        let stopped = pool.stopAll(grace: 1)
        XCTAssertEqual(stopped.map(\.tag), [7])
        XCTAssertEqual(stopped.first?.result.status, 128 + SIGTERM)
        XCTAssertTrue(pool.isEmpty)
    }

    func testStopAllEndsTheWholeProcessGroup() throws {
        let dir = Support.tempDir(self, "spawn")
        let marker = dir + "/grandchild-ran"
        let pool = ChildPool(limit: 1)
        pool.add(try Spawn.start(["bash", "-c", "(sleep 1; touch \(marker)) & wait"], stdout: .discard, stderr: .discard), tag: 0)
        _ = pool.next(until: Clock.monotonicSeconds() + 0.2)
        _ = pool.stopAll(grace: 1)
        usleep(1_500_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the grandchild outlived the stop")
    }

    func testAChildDroppedUnwaitedIsKilled() throws {
        var pid: pid_t = 0
        do {
            let child = try Spawn.start(["sleep", "10"], stdout: .discard, stderr: .discard)
            pid = child.pid
        }
        XCTAssertNotEqual(kill(pid, 0), 0, "the dropped child still runs")
    }
}
