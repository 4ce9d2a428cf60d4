import Foundation
import PiciKit
import XCTest

/// A running session on another host is followed as a local one is (pici-stage(1)
/// "Following"), its `zmx tail` and histories over the host's ssh: real sshd on 127.0.0.1.
final class HostFollowTests: XCTestCase {
    func testASessionOnAnotherHostIsFollowedOverSSHAndItsLogIsWhole() throws {
        let hosts = try SSHHosts(self, count: 1, local: false)
        let local = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let id = "55b55b55"
        // More than zmx's ~750 rows of scrollback, printed once the follower runs (passes over
        // ssh on a busy machine may take seconds): only the follower has the head.
        let goDir = Support.tempDir(self, "go"), go = goDir + "/go"
        hosts.on(1, """
            zmx run ci.demo.\(id).step.long -d bash -c 'until [ -e \(go) ] || [ ! -d \(goDir) ]; do sleep 0.1; done; for i in $(seq 1 1500); do echo "line $i"; if [ $((i % 100)) = 0 ]; then sleep 0.2; fi; done; sleep 1' >/dev/null &&
            zmx run ci.demo.\(id).runner -d bash -c 'sleep 1; ZMX_SESSION_PREFIX=ci.demo.\(id).step. zmx wait long' >/dev/null
            """)
        let deadline = Date().addingTimeInterval(60)
        var done = false
        while !done && Date() < deadline {
            let pass = local.sh("pici-monitor --once --no-sync --hosts '\(hosts.hostsFile)' --artifact-dir '\(art)'")
            done = pass.stdout.contains("\"job_id\":\"\(id)\"")
            if FileManager.default.fileExists(atPath: "\(art)/.pici/follow/ci.demo.\(id).step.long/1/head") {
                XCTAssertTrue(FileManager.default.createFile(atPath: go, contents: nil))
            }
            if !done { usleep(500_000) }
        }
        XCTAssertTrue(done, "the job's status line")
        let txt = try String(contentsOfFile: "\(art)/demo/\(id)/long.txt", encoding: .utf8)
        let lines = txt.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let expected = (1...1500).map { "line \($0)" }
        XCTAssertTrue(lines == expected, "\(lines.count) lines, from \(lines.prefix(2)), \(zip(lines, expected).filter { $0 != $1 }.prefix(3))")
        XCTAssertEqual(FileSystem.list("\(art)/.pici/follow"), [], "no follower left behind")
    }
}
