import Foundation
import XCTest

/// The faults a CI host meets over months: zmx hanging or printing garbage, a full or
/// read-only disk, two monitors on one directory. In each, no status line may be lost or
/// said twice, and the monitor must go on to its next pass.
final class FaultTests: XCTestCase {
    /// A canned world of `jobs` finished jobs (runner + one step each) for the stand-in zmx.
    private func cannedWorld(jobs: Int, failing: Set<Int> = []) -> Support.ZmxWorld {
        let world = Support.ZmxWorld(self)
        var lines: [String] = []
        for j in 0..<jobs {
            let id = String(format: "%08x", 0xfa000000 + j)
            let code = failing.contains(j) ? 2 : 0
            for s in ["runner", "step.test"] {
                lines.append("  name=ci.fault.\(id).\(s)\tpid=1\tclients=0\tcreated=1795000000\tcwd=file://h/w\tended=1795000060\texit_code=\(code)")
            }
        }
        try! (lines.sorted().joined(separator: "\n") + "\n").write(toFile: world.dir + "/canned-list", atomically: true, encoding: .utf8)
        try! "building\nok <done> & \"quoted\"\n".write(toFile: world.dir + "/canned-history", atomically: true, encoding: .utf8)
        return world
    }

    private func statusLines(_ text: String) -> [[String: Any]] {
        Support.jsonLines(text).filter { ($0["type"] as? String) == "status" || $0["job_id"] != nil }
    }

