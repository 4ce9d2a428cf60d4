import Foundation
import XCTest
@testable import PiciKit

/// A job that fails before launch: its workspace copy is removed at once, and it still gets a
/// job dir, pages and exactly one status line, published by the next monitor pass.
final class LaunchFailureTests: XCTestCase {
    struct World {
        let zmx: Support.ZmxWorld
        let tmp: String
        let art: String
        let out: String
        func sh(_ script: String, input: String = "") -> Support.Ran {
            zmx.sh("export TMPDIR='\(tmp)'\n" + script, input: input)
        }
        func pass(_ flags: String = "") -> Support.Ran {
            sh("pici-monitor --once --no-sync --artifact-dir '\(art)' \(flags) >> '\(out)'")
        }
        var lines: [[String: Any]] {
            Support.jsonLines((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
        }
        var workspaces: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).filter { $0.hasPrefix("pici-") } }
    }

    func world() -> World {
        let base = Support.tempDir(self, "prelaunch")
        return World(zmx: Support.ZmxWorld(self), tmp: Support.tempDir(self, "tmp"), art: base + "/D", out: base + "/status.jsonl")
    }

    func workspace(pico: String?) -> String {
        let dir = Support.tempDir(self, "ws")
        if let pico { try! pico.write(toFile: dir + "/pico.sh", atomically: true, encoding: .utf8) }
        try! "hello\n".write(toFile: dir + "/README", atomically: true, encoding: .utf8)
        return dir
    }

    func event(_ name: String, _ ws: String) -> String {
        #"{"type":"push","name":"\#(name)","workspace":"\#(ws)","branch":"main","commit":"c0ffee"}"#
    }

