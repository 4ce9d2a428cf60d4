import Foundation
import XCTest
@testable import PiciKit

/// A job's workspace copy on its build host (pici-run(1), "Several hosts"; pici-stage(1),
/// --keep): recorded before anything is copied into it, removed once the job is gone by the
/// monitor pass, gc or --retain, and never lost while its host is away. The hosts are sshd
/// instances on 127.0.0.1, so a host's /tmp is this machine's.
final class HostCleanupTests: XCTestCase {
    struct World {
        var hosts: SSHHosts
        var zmx: Support.ZmxWorld
        var dir: String
        var workspace: String
        var out: String

        func push(_ name: String, host: String) -> (ran: Support.Ran, id: String, copy: String) {
            let event = #"{"type":"push","name":"\#(name)","workspace":"\#(workspace)","host":"\#(host)"}"#
            let ran = zmx.sh("pici-run --artifact-dir '\(dir)' --event '\(event)'")
            let lines = ran.stdout.split(separator: "\n")
            let id = lines.first { $0.hasPrefix("starting job ci.") }.map { String($0.split(separator: " ")[2].split(separator: ".")[2]) } ?? "none"
            let copy = lines.first { $0.hasPrefix("workspace copied to \(host):") }.map { String($0.dropFirst("workspace copied to \(host):".count)) } ?? "none"
            return (ran, id, copy)
        }

        @discardableResult
        func pass(_ flags: String = "") -> Support.Ran {
            zmx.sh("pici-monitor --once --no-sync --artifact-dir '\(dir)' \(flags) >> '\(out)'")
        }

        func published(_ id: String) -> [[String: Any]] {
            Support.jsonLines((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").filter {
                $0["job_id"] as? String == id && $0["status"] as? String != "running"
            }
        }

        func passUntilPublished(_ id: String, flags: String = "", seconds: Double = 60) {
            let deadline = Date().addingTimeInterval(seconds)
            while published(id).isEmpty && Date() < deadline {
                pass(flags)
                usleep(300_000)
            }
        }

        func record(_ name: String, _ id: String) -> String {
            (try? String(contentsOfFile: "\(dir)/.pici/launch/\(name).\(id).json", encoding: .utf8)) ?? ""
        }

        func sessions(host i: Int) -> [String] {
            hosts.on(i, "zmx list 2>/dev/null").stdout.split(separator: "\n").compactMap { line in
                line.split(separator: "\t").first.map { String($0.dropFirst("  name=".count)) }
            }
        }
    }

    func world(count: Int = 2) throws -> World {
        let hosts = try SSHHosts(self, count: count, local: false)
        let base = Support.tempDir(self, "hostclean")
        let ws = base + "/ws"
        try FileManager.default.createDirectory(atPath: ws, withIntermediateDirectories: true)
        try "echo built\n".write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        let zmx = Support.ZmxWorld(self, extra: ["PICI_HOSTS": hosts.hostsFile])
        try FileManager.default.createDirectory(atPath: base + "/D/.pici", withIntermediateDirectories: true)
        addTeardownBlock {
            for i in 1...count { hosts.on(i, "zmx kill 'ci.*' >/dev/null 2>&1 || true") }
        }
        return World(hosts: hosts, zmx: zmx, dir: base + "/D", workspace: ws, out: base + "/status.jsonl")
    }