    private func fakeZmx(_ body: String) -> String {
        let dir = Support.tempDir(self, "fakezmx")
        let path = dir + "/zmx"
        try! "#!/usr/bin/env bash\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    func testHungZmxIsKilledAndTheMonitorGoesOn() {
        let world = Support.ZmxWorld(self)
        let hang = fakeZmx("exec sleep 60")
        let art = Support.tempDir(self, "art")
        let started = Date()
        let ran = world.sh("pici-monitor --once --zmx \(hang) --timeout 500ms --artifact-dir \(art)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "the hung zmx list was not killed")
        XCTAssertEqual(ran.status, 69, "--once says the pass failed: " + ran.stderr)
        XCTAssertTrue(ran.stderr.contains("timed out"), ran.stderr)
        XCTAssertEqual(ran.stdout, "")

        // Looping, the monitor logs the failed pass and starts the next one.
        let loop = world.sh("timeout --preserve-status -s TERM 4 pici-monitor --interval 200ms --zmx \(hang) --timeout 300ms --artifact-dir \(art); echo rc=$?")
        XCTAssertTrue(loop.stdout.contains("rc=0"), loop.stdout + loop.stderr)
        let failedPasses = loop.stderr.components(separatedBy: "timed out").count - 1
        XCTAssertGreaterThanOrEqual(failedPasses, 2, loop.stderr)
    }

    func testGarbageFromZmxNeverTurnsJobsIntoLost() {
        // The pass's failure is pici-list's: 65 for garbage, 69 for a failing or missing zmx.
        let world = cannedWorld(jobs: 3)
        let art = Support.tempDir(self, "art")
        // A pass that sees the jobs running registers them as open...
        let running = try! String(contentsOfFile: world.dir + "/canned-list", encoding: .utf8)
            .replacingOccurrences(of: "\tended=1795000060\texit_code=0", with: "")
        try! running.write(toFile: world.dir + "/canned-list", atomically: true, encoding: .utf8)
        XCTAssertEqual(world.sh("pici-monitor --once --no-sync --artifact-dir \(art)").stdout, "")
        // ...then zmx answers with garbage, exits non-zero, or is missing: none of that is news of the jobs' end.
        for (zmx, status) in [(fakeZmx("echo 'zmx: garbage \\x01\\x02'; echo 'name=broken'"), Int32(65)), (fakeZmx("echo partial; exit 3"), 69), ("/nonexistent/zmx", 69)] {
            let ran = world.sh("pici-monitor --once --no-sync --zmx \(zmx) --artifact-dir \(art)")
            XCTAssertEqual(ran.status, status, ran.stderr)
            XCTAssertEqual(statusLines(ran.stdout).count, 0, "zmx \(zmx): \(ran.stdout)")
        }
        // When zmx answers properly again and the jobs are really gone, each is lost exactly once.
        try! "".write(toFile: world.dir + "/canned-list", atomically: true, encoding: .utf8)
        let gone = world.sh("pici-monitor --once --no-sync --artifact-dir \(art); pici-monitor --once --no-sync --artifact-dir \(art)")
        let lines = statusLines(gone.stdout)
        XCTAssertEqual(lines.count, 3, gone.stdout + gone.stderr)
        XCTAssertEqual(Set(lines.compactMap { $0["status"] as? String }), ["lost"])
    }

    /// Mounts a small tmpfs at `path`; false where this machine does not allow it.
    private func mountTmpfs(_ path: String, size: String) -> Bool {
        let ran = Support.sh("mount -t tmpfs -o size=\(size) pici-test \(path)", env: ProcessInfo.processInfo.environment)
        if ran.status == 0 {
            addTeardownBlock { _ = Support.sh("umount -l \(path)", env: ProcessInfo.processInfo.environment) }
        }
        return ran.status == 0
    }

    func testFullDiskLosesNoStatusLine() throws {
        let world = cannedWorld(jobs: 4, failing: [1])
        let art = Support.tempDir(self, "art")
        guard mountTmpfs(art, size: "256k") else { throw XCTSkip("cannot mount a tmpfs here (needs root)") }
        // Fill the disk to the last block.
        world.sh("dd if=/dev/zero of=\(art)/filler bs=4k 2>/dev/null; sync")
        let full = world.sh("pici-monitor --once --no-sync --artifact-dir \(art)")
        XCTAssertEqual(full.status, 73, "--once says the pass could not write")
        XCTAssertEqual(statusLines(full.stdout).count, 0, "nothing may be published that could not be recorded")
        XCTAssertFalse(full.stderr.isEmpty, "a full disk is reported")
        let visibleTemp = world.sh("find \(art) -name '*.tmp*' ! -name '.*'").stdout
        XCTAssertEqual(visibleTemp, "", "no partial file is visible")

        world.sh("rm -f \(art)/filler")
        var all = ""
        for _ in 0..<3 { all += world.sh("pici-monitor --once --no-sync --artifact-dir \(art)").stdout }
        let lines = statusLines(all)
        XCTAssertEqual(lines.count, 4, all)
        XCTAssertEqual(Set(lines.compactMap { $0["job_id"] as? String }).count, 4)
        XCTAssertEqual(lines.filter { $0["status"] as? String == "failed" }.count, 1)
    }

    func testReadOnlyArtifactDirLosesNoStatusLine() throws {
        let world = cannedWorld(jobs: 2)
        let art = Support.tempDir(self, "art")
        guard mountTmpfs(art, size: "4m") else { throw XCTSkip("cannot mount a tmpfs here (needs root)") }
        XCTAssertEqual(world.sh("mount -o remount,ro \(art)").status, 0)
        let ro = world.sh("pici-monitor --once --no-sync --artifact-dir \(art)")
        XCTAssertEqual(ro.status, 73)
        XCTAssertEqual(statusLines(ro.stdout).count, 0, ro.stdout)
        XCTAssertTrue(ro.stderr.contains("Read-only"), ro.stderr)
        // pici-stage says it once for the pass, not once per job and file.
        let stage = ro.stderr.split(separator: "\n").filter { $0.hasPrefix("pici-stage:") }
        XCTAssertEqual(stage, ["pici-stage: cannot write to artifact dir \(art): Read-only file system; nothing is staged this pass"], ro.stderr)
        XCTAssertEqual(world.sh("mount -o remount,rw \(art)").status, 0)
        var all = ""
        for _ in 0..<2 { all += world.sh("pici-monitor --once --no-sync --artifact-dir \(art)").stdout }
        XCTAssertEqual(statusLines(all).count, 2, all)
    }

    func testTwoMonitorsOnOneDirPublishEachJobOnce() {
        let world = cannedWorld(jobs: 20, failing: [3, 7])
        let art = Support.tempDir(self, "art")
        let out = Support.tempDir(self, "out")
        // Two monitors racing over the same directory, pass after pass.
        world.sh("""
            for i in 1 2 3 4 5; do
              pici-monitor --once --no-sync --artifact-dir \(art) >> \(out)/a &
              pici-monitor --once --no-sync --artifact-dir \(art) >> \(out)/b &
              wait
            done
            """)
        let a = (try? String(contentsOfFile: out + "/a", encoding: .utf8)) ?? ""
        let b = (try? String(contentsOfFile: out + "/b", encoding: .utf8)) ?? ""
        let lines = statusLines(a + b)
        XCTAssertEqual(lines.count, 20, "each job exactly once across both monitors")
        XCTAssertEqual(Set(lines.compactMap { $0["job_id"] as? String }).count, 20)
    }
}