    func jobID(_ stdout: String) -> String? {
        stdout.split(separator: "\n").first { $0.hasPrefix("starting job ci.") }.map { String($0.suffix(8)) }
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func testNoPicoShIsPublishedOnceAsFailedWithItsReasonAndLeavesNoWorkspace() throws {
        let w = world()
        let ran = w.sh("pici-run --artifact-dir '\(w.art)'", input: event("demo", workspace(pico: nil)))
        XCTAssertEqual(ran.status, 66, ran.stderr)
        guard let id = jobID(ran.stdout) else { return XCTFail(ran.stdout) }
        XCTAssertEqual(w.workspaces, [], "the workspace copy was left behind")

        XCTAssertEqual(w.pass().status, 0)
        XCTAssertEqual(w.pass().status, 0)
        let lines = w.lines
        XCTAssertEqual(lines.count, 1, "\(lines)")
        guard let line = lines.first else { return }
        XCTAssertEqual(line["job_id"] as? String, id)
        XCTAssertEqual(line["name"] as? String, "demo")
        XCTAssertEqual(line["status"] as? String, "failed")
        XCTAssertEqual(line["exit_code"] as? Int, 66)
        XCTAssertEqual(line["session_count"] as? Int, 0)
        let reason = line["reason"] as? String ?? ""
        XCTAssertTrue(reason.hasPrefix("no pico.sh found in \(w.tmp)/pici-\(id)-"), reason)

        let dir = "\(w.art)/demo/\(id)"
        let html = read(dir + "/index.html")
        XCTAssertTrue(html.contains("<dt>reason</dt><dd>no pico.sh found in "), html)
        XCTAssertTrue(html.contains("<code>c0ffee</code>"), "the event's commit is on the page")
        XCTAssertTrue(read(dir + "/index.txt").contains("\nReason: no pico.sh found in "), read(dir + "/index.txt"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/artifacts/event.json"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/artifacts/published.json"))
        XCTAssertTrue(read(w.art + "/index.html").contains(id), "the front page lists it")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(w.art)/.pici/open/demo.\(id).json"))
    }

    func testAWorkspaceThatCannotBeFetchedIsPublishedEvenWhileZmxCannotBeReached() throws {
        let w = world()
        let ran = w.sh("pici-run --artifact-dir '\(w.art)'", input: event("demo", "/nonexistent/pici-ws"))
        XCTAssertEqual(ran.status, 69, ran.stderr)
        guard let id = jobID(ran.stdout) else { return XCTFail(ran.stdout) }
        XCTAssertEqual(w.workspaces, [])
        // No listing at all: the job never had a session, so nothing needs proving.
        let pass = w.pass("--zmx false")
        XCTAssertTrue(pass.stderr.contains("pass failed: pici-list exit 69"), pass.stderr)
        let lines = w.lines
        XCTAssertEqual(lines.count, 1, "\(lines)")
        XCTAssertEqual(lines.first?["job_id"] as? String, id)
        XCTAssertEqual(lines.first?["exit_code"] as? Int, 69)
        XCTAssertTrue((lines.first?["reason"] as? String ?? "").hasPrefix("workspace: rsync -r --exclude=/.git -- /nonexistent/pici-ws/ "), "\(lines)")
        let next = w.pass()
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertEqual(w.lines.count, 1)
    }

    func testARunnerZmxNeverStartsIsPublishedAndItsWorkspaceRemoved() throws {
        let w = world()
        let fake = Support.tempDir(self, "fake") + "/zmx"
        try "#!/usr/bin/env bash\nexit 0\n".write(toFile: fake, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(fake, 0o755), 0)
        let ran = w.sh("pici-run --zmx '\(fake)' --artifact-dir '\(w.art)'", input: event("demo", workspace(pico: "exit 0\n")))
        XCTAssertEqual(ran.status, 69, ran.stderr)
        guard let id = jobID(ran.stdout) else { return XCTFail(ran.stdout) }
        XCTAssertEqual(w.workspaces, [], "the workspace copy was left behind")
        let pass = w.pass()
        XCTAssertEqual(pass.status, 0, pass.stderr)
        XCTAssertEqual(w.lines.map { $0["job_id"] as? String }, [id])
        XCTAssertEqual(w.lines.first?["reason"] as? String, "zmx did not start ci.demo.\(id).runner: it is not in zmx list after 2s")
    }

    func testTheStatusLineCarriesAReasonOnlyWhenThereIsOne() {
        let job = LaunchFailure.job(name: "demo", jobID: "0badc0de", startedAt: 1_795_823_657, endedAt: 1_795_823_659, exitCode: 66, reason: "no pico.sh found in /tmp/pici-x")
        let text = String(decoding: StatusLine.bytes(for: job, timestamp: 1_795_823_660), as: UTF8.self)
        XCTAssertEqual(text, #"{"timestamp":"2026-11-27T23:54:20Z","name":"demo","job_id":"0badc0de","status":"failed","exit_code":66,"duration":"2.0s","started_at":"2026-11-27T23:54:17Z","ended_at":"2026-11-27T23:54:19Z","session_count":0,"sessions":[],"reason":"no pico.sh found in /tmp/pici-x","type":"status"}"#)
        var plain = job
        plain.reason = nil
        XCTAssertFalse(String(decoding: StatusLine.bytes(for: plain, timestamp: 0), as: UTF8.self).contains("reason"))
        XCTAssertEqual(LaunchFailure.reason(for: WorkspaceError.rsync(command: "rsync a b", status: 23, stderr: "rsync: oops\n")), "workspace: rsync a b: exit 23")
    }

    func testOnlyPathsShapedLikeAWorkspaceAreEverRemoved() {
        for bad in ["", "/", "relative/pici-x", "/tmp/pici-", "/tmp/other", "/tmp/../pici-x", "/tmp//pici-x", "/tmp/pici-x/", "/tmp/pici-\u{1}"] {
            XCTAssertFalse(Workspace.isWorkspacePath(bad), bad)
        }
        XCTAssertTrue(Workspace.isWorkspacePath("/tmp/pici-0badc0de-AbC123"))
        let dir = Support.tempDir(self, "rm") + "/pici-0badc0de-x"
        try! FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        XCTAssertTrue(Workspace.remove(dir))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
        XCTAssertTrue(Workspace.remove(dir), "one already gone is removed")
    }
}
