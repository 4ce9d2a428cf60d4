import Foundation
import PiciKit
import XCTest

/// A follower whose session's task ends before its `zmx tail` connects: such a tail waits for
/// a next task and never returns (ZMX.md), and the pass that sees the end waited for the
/// follower (2 s, then a stop) for each such session, holding back the job's status line (the
/// flake of MonitorTests' never-answering-destination test: a line 5 s after its job's end).
/// The follower ends by itself, with the history as its capture.
final class FollowEndTests: XCTestCase {
    /// The follow dir of `session` as pici-stage leaves it for a follower it starts.
    func claim(_ session: String, art: String, id: String) throws -> String {
        let follow = "\(art)/.pici/follow/\(session)"
        try FileManager.default.createDirectory(atPath: follow + "/1", withIntermediateDirectories: true)
        try "demo\t\(id)\trunner\n".write(toFile: follow + "/meta", atomically: true, encoding: .utf8)
        return follow
    }

    /// The session's line in `zmx list`.
    func listed(_ world: Support.ZmxWorld, _ session: String) -> String {
        world.sh("zmx list").stdout.split(separator: "\n").first { $0.contains("name=\(session)\t") }.map(String.init) ?? ""
    }

    /// One pass that stages, then the runner's log.
    func stagedLog(_ world: Support.ZmxWorld, art: String, id: String) -> String {
        let ran = world.sh("pici-list | pici-group | pici-stage --artifact-dir '\(art)' >/dev/null")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        return (try? String(contentsOfFile: "\(art)/demo/\(id)/runner.txt", encoding: .utf8)) ?? ""
    }

    /// Started by a pass that saw the session running, after its task had ended: no tail, the
    /// history as its head, and done.
    func testAFollowerOfATaskThatHasEndedStartsNoTailAndEnds() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let id = "e0d0e0d0", session = "ci.demo.e0d0e0d0.runner"
        XCTAssertEqual(world.sh("zmx run \(session) -d bash -c 'echo quick-output' >/dev/null").status, 0)
        world.waitUntilEnded("name=\(session)\t")
        XCTAssertTrue(listed(world, session).contains("\tended="), listed(world, session))
        let follow = try claim(session, art: art, id: id)

        let ran = world.sh("pici-stage --follow \(session) --artifact-dir '\(art)'", timeout: 30)
        XCTAssertEqual(ran.status, 0, "the follower did not end by itself: \(ran.stderr)")
        XCTAssertEqual(try? String(contentsOfFile: follow + "/1/done", encoding: .utf8), "no tail\n")
        XCTAssertTrue(((try? String(contentsOfFile: follow + "/1/head", encoding: .utf8)) ?? "").contains("quick-output\n"))
        XCTAssertTrue(listed(world, session).contains("\tclients=0\t"), "a tail is left: \(listed(world, session))")

        XCTAssertEqual(stagedLog(world, art: art, id: id), "quick-output\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: follow), "the follow dir stays")
    }

    /// Its tail connects only after the task ended (a loaded machine): proven connected by a
    /// listing that shows the end, and silent, it is ended; the history has everything.
    func testATailThatConnectsAfterTheTaskEndedIsEnded() throws {
        let calls = Support.tempDir(self, "calls") + "/calls"
        let world = Support.ZmxWorld(self, extra: ["ZMX_STANDIN_TAIL_DELAY": "2", "ZMX_CALL_LOG": calls])
        let art = Support.tempDir(self, "art")
        let goDir = Support.tempDir(self, "go"), go = goDir + "/go"
        let id = "e1d1e1d1", session = "ci.demo.e1d1e1d1.runner"
        let task = "echo before-go; until [ -e \(go) ] || [ ! -d \(goDir) ]; do sleep 0.05; done; echo after-go"
        XCTAssertEqual(world.sh("zmx run \(session) -d bash -c '\(task)' >/dev/null").status, 0)
        let follow = try claim(session, art: art, id: id)
        XCTAssertEqual(world.sh("pici-stage --follow \(session) --artifact-dir '\(art)' >/dev/null 2>&1 &").status, 0)
        // The task ends once the follower has started its tail, which connects 2 s later.
        Support.waitFor("the follower's zmx tail", seconds: 20) {
            ((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "").contains("tail \(session)\n")
        }
        XCTAssertTrue(FileManager.default.createFile(atPath: go, contents: nil))
        Support.waitFor("the follower's end", seconds: 20) { FileManager.default.fileExists(atPath: follow + "/1/done") }
        XCTAssertEqual(try? String(contentsOfFile: follow + "/1/done", encoding: .utf8), "exit 143\n", "its tail was ended")
        XCTAssertTrue(((try? String(contentsOfFile: follow + "/1/head", encoding: .utf8)) ?? "").contains("before-go\nafter-go\n"))
        // Nothing of the tail is left (the stand-in's helpers go with it, as the real zmx's
        // one process does).
        Support.waitFor("no client left", seconds: 10) { self.listed(world, session).contains("\tclients=0\t") }

        XCTAssertEqual(stagedLog(world, art: art, id: id), "before-go\nafter-go\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: follow), "the follow dir stays")
    }

    /// The processes whose process group is `group`, from /proc.
    func members(ofGroup group: pid_t) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid in
            guard Int32(pid) != nil, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[2]) == group, !fields[0].hasPrefix("Z") else { return nil }
            return pid + " " + stat[..<close] + ")"
        }
    }

    /// A follower killed by hand, with SIGKILL (no chance to clean up): its `zmx tail` goes
    /// with it, at once, not when the session ends or a later pass sweeps the session.
    func testAFollowerKilledByHandTakesItsTailWithIt() throws {
        guard FileManager.default.fileExists(atPath: "/proc/self/stat") else { throw XCTSkip("no /proc") }
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let id = "e2d2e2d2", session = "ci.demo.e2d2e2d2.runner"
        XCTAssertEqual(world.sh("zmx run \(session) -d bash -c 'echo started; sleep 60' >/dev/null").status, 0)
        let follow = try claim(session, art: art, id: id)
        // Started as pici-stage starts it: detached, a session and process group of its own.
        try Follower.start(session: session, generation: 1, artifactDir: art, executable: Support.binDir + "/pici-stage",
                           environment: world.env.map { "\($0.key)=\($0.value)" })
        Support.waitFor("its tail connected and its history taken", seconds: 20) {
            FileManager.default.fileExists(atPath: follow + "/1/head") && self.listed(world, session).contains("\tclients=1\t")
        }
        let text = (try? String(contentsOfFile: follow + "/1/pid", encoding: .utf8)) ?? ""
        guard let pid = text.split(separator: " ").first.flatMap({ pid_t($0) }), pid > 1 else { return XCTFail("no pid: \(text)") }
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        Support.waitFor("no client left", seconds: 10) { self.listed(world, session).contains("\tclients=0\t") }
        Support.waitFor("nothing left of its process group", seconds: 10) { self.members(ofGroup: pid).isEmpty }
        XCTAssertEqual(members(ofGroup: pid), [])
        XCTAssertTrue(listed(world, session).contains("\tclients=0\t"), listed(world, session))
    }
}
