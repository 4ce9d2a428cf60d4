import Foundation
import XCTest
@testable import PiciKit

/// A follower is started detached: whoever starts it (pici-run --wait, a pass of pici-stage,
/// this test) may live on after it ends, and must not be left with a zombie.
final class FollowerStartTests: XCTestCase {
    /// Our children named `name`, each with its state letter (`Z` for a zombie), from /proc.
    func children(named name: String) -> [String] {
        let me = getpid()
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid in
            guard Int32(pid) != nil, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard stat[stat.index(after: open)..<close] == name, fields.count > 1, Int32(fields[1]) == me else { return nil }
            return "\(pid) \(fields[0])"
        }
    }

    /// A temp dir and, in it, a follower that runs `script` (sh) with pici-stage's arguments:
    /// `--follow NAME --generation N --artifact-dir DIR`.
    func fakeFollower(_ script: String) throws -> (dir: String, follower: String) {
        guard FileManager.default.fileExists(atPath: "/proc/self/stat") else { throw XCTSkip("no /proc") }
        let dir = Support.tempDir(self, "follower")
        let follower = dir + "/fake-follower"
        try "#!/bin/sh\n\(script)\n".write(toFile: follower, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(follower, 0o755), 0)
        return (dir, follower)
    }

    func testAFinishedFollowerLeavesNoZombieBehind() throws {
        let (dir, follower) = try fakeFollower(#"touch "$6/ran""#)
        try Follower.start(session: "ci.demo.0000000f.runner", generation: 1, artifactDir: dir, executable: follower)
        let deadline = Date().addingTimeInterval(20)
        // It ran and is gone: no child of ours by its name is running any more.
        while Date() < deadline && (!FileManager.default.fileExists(atPath: dir + "/ran") || children(named: "fake-follower").contains { !$0.hasSuffix(" Z") }) {
            usleep(50_000)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/ran"), "the follower ran")
        XCTAssertEqual(children(named: "fake-follower"), [], "the follower is no child of ours")
        // A follower that cannot be started is still said so.
        XCTAssertThrowsError(try Follower.start(session: "ci.demo.0000000f.runner", generation: 2, artifactDir: dir, executable: dir + "/none"))
    }

    /// A pass asks for its followers as it meets their sessions and claims and starts them
    /// once its records are out (`launch`), from one child; the wait at its end reaps that
    /// child and says which follower could not be started. No child of the pass is left.
    func testAPassStartsItsFollowersTogetherAtItsEndFromOneChild() throws {
        let (dir, follower) = try fakeFollower(#"touch "$2.ran""#)
        let later = Follower.Starting()
        let ran = { (n: Int) in FileManager.default.fileExists(atPath: "\(dir)/s\(n).ran") }
        var claimed: [Int] = []
        for n in 1...3 {
            later.ask(session: "s\(n)") {
                claimed.append(n)
                return Follower.arguments(session: "\(dir)/s\(n)", generation: 1, artifactDir: dir, executable: follower)
            }
        }
        // One that cannot be started is said so at the wait; one claimed meanwhile by
        // another process is not started.
        later.ask(session: "s4") { Follower.arguments(session: dir + "/s4", generation: 1, artifactDir: dir, executable: dir + "/none") }
        later.ask(session: "s5") { nil }
        usleep(300_000)
        XCTAssertFalse((1...3).contains(where: ran), "asked for, not started")
        XCTAssertEqual(claimed, [], "nor claimed")
        let before = Set(children(named: "fake-follower"))
        later.launch()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !(1...3).allSatisfy(ran) { usleep(50_000) }
        XCTAssertTrue((1...3).allSatisfy(ran), "every follower ran once launched")
        XCTAssertEqual(claimed, [1, 2, 3])
        let errors = try Support.capturingStderr { later.wait() }
        XCTAssertEqual(errors.split(separator: "\n").count, 1, errors)
        XCTAssertTrue(errors.contains("s4") && errors.contains("cannot start its follower"), errors)
        XCTAssertFalse(ran(4))
        XCTAssertEqual(Set(children(named: "fake-follower")).subtracting(before), [], "the followers are no children of ours")
        // Launched once: asking again starts nothing more.
        later.launch()
        later.wait()
    }

    /// The child that starts followers reports each start; one it did not report (it died
    /// first) is said to have failed, not taken as started.
    func testAStarterThatDiesFirstLeavesItsLastStartsFailed() throws {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&fds), 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 3)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        // Start 0 went well, start 1 failed with ENOENT (2), then it died (exit 3) before 2.
        let script = #"printf '\000\000\000\000\000\000\000\000\001\000\000\000\002\000\000\000' >&3; exit 3"#
        let words: [String] = ["/bin/sh", "-c", script]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        XCTAssertEqual(argv.withUnsafeBufferPointer { posix_spawn(&pid, "/bin/sh", &actions, nil, $0.baseAddress!, environ) }, 0)
        close(fds[1])
        let failed = Follower.Starter(pid: pid, failures: fds[0], count: 3).wait()
        XCTAssertEqual(failed.map(\.index), [1, 2])
        XCTAssertEqual(failed.map(\.errno), [ENOENT, EIO])
    }

    /// A pass claims a session for its follower only when it starts it, at its end: a pass
    /// killed before then leaves no claim whose follower never started; one claimed meanwhile
    /// by another process (pici-run) gets no second follower.
    func testAPassClaimsASessionOnlyWhenItStartsItsFollower() throws {
        let (dir, follower) = try fakeFollower(#"touch "$6/$2.ran""#)
        var settings = FollowSettings(executable: follower)
        settings.starting = Follower.Starting()
        let ours = FollowDirectory(artifactDir: dir, session: "ci.demo.0000000f.step.a")
        let theirs = FollowDirectory(artifactDir: dir, session: "ci.demo.0000000f.runner")
        XCTAssertTrue(settings.start(session: ours.session, job: "demo", jobID: "0000000f", short: "a", artifactDir: dir))
        XCTAssertTrue(settings.start(session: theirs.session, job: "demo", jobID: "0000000f", short: "runner", artifactDir: dir))
        XCTAssertFalse(ours.exists, "nothing claimed before the pass's end")
        XCTAssertTrue(theirs.claim(), "another process claims one meanwhile")
        settings.starting?.launch()
        settings.starting?.wait()
        XCTAssertEqual(ours.generations, [1])
        XCTAssertEqual(try String(contentsOfFile: ours.path + "/meta", encoding: .utf8), "demo\t0000000f\ta\n")
        XCTAssertEqual(theirs.generations, [], "theirs to start")
        let ran = { (d: FollowDirectory) in FileManager.default.fileExists(atPath: "\(dir)/\(d.session).ran") }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !ran(ours) { usleep(50_000) }
        XCTAssertTrue(ran(ours))
        XCTAssertFalse(ran(theirs))
    }

    /// A new follower only for one that died before its `zmx tail` returned (or lost its ssh
    /// connection): one whose tail returned saw the end, even while a listing taken a moment
    /// before still says the session runs (a new one then took the whole history again, after
    /// a gap note: seen in a clean CI run of FollowTests).
    func testANewFollowerOnlyForOneThatDiedBeforeItsTailReturned() throws {
        let dir = FollowDirectory(artifactDir: Support.tempDir(self), session: "ci.demo.0badc0de.step.build")
        XCTAssertTrue(dir.claim())
        XCTAssertFalse(dir.needsNewFollower, "no follower started yet is pici-run's or the pass's to start")
        XCTAssertTrue(dir.claim(generation: 1))
        XCTAssertFalse(dir.needsNewFollower, "one just started has not written its pid yet")
        // Its pid names no live process: it died.
        try "999999 1\n".write(toFile: dir.generation(1) + "/pid", atomically: true, encoding: .utf8)
        XCTAssertTrue(dir.needsNewFollower)
        try "exit 0\n".write(toFile: dir.generation(1) + "/done", atomically: true, encoding: .utf8)
        XCTAssertFalse(dir.needsNewFollower, "its tail returned: the task ended or the session went")
        try "exit 255\n".write(toFile: dir.generation(1) + "/done", atomically: true, encoding: .utf8)
        XCTAssertTrue(dir.needsNewFollower, "ssh lost its connection")
    }
}
