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

    func testAFinishedFollowerLeavesNoZombieBehind() throws {
        guard FileManager.default.fileExists(atPath: "/proc/self/stat") else { throw XCTSkip("no /proc") }
        let dir = Support.tempDir(self, "follower")
        let follower = dir + "/fake-follower"
        try "#!/bin/sh\ntouch '\(dir)/ran'\n".write(toFile: follower, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(follower, 0o755), 0)
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
}
