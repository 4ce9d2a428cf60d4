import Foundation
import XCTest

/// pici-stage(1), following: a session that is gone (killed, cancelled, collected) has its
/// log written from what its follower captured, also when it ended and went between two
/// passes, so that no pass saw its end.
final class FollowVanishTests: XCTestCase {
    func testAStepThatEndsAndIsKilledBetweenTwoPassesKeepsWhatItsFollowerCaptured() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let id = "7a117a17"
        let step = "ci.demo.\(id).step.short"
        XCTAssertEqual(world.sh("""
            zmx run \(step) -d bash -c 'sleep 2; for i in $(seq 1 50); do echo "line $i"; done' >/dev/null &&
            zmx run ci.demo.\(id).runner -d sleep 60 >/dev/null
            """).status, 0)
        let pass = "pici-monitor --once --no-sync --artifact-dir '\(art)' >/dev/null"
        XCTAssertEqual(world.sh(pass).status, 0)  // starts the step's follower; no line yet
        let stream = "\(art)/.pici/follow/\(step)/1/stream"
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !((try? String(contentsOfFile: stream, encoding: .utf8)) ?? "").contains("line 50\n") { usleep(100_000) }
        XCTAssertTrue(((try? String(contentsOfFile: stream, encoding: .utf8)) ?? "").contains("line 50\n"), "the follower captured the step")
        world.sh("zmx kill \(step) >/dev/null")
        XCTAssertEqual(world.sh(pass).status, 0)
        let log = (try? String(contentsOfFile: "\(art)/demo/\(id)/short.txt", encoding: .utf8)) ?? ""
        XCTAssertEqual(log, (1...50).map { "line \($0)\n" }.joined())
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(art)/.pici/follow/\(step)"), "its follow dir is gone")
    }
}