    /// Removes `copy` at the end should the test fail before pici does.
    func removeAtTheEnd(_ copy: String) {
        guard RemoteWorkspace.isCopyPath(copy) else { return }
        addTeardownBlock { try? FileManager.default.removeItem(atPath: copy) }
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func testTheCopyOnTheHostGoesWithTheJobAfterKeepAndWaitsWhileTheHostIsAway() throws {
        let w = try world()
        let (ran, id, copy) = w.push("far", host: "host1")
        XCTAssertEqual(ran.status, 0, ran.stderr + ran.stdout)
        removeAtTheEnd(copy)
        XCTAssertTrue(RemoteWorkspace.isCopyPath(copy), copy)
        XCTAssertTrue(exists(copy + "/pico.sh"), "the copy is on the host")
        let record = w.record("far", id)
        XCTAssertTrue(record.contains(#""host":"host1""#), record)
        XCTAssertTrue(record.contains(#""remote_workspace":"\#(copy)""#), record)

        w.passUntilPublished(id)
        XCTAssertEqual(w.published(id).map { $0["status"] as? String }, ["success"])
        w.pass()
        XCTAssertTrue(exists(copy), "kept for --keep (30m), with the job's sessions")
        XCTAssertTrue(w.sessions(host: 1).contains("ci.far.\(id).runner"))

        // host1 is away: nothing of it can be removed, and nothing is forgotten; the other
        // host's work goes on.
        w.hosts.stop(1)
        for _ in 0..<2 { w.pass("--keep 0") }
        XCTAssertTrue(exists(copy), "removed while its host was away?")
        XCTAssertTrue(w.record("far", id).contains(copy), "the record that knows the copy is kept")
        let (other, otherID, otherCopy) = w.push("near", host: "host2")
        XCTAssertEqual(other.status, 0, other.stderr)
        removeAtTheEnd(otherCopy)
        w.passUntilPublished(otherID, flags: "--keep 0", seconds: 30)
        XCTAssertEqual(w.published(otherID).map { $0["status"] as? String }, ["success"])

        w.hosts.start(1)
        for _ in 0..<2 { w.pass("--keep 0") }
        XCTAssertFalse(exists(copy), "the copy is removed once its host is back")
        XCTAssertEqual(w.record("far", id), "", "and then the record")
        XCTAssertEqual(w.sessions(host: 1), [])
        XCTAssertFalse(exists(otherCopy))
        XCTAssertEqual(w.published(id).count, 1, "published once")
    }

    func testGCRemovesACopyLeftOnAHostOnceTheHostAnswers() throws {
        let w = try world(count: 1)
        let (ran, id, copy) = w.push("left", host: "host1")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        removeAtTheEnd(copy)
        w.passUntilPublished(id)
        // The job's sessions end without the reaper (a person killed them, or the monitor
        // stopped for good): only gc is left to remove the copy.
        w.hosts.on(1, "zmx kill 'ci.left.\(id).*'")
        w.hosts.stop(1)
        let away = w.zmx.sh("pici-run --gc --artifact-dir '\(w.dir)'")
        XCTAssertEqual(away.status, 69, away.stderr)
        XCTAssertTrue(exists(copy))
        XCTAssertTrue(w.record("left", id).contains(copy))
        w.hosts.start(1)
        let gc = w.zmx.sh("pici-run --gc --artifact-dir '\(w.dir)'")
        XCTAssertEqual(gc.status, 0, gc.stderr)
        XCTAssertEqual(gc.stdout, "removed workspace host1:\(copy)\n")
        XCTAssertFalse(exists(copy))
        XCTAssertEqual(w.record("left", id), "")
    }

    func testRetainWaitsForAJobsSessionsAndLeavesNoCopyOnTheHost() throws {
        let w = try world(count: 1)
        let (ran, id, copy) = w.push("old", host: "host1")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        removeAtTheEnd(copy)
        w.passUntilPublished(id)
        // Sessions kept for --keep hold the job: a pass would publish it again.
        let kept = w.zmx.sh("pici-run --gc --retain 0 --artifact-dir '\(w.dir)'")
        XCTAssertEqual(kept.status, 0, kept.stderr)
        XCTAssertFalse(kept.stdout.contains("removed job"), kept.stdout)
        XCTAssertTrue(exists(copy))
        // Without the reaper (no --keep pass): gone sessions, then --retain removes all.
        w.hosts.on(1, "zmx kill 'ci.old.\(id).*'")
        let gone = w.zmx.sh("pici-run --gc --retain 0 --artifact-dir '\(w.dir)'")
        XCTAssertEqual(gone.status, 0, gone.stderr)
        XCTAssertTrue(gone.stdout.contains("removed job old/\(id)\n"), gone.stdout)
        XCTAssertFalse(exists(copy))
        XCTAssertFalse(exists("\(w.dir)/old/\(id)"))
        XCTAssertEqual(w.record("old", id), "")
        w.pass()
        XCTAssertEqual(w.published(id).count, 1, "not published again")
    }

    /// The cleaner itself: a path that is not a copy never reaches a shell; a host that does
    /// not answer is tried once, keeps what is left for a later try, and holds up nothing else.
    func testTheCleanerRefusesForeignPathsAndTriesAnAwayHostOncePerPass() throws {
        for good in ["/tmp/pici-abc123", "/tmp/pici-ZZZZZZ"] { XCTAssertTrue(RemoteWorkspace.isCopyPath(good), good) }
        for bad in ["/tmp/pici-abc12", "/tmp/pici-abc1234", "/tmp/pici-ab/../", "/tmp/pici-a;b c1", "/tmp/pici-ab\ncd",
                    "/etc", "/tmp/../etc/pici-abcdef", "tmp/pici-abc123", "/tmp/pici-abc12/", ""] {
            XCTAssertFalse(RemoteWorkspace.isCopyPath(bad), bad)
        }
        let hosts = try SSHHosts(self, count: 1, local: false)
        let loaded = try Hosts.parse(try String(contentsOfFile: hosts.hostsFile, encoding: .utf8))
        let base = Support.tempDir(self, "cleaner")
        func copy() throws -> String {
            let made = Support.sh("mktemp -d /tmp/pici-XXXXXX", env: ProcessInfo.processInfo.environment).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            removeAtTheEnd(made)
            try "x".write(toFile: made + "/f", atomically: true, encoding: .utf8)
            return made
        }
        func record(_ id: String, host: String?, remote: String?, local: String? = nil) -> LaunchRecord {
            var r = LaunchRecord(name: "demo", jobID: id, launchedAt: 0, pid: 1, pidStart: 1, timeout: nil, workspace: local, temporaryBase: base)
            r.host = host
            r.remoteWorkspace = remote
            return r
        }

        var cleaner = WorkspaceCleaner(hosts: loaded, timeout: 20)
        let canary = base + "/canary"
        let foreign = cleaner.remove(record("00000001", host: "host1", remote: "/tmp/pici-x; touch \(canary)"))
        XCTAssertEqual(foreign.problems.count, 1, "\(foreign)")
        XCTAssertTrue(foreign.isComplete, "never tried again")
        XCTAssertFalse(exists(canary))

        let first = try copy(), second = try copy()
        let local = base + "/pici-00000004-abcdef"
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        hosts.stop(1)
        let a = cleaner.remove(record("00000002", host: "host1", remote: first))
        XCTAssertFalse(a.isComplete)
        XCTAssertEqual(a.problems.count, 1, "\(a)")
        XCTAssertTrue(a.problems.first?.contains("tried again later") == true, "\(a.problems)")
        let b = cleaner.remove(record("00000003", host: "host1", remote: second))
        XCTAssertEqual(b.left, 1)
        XCTAssertEqual(b.problems, [], "an away host is not asked again in the same pass")
        let c = cleaner.remove(record("00000004", host: "host1", remote: nil, local: local))
        XCTAssertTrue(c.isComplete, "a copy here is removed all the same")
        XCTAssertFalse(exists(local))
        let unknown = cleaner.remove(record("00000005", host: "gone", remote: first))
        XCTAssertFalse(unknown.isComplete)
        XCTAssertEqual(unknown.waiting.count, 1)
        XCTAssertTrue(exists(first) && exists(second))

        hosts.start(1)
        var next = WorkspaceCleaner(hosts: loaded, timeout: 20)
        for (id, dir) in [("00000002", first), ("00000003", second)] {
            let done = next.remove(record(id, host: "host1", remote: dir))
            XCTAssertTrue(done.isComplete, "\(done)")
            XCTAssertEqual(done.removed, ["host1:\(dir)"])
        }
        XCTAssertFalse(exists(first) || exists(second))
    }
}
